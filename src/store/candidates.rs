//! The candidates of an AuthZEN search: ids of stored entities of one type, in
//! id order after a keyset cursor, within a tenant or an account when the
//! ledger keeps that type per tenant. Pages of ids only: the caller builds and
//! evaluates each candidate.

use rusqlite::{Connection, params};

use super::StoreError;
use super::ledger::CATEGORIES;

/// Where candidates are looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Within<'a> {
    /// Every stored entity of the type.
    All,
    /// The entities of one tenant (ledger types).
    Tenant(&'a str),
    /// The entities of one account's tenants (ledger types).
    Account(&'a str),
}

/// Up to `limit` ids of stored `ty` entities greater than `after`, in order.
/// `ledger`: whether the ledger builds `ty` (else the generic entity table).
pub fn page(
    conn: &Connection,
    ty: &str,
    ledger: bool,
    within: Within<'_>,
    after: &str,
    limit: usize,
) -> Result<Vec<String>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    if !ledger {
        return ids(
            conn,
            "SELECT id FROM entities WHERE type = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
            params![ty, after, limit],
        );
    }
    match (ty, within) {
        ("User" | "Operator", _) => {
            let table = if ty == "User" { "users" } else { "operators" };
            match within {
                Within::Tenant(t) => ids(
                    conn,
                    &format!("SELECT id FROM {table} WHERE tenant_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3"),
                    params![t, after, limit],
                ),
                Within::Account(a) => ids(
                    conn,
                    &format!(
                        "SELECT x.id FROM {table} x JOIN tenants t ON t.id = x.tenant_id
                         WHERE t.account_id = ?1 AND x.id > ?2 ORDER BY x.id LIMIT ?3"
                    ),
                    params![a, after, limit],
                ),
                Within::All => ids(
                    conn,
                    &format!("SELECT id FROM {table} WHERE id > ?1 ORDER BY id LIMIT ?2"),
                    params![after, limit],
                ),
            }
        }
        ("Tenant", Within::Tenant(t)) => Ok((t > after).then(|| t.to_string()).into_iter().collect()),
        ("Tenant", Within::Account(a)) => ids(
            conn,
            "SELECT id FROM tenants WHERE account_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
            params![a, after, limit],
        ),
        ("Tenant", Within::All) => ids(
            conn,
            "SELECT id FROM tenants WHERE id > ?1 ORDER BY id LIMIT ?2",
            params![after, limit],
        ),
        ("Account", Within::Tenant(t)) => ids(
            conn,
            "SELECT account_id FROM tenants WHERE id = ?1 AND account_id > ?2 LIMIT ?3",
            params![t, after, limit],
        ),
        ("Account", Within::Account(a)) => Ok((a > after).then(|| a.to_string()).into_iter().collect()),
        ("Account", Within::All) => ids(
            conn,
            "SELECT id FROM accounts WHERE id > ?1 ORDER BY id LIMIT ?2",
            params![after, limit],
        ),
        // Subscriptions are numbered: the cursor is a number, ids sort as numbers.
        ("Subscription", _) => {
            let after: i64 = if after.is_empty() {
                0
            } else {
                after.parse().unwrap_or(i64::MAX)
            };
            let numbers: Vec<i64> = match within {
                Within::Tenant(t) => numbers(
                    conn,
                    "SELECT number FROM subscriptions WHERE tenant_id = ?1 AND number > ?2 ORDER BY number LIMIT ?3",
                    params![t, after, limit],
                )?,
                Within::Account(a) => numbers(
                    conn,
                    "SELECT s.number FROM subscriptions s JOIN tenants t ON t.id = s.tenant_id
                     WHERE t.account_id = ?1 AND s.number > ?2 ORDER BY s.number LIMIT ?3",
                    params![a, after, limit],
                )?,
                Within::All => numbers(
                    conn,
                    "SELECT number FROM subscriptions WHERE number > ?1 ORDER BY number LIMIT ?2",
                    params![after, limit],
                )?,
            };
            Ok(numbers.into_iter().map(|n| n.to_string()).collect())
        }
        ("Category", _) => {
            let mut names: Vec<&str> = CATEGORIES.iter().copied().filter(|c| *c > after).collect();
            names.sort_unstable();
            names.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            Ok(names.into_iter().map(str::to_string).collect())
        }
        _ => Ok(Vec::new()),
    }
}

/// Whether the ids of `ty` sort as numbers (the cursor of such a page is one).
pub fn numeric_ids(ty: &str, ledger: bool) -> bool {
    ledger && ty == "Subscription"
}

fn ids(conn: &Connection, sql: &str, params: &[&dyn rusqlite::ToSql]) -> Result<Vec<String>, StoreError> {
    let mut st = conn.prepare_cached(sql)?;
    let rows = st.query_map(params, |r| r.get(0))?;
    Ok(rows.collect::<Result<Vec<String>, _>>()?)
}

fn numbers(conn: &Connection, sql: &str, params: &[&dyn rusqlite::ToSql]) -> Result<Vec<i64>, StoreError> {
    let mut st = conn.prepare_cached(sql)?;
    let rows = st.query_map(params, |r| r.get(0))?;
    Ok(rows.collect::<Result<Vec<i64>, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_page_in_name_order_after_the_cursor() {
        let conn = Connection::open_in_memory().unwrap_or_else(|e| unreachable!("{e}"));
        let all = page(&conn, "Category", true, Within::All, "", 100).unwrap_or_default();
        let mut sorted = all.clone();
        sorted.sort();
        assert_eq!(all, sorted);
        assert_eq!(all.len(), CATEGORIES.len());
        let rest = page(&conn, "Category", true, Within::All, &all[2], 2).unwrap_or_default();
        assert_eq!(rest, all[3..5].to_vec());
    }
}
