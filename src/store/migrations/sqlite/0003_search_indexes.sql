-- Search pages a tenant's users and operators in id order (keyset): without
-- these, each page would sort every user or operator of the tenant.
CREATE INDEX users_by_tenant_id ON users (tenant_id, id);
CREATE INDEX operators_by_tenant_id ON operators (tenant_id, id);
