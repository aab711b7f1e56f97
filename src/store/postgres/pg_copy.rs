//! Copying a ledger row by row (`turnstile migrate-data`): dumps, loads, counts.

use super::*;

pub(super) fn dump<C: std::ops::DerefMut<Target = PgClient>>(
    conn: &PgConn<C>,
    table: &Table,
    offset: i64,
    limit: i64,
) -> Result<Vec<Vec<Cell>>, StoreError> {
    let rows = conn
        .c
        .borrow_mut()
        .client
        .query(table.select_sql("$").as_str(), &[&limit, &offset])
        .map_err(pg_err)?;
    rows.iter()
        .map(|r| {
            (0..table.columns.len())
                .map(|i| {
                    if table.booleans.contains(&table.columns[i]) {
                        let b: Option<bool> = get(r, i)?;
                        return Ok(b.map_or(Cell::Null, |b| Cell::Int(i64::from(b))));
                    }
                    if let Ok(n) = r.try_get::<_, Option<i64>>(i) {
                        return Ok(n.map_or(Cell::Null, Cell::Int));
                    }
                    let t: Option<String> = get(r, i)?;
                    Ok(t.map_or(Cell::Null, Cell::Text))
                })
                .collect()
        })
        .collect()
}

pub(super) fn load<C: std::ops::DerefMut<Target = PgClient>>(
    conn: &PgConn<C>,
    table: &Table,
    rows: &[Vec<Cell>],
) -> Result<(), StoreError> {
    use std::io::Write;
    // COPY in text format: one round trip for the whole chunk.
    let mut text = String::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                text.push('\t');
            }
            match cell {
                Cell::Null => text.push_str("\\N"),
                Cell::Int(n) => text.push_str(&n.to_string()),
                Cell::Text(t) => {
                    for ch in t.chars() {
                        match ch {
                            '\\' => text.push_str("\\\\"),
                            '\t' => text.push_str("\\t"),
                            '\n' => text.push_str("\\n"),
                            '\r' => text.push_str("\\r"),
                            c => text.push(c),
                        }
                    }
                }
            }
        }
        text.push('\n');
    }
    let mut c = conn.c.borrow_mut();
    let sql = format!("COPY {} ({}) FROM STDIN", table.name, table.columns.join(", "));
    let mut writer = c.client.copy_in(sql.as_str()).map_err(pg_err)?;
    writer
        .write_all(text.as_bytes())
        .map_err(|e| StoreError::Postgres(format!("COPY into `{}`: {e}", table.name)))?;
    writer.finish().map_err(pg_err)?;
    Ok(())
}

pub(super) fn after_load<C: std::ops::DerefMut<Target = PgClient>>(
    conn: &PgConn<C>,
) -> Result<(), StoreError> {
    conn.c
        .borrow_mut()
        .client
        .batch_execute(
            "SELECT setval(pg_get_serial_sequence('subscriptions', 'number'), COALESCE(MAX(number), 0) + 1, false) FROM subscriptions;
             SELECT setval(pg_get_serial_sequence('production_records', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM production_records;
             SELECT setval(pg_get_serial_sequence('deactivations', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM deactivations;",
        )
        .map_err(pg_err)
}

pub(super) fn count_rows<C: std::ops::DerefMut<Target = PgClient>>(
    conn: &PgConn<C>,
    table: &Table,
) -> Result<i64, StoreError> {
    let row = conn
        .c
        .borrow_mut()
        .client
        .query_one(
            format!("SELECT COUNT(*) FROM {} WHERE {}", table.name, table.only).as_str(),
            &[],
        )
        .map_err(pg_err)?;
    get(&row, 0)
}
