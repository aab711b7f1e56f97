-- Covering indexes for the facts computed per tenant (seat counts, admins):
-- each count reads one index range of the tenant, whatever the table's size.

DROP INDEX operators_by_tenant;
CREATE INDEX operators_by_tenant ON operators (tenant_id, active, owner_user_id);

CREATE INDEX users_licensed ON users (tenant_id, licensed_at);
CREATE INDEX users_by_role ON users (tenant_id, role, active);
