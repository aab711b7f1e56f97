//! Pages of a store, in key order: search candidates (ids of one type) and generic entities.

use super::*;

pub(super) fn candidates(
    conn: &Connection,
    ty: &str,
    ledger: bool,
    within: Within<'_>,
    after: &str,
    limit: usize,
) -> Result<Vec<String>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let ids = |sql: &str, params: &[&dyn rusqlite::ToSql]| -> Result<Vec<String>, StoreError> {
        let mut st = conn.prepare_cached(sql)?;
        let rows = st.query_map(params, |r| r.get(0))?;
        Ok(rows.collect::<Result<Vec<String>, _>>()?)
    };
    let numbers = |sql: &str, params: &[&dyn rusqlite::ToSql]| -> Result<Vec<String>, StoreError> {
        let mut st = conn.prepare_cached(sql)?;
        let rows = st.query_map(params, |r| r.get::<_, i64>(0))?;
        Ok(rows
            .map(|n| n.map(|n| n.to_string()))
            .collect::<Result<Vec<String>, _>>()?)
    };
    if !ledger {
        return ids(
            "SELECT id FROM entities WHERE type = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
            params![ty, after, limit],
        );
    }
    match (ty, within) {
        ("User", Within::Tenant(t)) => ids(
            "SELECT id FROM users WHERE tenant_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
            params![t, after, limit],
        ),
        ("User", Within::Account(a)) => ids(
            "SELECT x.id FROM users x JOIN tenants t ON t.id = x.tenant_id
             WHERE t.account_id = ?1 AND x.id > ?2 ORDER BY x.id LIMIT ?3",
            params![a, after, limit],
        ),
        ("User", Within::All) => ids(
            "SELECT id FROM users WHERE id > ?1 ORDER BY id LIMIT ?2",
            params![after, limit],
        ),
        ("Operator", Within::Tenant(t)) => ids(
            "SELECT id FROM operators WHERE tenant_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
            params![t, after, limit],
        ),
        ("Operator", Within::Account(a)) => ids(
            "SELECT x.id FROM operators x JOIN tenants t ON t.id = x.tenant_id
             WHERE t.account_id = ?1 AND x.id > ?2 ORDER BY x.id LIMIT ?3",
            params![a, after, limit],
        ),
        ("Operator", Within::All) => ids(
            "SELECT id FROM operators WHERE id > ?1 ORDER BY id LIMIT ?2",
            params![after, limit],
        ),
        ("Tenant", Within::Tenant(t)) => Ok((t > after).then(|| t.to_string()).into_iter().collect()),
        ("Tenant", Within::Account(a)) => ids(
            "SELECT id FROM tenants WHERE account_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
            params![a, after, limit],
        ),
        ("Tenant", Within::All) => ids(
            "SELECT id FROM tenants WHERE id > ?1 ORDER BY id LIMIT ?2",
            params![after, limit],
        ),
        ("Account", Within::Tenant(t)) => ids(
            "SELECT account_id FROM tenants WHERE id = ?1 AND account_id > ?2 LIMIT ?3",
            params![t, after, limit],
        ),
        ("Account", Within::Account(a)) => Ok((a > after).then(|| a.to_string()).into_iter().collect()),
        ("Account", Within::All) => ids(
            "SELECT id FROM accounts WHERE id > ?1 ORDER BY id LIMIT ?2",
            params![after, limit],
        ),
        // Subscriptions are numbered: the cursor is a number.
        ("Subscription", _) => {
            let after = crate::store::candidates::number_cursor(after);
            match within {
                Within::Tenant(t) => numbers(
                    "SELECT number FROM subscriptions WHERE tenant_id = ?1 AND number > ?2 ORDER BY number LIMIT ?3",
                    params![t, after, limit],
                ),
                Within::Account(a) => numbers(
                    "SELECT s.number FROM subscriptions s JOIN tenants t ON t.id = s.tenant_id
                     WHERE t.account_id = ?1 AND s.number > ?2 ORDER BY s.number LIMIT ?3",
                    params![a, after, limit],
                ),
                Within::All => numbers(
                    "SELECT number FROM subscriptions WHERE number > ?1 ORDER BY number LIMIT ?2",
                    params![after, limit],
                ),
            }
        }
        ("Category", _) => Ok(crate::store::candidates::categories_after(after, limit)),
        _ => Ok(Vec::new()),
    }
}

pub(super) fn entities_page(
    conn: &Connection,
    ty: Option<&str>,
    after: Option<(&str, &str)>,
    limit: usize,
) -> Result<Vec<(String, String, String)>, StoreError> {
    let (after_ty, after_id) = after.unwrap_or(("", ""));
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let map = |r: &rusqlite::Row<'_>| Ok((r.get(0)?, r.get(1)?, r.get(2)?));
    let rows = match ty {
        Some(ty) => {
            let mut st = conn.prepare_cached(
                "SELECT type, id, json FROM entities WHERE type = ?1 AND id > ?2 ORDER BY type, id LIMIT ?3",
            )?;
            st.query_map(params![ty, after_id, limit], map)?
                .collect::<Result<Vec<_>, _>>()?
        }
        None => {
            let mut st = conn.prepare_cached(
                "SELECT type, id, json FROM entities WHERE (type, id) > (?1, ?2) ORDER BY type, id LIMIT ?3",
            )?;
            st.query_map(params![after_ty, after_id, limit], map)?
                .collect::<Result<Vec<_>, _>>()?
        }
    };
    Ok(rows)
}
