//! What one decision needs in one statement each: a tenant's facts at a time, a user with its role's levels, an operator with its account.

use super::sqlite_conn::*;
use super::*;

pub(super) fn tenant_facts(conn: &Connection, id: &str, now: i64) -> Result<Option<TenantFacts>, StoreError> {
    let Some(tenant) = conn.tenant(id)? else {
        return Ok(None);
    };
    let mut st = conn.prepare_cached(
        "SELECT
           (SELECT COALESCE(SUM(quantity), 0) FROM subscriptions
              WHERE tenant_id = ?1 AND kind = 'user' AND starts_at <= ?2 AND ?2 < ends_at),
           (SELECT COUNT(*) FROM users INDEXED BY users_licensed
              WHERE tenant_id = ?1 AND licensed_at IS NOT NULL),
           (SELECT COALESCE(SUM(quantity), 0) FROM subscriptions
              WHERE tenant_id = ?1 AND kind = 'shop_floor' AND starts_at <= ?2 AND ?2 < ends_at),
           (SELECT COUNT(*) FROM operators INDEXED BY operators_by_tenant
              WHERE tenant_id = ?1 AND active = 1 AND owner_user_id IS NULL),
           EXISTS (SELECT 1 FROM subscriptions WHERE tenant_id = ?1 AND kind = 'shop_floor'),
           (SELECT MIN(payment_due_at) FROM subscriptions
              WHERE tenant_id = ?1 AND paid_at IS NULL AND payment_due_at IS NOT NULL),
           (SELECT COUNT(*) FROM users INDEXED BY users_by_role
              WHERE tenant_id = ?1 AND role = 'admin' AND active = 1),
           (SELECT MIN(t) FROM (
              SELECT starts_at AS t FROM subscriptions WHERE tenant_id = ?1 AND starts_at > ?2
              UNION ALL
              SELECT ends_at FROM subscriptions WHERE tenant_id = ?1 AND ends_at > ?2))",
    )?;
    let facts = st.query_row(params![id, now], |r| {
        Ok(TenantFacts {
            tenant: tenant.clone(),
            user: Seats {
                total: r.get(0)?,
                used: r.get(1)?,
            },
            shop_floor: Seats {
                total: r.get(2)?,
                used: r.get(3)?,
            },
            has_shop_floor: b(r.get(4)?),
            earliest_unpaid_due_at: r.get(5)?,
            active_admins: r.get(6)?,
            next_change_at: r.get(7)?,
        })
    })?;
    Ok(Some(facts))
}

pub(super) fn user_with_role(conn: &Connection, id: &str) -> Result<Option<UserWithRole>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT u.id, u.tenant_id, u.name, u.email, u.role, u.active, u.licensed_at, u.created_at,
                (SELECT o.id FROM operators o WHERE o.owner_user_id = u.id),
                (SELECT t.account_id FROM tenants t WHERE t.id = u.tenant_id),
                COALESCE((SELECT r.levels FROM roles r WHERE r.tenant_id = u.tenant_id AND r.name = u.role),
                         (SELECT r.levels FROM roles r WHERE r.tenant_id = '' AND r.name = u.role))
         FROM users u WHERE u.id = ?1",
    )?;
    Ok(st
        .query_row([id], |r| {
            Ok((
                UserRow {
                    id: r.get(0)?,
                    tenant_id: r.get(1)?,
                    name: r.get(2)?,
                    email: r.get(3)?,
                    role: r.get(4)?,
                    active: r.get::<_, i64>(5)? != 0,
                    licensed_at: r.get(6)?,
                    created_at: r.get(7)?,
                    own_operator: r.get(8)?,
                },
                r.get(9)?,
                r.get(10)?,
            ))
        })
        .optional()?)
}

pub(super) fn operator_with_account(
    conn: &Connection,
    id: &str,
) -> Result<Option<(OperatorRow, Option<String>)>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT o.id, o.tenant_id, o.number, o.name, o.owner_user_id, o.active, o.created_at,
                (SELECT t.account_id FROM tenants t WHERE t.id = o.tenant_id)
         FROM operators o WHERE o.id = ?1",
    )?;
    Ok(st
        .query_row([id], |r| {
            Ok((
                OperatorRow {
                    id: r.get(0)?,
                    tenant_id: r.get(1)?,
                    number: r.get(2)?,
                    name: r.get(3)?,
                    owner_user_id: r.get(4)?,
                    active: r.get::<_, i64>(5)? != 0,
                    created_at: r.get(6)?,
                    latest_production_at: None,
                    deactivation: None,
                },
                r.get(7)?,
            ))
        })
        .optional()?)
}
