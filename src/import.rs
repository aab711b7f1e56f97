//! import: entities of other packs, in Cedar's entity JSON format, checked
//! against the serving schema before anything is stored.

use cedar_policy::Entities;
use serde_json::Value;

use crate::policy::PolicyPack;
use crate::store::{Store, StoreError, Tx, entities, scope};

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
    Entities::from_json_value(json.clone(), Some(&pack.schema)).map_err(|e| {
        let mut msg = e.to_string();
        if let Some(help) = miette::Diagnostic::help(&e) {
            msg.push_str(&format!(" ({help})"));
        }
        ImportError::Invalid(msg)
    })?;
    Ok(rows)
}

/// Stores checked rows (replacing entities with the same key) in one write.
pub fn store_rows(tx: &mut Tx<'_>, rows: &[Row]) -> Result<usize, StoreError> {
    for r in rows {
        entities::put(tx, &r.ty, &r.id, &r.json)?;
    }
    tx.touch(scope::GENERIC.to_string());
    Ok(rows.len())
}

/// Checks and stores, for the CLI.
pub fn import_blocking(store: &Store, pack: &PolicyPack, json: &Value) -> Result<usize, ImportError> {
    let rows = check(pack, json)?;
    store.write_blocking(move |tx| store_rows(tx, &rows).map_err(ImportError::from))
}
