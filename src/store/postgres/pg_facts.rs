//! What one decision needs in one statement each: a tenant's facts at a time, a user with its role's levels, an operator with its account.

use super::*;

pub(super) fn tenant_facts<C: std::ops::DerefMut<Target = PgClient>>(
    conn: &PgConn<C>,
    id: &str,
    now: i64,
) -> Result<Option<TenantFacts>, StoreError> {
    let Some(tenant) = conn.tenant(id)? else {
        return Ok(None);
    };
    let r = conn.query_one(
        "SELECT
           (SELECT COALESCE(SUM(quantity), 0)::BIGINT FROM subscriptions
              WHERE tenant_id = $1 AND kind = 'user' AND starts_at <= $2 AND $2 < ends_at),
           (SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND licensed_at IS NOT NULL),
           (SELECT COALESCE(SUM(quantity), 0)::BIGINT FROM subscriptions
              WHERE tenant_id = $1 AND kind = 'shop_floor' AND starts_at <= $2 AND $2 < ends_at),
           (SELECT COUNT(*) FROM operators WHERE tenant_id = $1 AND active AND owner_user_id IS NULL),
           EXISTS (SELECT 1 FROM subscriptions WHERE tenant_id = $1 AND kind = 'shop_floor'),
           (SELECT MIN(payment_due_at) FROM subscriptions
              WHERE tenant_id = $1 AND paid_at IS NULL AND payment_due_at IS NOT NULL),
           (SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND role = 'admin' AND active),
           (SELECT MIN(t) FROM (
              SELECT starts_at AS t FROM subscriptions WHERE tenant_id = $1 AND starts_at > $2
              UNION ALL
              SELECT ends_at FROM subscriptions WHERE tenant_id = $1 AND ends_at > $2) AS x)",
        &[&id, &now],
    )?;
    Ok(Some(TenantFacts {
        tenant,
        user: Seats {
            total: get(&r, 0)?,
            used: get(&r, 1)?,
        },
        shop_floor: Seats {
            total: get(&r, 2)?,
            used: get(&r, 3)?,
        },
        has_shop_floor: get(&r, 4)?,
        earliest_unpaid_due_at: get(&r, 5)?,
        active_admins: get(&r, 6)?,
        next_change_at: get(&r, 7)?,
    }))
}

pub(super) fn user_with_role<C: std::ops::DerefMut<Target = PgClient>>(
    conn: &PgConn<C>,
    id: &str,
) -> Result<Option<UserWithRole>, StoreError> {
    let row = conn.query_opt(
        "SELECT u.id, u.tenant_id, u.name, u.email, u.role, u.active, u.licensed_at, u.created_at,
                (SELECT o.id FROM operators o WHERE o.owner_user_id = u.id),
                t.account_id,
                COALESCE((SELECT r.levels FROM roles r WHERE r.tenant_id = u.tenant_id AND r.name = u.role),
                         (SELECT r.levels FROM roles r WHERE r.tenant_id = '' AND r.name = u.role))
         FROM users u LEFT JOIN tenants t ON t.id = u.tenant_id WHERE u.id = $1",
        &[&id],
    )?;
    row.map(|r| Ok((user_row(&r)?, get(&r, 9)?, get(&r, 10)?)))
        .transpose()
}

pub(super) fn operator_with_account<C: std::ops::DerefMut<Target = PgClient>>(
    conn: &PgConn<C>,
    id: &str,
) -> Result<Option<(OperatorRow, Option<String>)>, StoreError> {
    let row = conn.query_opt(
        "SELECT o.id, o.tenant_id, o.number, o.name, o.owner_user_id, o.active, o.created_at, t.account_id
         FROM operators o LEFT JOIN tenants t ON t.id = o.tenant_id WHERE o.id = $1",
        &[&id],
    )?;
    row.map(|r| {
        Ok((
            OperatorRow {
                id: get(&r, 0)?,
                tenant_id: get(&r, 1)?,
                number: get(&r, 2)?,
                name: get(&r, 3)?,
                owner_user_id: get(&r, 4)?,
                active: get(&r, 5)?,
                created_at: get(&r, 6)?,
                latest_production_at: None,
                deactivation: None,
            },
            get(&r, 7)?,
        ))
    })
    .transpose()
}
