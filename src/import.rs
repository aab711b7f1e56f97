//! import: entities of other packs, in Cedar's entity JSON format, checked
//! against the serving schema before anything is stored.

use cedar_policy::Entities;
use serde_json::Value;

use crate::policy::PolicyPack;
use crate::store::{Store, StoreError, Tx};

/// Why entities were refused; nothing was stored.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("expected a JSON array of entities (Cedar's entity JSON format)")]
    NotAnArray,
    #[error("entity {index}: {message}")]
    Malformed { index: usize, message: String },
    #[error("entity {index}: type `{ty}` is managed by the licence ledger; use the ledger API")]
    LedgerType { index: usize, ty: String },
    #[error("the entities do not fit the schema: {0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One entity ready to store: its key and its JSON.
#[derive(Debug, Clone)]
pub struct Row {
    pub ty: String,
    pub id: String,
    pub json: String,
}

/// Checks `json` (an array of Cedar entities) against `pack`'s schema.
pub fn check(pack: &PolicyPack, json: &Value) -> Result<Vec<Row>, ImportError> {
    let items = json.as_array().ok_or(ImportError::NotAnArray)?;
    let mut rows = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let uid = item.get("uid").ok_or_else(|| ImportError::Malformed {
            index,
            message: "`uid` is required".into(),
        })?;
        let uid = uid.get("__entity").unwrap_or(uid);
        let (Some(ty), Some(id)) = (
            uid.get("type").and_then(Value::as_str),
            uid.get("id").and_then(Value::as_str),
        ) else {
            return Err(ImportError::Malformed {
                index,
                message: "`uid` must be `{\"type\": \"...\", \"id\": \"...\"}`".into(),
            });
        };
        if pack.ledger_types.contains(ty) {
            return Err(ImportError::LedgerType {
                index,
                ty: ty.to_string(),
            });
        }
        rows.push(Row {
            ty: ty.to_string(),
            id: id.to_string(),
            json: item.to_string(),
        });
    }
    // Each entity on its own first, so that a refusal names the entity, the
    // attribute and the type expected; then all together (parents, duplicates).
    for (index, item) in items.iter().enumerate() {
        if let Err(e) = cedar_policy::Entity::from_json_value(item.clone(), Some(&pack.schema)) {
            return Err(ImportError::Malformed {
                index,
                message: format!(
                    "`{}::\"{}\"`: {}",
                    rows[index].ty,
                    rows[index].id,
                    cause_chain(&e)
                ),
            });
        }
    }
    Entities::from_json_value(json.clone(), Some(&pack.schema))
        .map_err(|e| ImportError::Invalid(cause_chain(&e)))?;
    Ok(rows)
}

/// An error with every cause under it and its help, as one line: Cedar's
/// top-level messages ("error during entity deserialization") say little alone.
pub(crate) fn cause_chain(e: &(dyn miette::Diagnostic + 'static)) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut next = std::error::Error::source(e);
    while let Some(cause) = next {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = cause.source();
    }
    // The most precise cause first; the generic heading is dropped when a cause says more.
    if parts.len() > 1 {
        parts.remove(0);
    }
    let mut msg = parts.join(": ");
    if let Some(help) = e.help() {
        msg.push_str(&format!(" ({help})"));
    }
    msg
}

/// The 1-based line on which each element of a top-level JSON array starts in
/// `text` (for messages that point into an entities file).
pub fn element_lines(text: &str) -> Vec<usize> {
    let mut lines = Vec::new();
    let (mut depth, mut line) = (0usize, 1usize);
    let (mut in_string, mut escaped, mut expect) = (false, false, false);
    for c in text.chars() {
        if c == '\n' {
            line += 1;
        }
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if depth == 1 && expect && !c.is_whitespace() && c != ',' && c != ']' {
            lines.push(line);
            expect = false;
        }
        match c {
            '"' => in_string = true,
            '[' | '{' => {
                depth += 1;
                if depth == 1 {
                    expect = true;
                }
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            ',' if depth == 1 => expect = true,
            _ => {}
        }
    }
    lines
}

/// Stores checked rows (replacing entities with the same key) in one write.
pub(crate) fn store_rows(tx: &mut Tx<'_>, rows: &[Row]) -> Result<usize, StoreError> {
    for r in rows {
        tx.put_entity(&r.ty, &r.id, &r.json)?;
    }
    Ok(rows.len())
}

/// Checks and stores, for the CLI.
pub(crate) fn import_blocking(store: &Store, pack: &PolicyPack, json: &Value) -> Result<usize, ImportError> {
    let rows = check(pack, json)?;
    store.write_blocking(move |tx| store_rows(tx, &rows).map_err(ImportError::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_lines_point_at_each_entity_of_the_array() {
        let text = "[\n  {\"uid\": {\"type\": \"a\", \"id\": \"[,]\"}},\n\n  {\"x\": [1, 2]},\n  3\n]";
        assert_eq!(element_lines(text), vec![2, 4, 5]);
        assert_eq!(element_lines("[]"), Vec::<usize>::new());
    }
}
