//! Pages of a store, in key order: search candidates (ids of one type) and generic entities.

use super::*;

pub(super) fn candidates<C: std::ops::DerefMut<Target = PgClient>>(
    conn: &PgConn<C>,
    ty: &str,
    ledger: bool,
    within: Within<'_>,
    after: &str,
    limit: usize,
) -> Result<Vec<String>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    if !ledger {
        return strings(conn.query(
            "SELECT id FROM entities WHERE type = $1 AND id > $2 ORDER BY id LIMIT $3",
            &[&ty, &after, &limit],
        )?);
    }
    let numbers = |rows: Vec<Row>| -> Result<Vec<String>, StoreError> {
        rows.iter()
            .map(|r| get::<i64>(r, 0).map(|n| n.to_string()))
            .collect()
    };
    match (ty, within) {
        ("User", Within::Tenant(t)) => strings(conn.query(
            "SELECT id FROM users WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            &[&t, &after, &limit],
        )?),
        ("User", Within::Account(a)) => strings(conn.query(
            "SELECT x.id FROM users x JOIN tenants t ON t.id = x.tenant_id
             WHERE t.account_id = $1 AND x.id > $2 ORDER BY x.id LIMIT $3",
            &[&a, &after, &limit],
        )?),
        ("User", Within::All) => strings(conn.query(
            "SELECT id FROM users WHERE id > $1 ORDER BY id LIMIT $2",
            &[&after, &limit],
        )?),
        ("Operator", Within::Tenant(t)) => strings(conn.query(
            "SELECT id FROM operators WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            &[&t, &after, &limit],
        )?),
        ("Operator", Within::Account(a)) => strings(conn.query(
            "SELECT x.id FROM operators x JOIN tenants t ON t.id = x.tenant_id
             WHERE t.account_id = $1 AND x.id > $2 ORDER BY x.id LIMIT $3",
            &[&a, &after, &limit],
        )?),
        ("Operator", Within::All) => strings(conn.query(
            "SELECT id FROM operators WHERE id > $1 ORDER BY id LIMIT $2",
            &[&after, &limit],
        )?),
        ("Tenant", Within::Tenant(t)) => Ok((t > after).then(|| t.to_string()).into_iter().collect()),
        ("Tenant", Within::Account(a)) => strings(conn.query(
            "SELECT id FROM tenants WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            &[&a, &after, &limit],
        )?),
        ("Tenant", Within::All) => strings(conn.query(
            "SELECT id FROM tenants WHERE id > $1 ORDER BY id LIMIT $2",
            &[&after, &limit],
        )?),
        ("Account", Within::Tenant(t)) => strings(conn.query(
            "SELECT account_id FROM tenants WHERE id = $1 AND account_id > $2 LIMIT $3",
            &[&t, &after, &limit],
        )?),
        ("Account", Within::Account(a)) => Ok((a > after).then(|| a.to_string()).into_iter().collect()),
        ("Account", Within::All) => strings(conn.query(
            "SELECT id FROM accounts WHERE id > $1 ORDER BY id LIMIT $2",
            &[&after, &limit],
        )?),
        ("Subscription", _) => {
            let after = crate::store::candidates::number_cursor(after);
            match within {
                Within::Tenant(t) => numbers(conn.query(
                    "SELECT number FROM subscriptions WHERE tenant_id = $1 AND number > $2 ORDER BY number LIMIT $3",
                    &[&t, &after, &limit],
                )?),
                Within::Account(a) => numbers(conn.query(
                    "SELECT s.number FROM subscriptions s JOIN tenants t ON t.id = s.tenant_id
                     WHERE t.account_id = $1 AND s.number > $2 ORDER BY s.number LIMIT $3",
                    &[&a, &after, &limit],
                )?),
                Within::All => numbers(conn.query(
                    "SELECT number FROM subscriptions WHERE number > $1 ORDER BY number LIMIT $2",
                    &[&after, &limit],
                )?),
            }
        }
        ("Category", _) => Ok(crate::store::candidates::categories_after(after, limit)),
        _ => Ok(Vec::new()),
    }
}

pub(super) fn entities_page<C: std::ops::DerefMut<Target = PgClient>>(
    conn: &PgConn<C>,
    ty: Option<&str>,
    after: Option<(&str, &str)>,
    limit: usize,
) -> Result<Vec<(String, String, String)>, StoreError> {
    let (after_ty, after_id) = after.unwrap_or(("", ""));
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = match ty {
        Some(ty) => conn.query(
            "SELECT type, id, json FROM entities WHERE type = $1 AND id > $2 ORDER BY type, id LIMIT $3",
            &[&ty, &after_id, &limit],
        )?,
        None => conn.query(
            "SELECT type, id, json FROM entities WHERE (type, id) > ($1, $2) ORDER BY type, id LIMIT $3",
            &[&after_ty, &after_id, &limit],
        )?,
    };
    rows.iter()
        .map(|r| Ok((get(r, 0)?, get(r, 1)?, get(r, 2)?)))
        .collect()
}
