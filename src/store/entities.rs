//! The generic entity table: entities of other packs, kept as Cedar entity JSON.

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;

/// The JSON of entity `ty::id`, if stored.
pub fn get(conn: &Connection, ty: &str, id: &str) -> Result<Option<String>, StoreError> {
    let mut st = conn.prepare_cached("SELECT json FROM entities WHERE type = ?1 AND id = ?2")?;
    Ok(st.query_row(params![ty, id], |r| r.get(0)).optional()?)
}

/// Inserts or replaces an entity.
pub fn put(conn: &Connection, ty: &str, id: &str, json: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO entities (type, id, json) VALUES (?1, ?2, ?3)
         ON CONFLICT (type, id) DO UPDATE SET json = excluded.json",
    )?
    .execute(params![ty, id, json])?;
    Ok(())
}

/// Deletes an entity; returns whether it existed.
pub fn delete(conn: &Connection, ty: &str, id: &str) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached("DELETE FROM entities WHERE type = ?1 AND id = ?2")?
        .execute(params![ty, id])?;
    Ok(n > 0)
}

/// A page of entities (optionally of one type) after `(after_type, after_id)`,
/// in key order, as JSON strings with their keys.
pub fn list(
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

/// How many entities are stored.
pub fn count(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row("SELECT COUNT(*) FROM entities", [], |r| r.get(0))?)
}
