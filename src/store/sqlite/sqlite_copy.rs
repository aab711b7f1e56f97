//! Copying a ledger row by row (`turnstile migrate-data`): dumps, loads, counts.

use super::*;

pub(super) fn dump(
    conn: &Connection,
    table: &Table,
    offset: i64,
    limit: i64,
) -> Result<Vec<Vec<Cell>>, StoreError> {
    use rusqlite::types::ValueRef;
    let mut st = conn.prepare(&table.select_sql("?"))?;
    let mut rows = st.query(params![limit, offset])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let mut cells = Vec::with_capacity(table.columns.len());
        for i in 0..table.columns.len() {
            cells.push(match r.get_ref(i)? {
                ValueRef::Null => Cell::Null,
                ValueRef::Integer(n) => Cell::Int(n),
                ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
                other => {
                    return Err(StoreError::Corrupt(format!(
                        "`{}.{}` holds a {:?}",
                        table.name,
                        table.columns[i],
                        other.data_type()
                    )));
                }
            });
        }
        out.push(cells);
    }
    Ok(out)
}

pub(super) fn load(conn: &Connection, table: &Table, rows: &[Vec<Cell>]) -> Result<(), StoreError> {
    use rusqlite::types::Value as V;
    let mut st = conn.prepare_cached(&table.insert_sql("?"))?;
    for row in rows {
        let values: Vec<V> = row
            .iter()
            .map(|c| match c {
                Cell::Null => V::Null,
                Cell::Int(n) => V::Integer(*n),
                Cell::Text(t) => V::Text(t.clone()),
            })
            .collect();
        st.execute(rusqlite::params_from_iter(values))?;
    }
    Ok(())
}

pub(super) fn after_load(_conn: &Connection) -> Result<(), StoreError> {
    // AUTOINCREMENT keys already continue after the largest inserted.
    Ok(())
}

pub(super) fn count_rows(conn: &Connection, table: &Table) -> Result<i64, StoreError> {
    Ok(conn.query_row(
        &format!("SELECT COUNT(*) FROM {} WHERE {}", table.name, table.only),
        [],
        |r| r.get(0),
    )?)
}
