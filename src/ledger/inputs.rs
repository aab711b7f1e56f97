//! What callers send to the ledger, and the checks every field goes through.
//! Unknown fields are refused: a misspelt optional field must not pass silently.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::LedgerError;
use crate::store::ledger::{CATEGORIES, Level, SeatKind};
use crate::time;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub trial_days: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewHub {
    pub name: String,
    #[serde(default)]
    pub tenant: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSubscription {
    pub kind: String,
    pub quantity: i64,
    pub starts_at: String,
    pub ends_at: String,
    #[serde(default)]
    pub payment_due_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionChange {
    #[serde(default)]
    pub quantity: Option<i64>,
    #[serde(default)]
    pub ends_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRole {
    pub name: String,
    pub levels: BTreeMap<String, Level>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub by: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ByOnly {
    #[serde(default)]
    pub by: Option<String>,
}

/// An operator number, given as a string or a non-negative integer.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum NumberInput {
    Text(String),
    Integer(u64),
}

impl NumberInput {
    pub fn normalized(&self) -> Result<String, LedgerError> {
        let s = match self {
            NumberInput::Text(s) => s.trim().to_string(),
            NumberInput::Integer(n) => n.to_string(),
        };
        if s.is_empty() || s.chars().count() > 32 || s.chars().any(char::is_control) {
            return Err(LedgerError::invalid(
                "number",
                "`number` must be 1 to 32 printable characters",
            ));
        }
        Ok(s)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOperator {
    pub id: String,
    pub number: NumberInput,
    pub name: String,
    #[serde(default)]
    pub by: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorChange {
    pub active: bool,
    #[serde(default)]
    pub by: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOwnOperator {
    pub id: String,
    pub number: NumberInput,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkOperator {
    pub operator: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewProduction {
    #[serde(default)]
    pub at: Option<String>,
}

/// An id: 1 to 128 characters, none of them blank or control characters.
pub fn id(field: &str, v: &str) -> Result<String, LedgerError> {
    if v.is_empty() || v.chars().count() > 128 || v.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(LedgerError::invalid(
            field,
            format!("`{field}` must be 1 to 128 characters without spaces or control characters"),
        ));
    }
    Ok(v.to_string())
}

/// A display name: 1 to 200 characters after trimming.
pub fn name(field: &str, v: &str) -> Result<String, LedgerError> {
    let t = v.trim();
    if t.is_empty() || t.chars().count() > 200 || t.chars().any(char::is_control) {
        return Err(LedgerError::invalid(
            field,
            format!("`{field}` must be 1 to 200 printable characters"),
        ));
    }
    Ok(t.to_string())
}

pub fn email(field: &str, v: &str) -> Result<String, LedgerError> {
    let t = v.trim();
    let ok = t.len() <= 254
        && t.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        })
        && !t.chars().any(char::is_whitespace);
    if !ok {
        return Err(LedgerError::invalid(
            field,
            format!("`{field}` must be an e-mail address such as `ada@example.com`"),
        ));
    }
    Ok(t.to_string())
}

pub fn kind(field: &str, v: &str) -> Result<SeatKind, LedgerError> {
    SeatKind::parse(v).ok_or_else(|| {
        LedgerError::invalid(
            field,
            format!("`{field}` must be `user` or `shop_floor`, not `{v}`"),
        )
    })
}

pub fn positive(field: &str, v: i64) -> Result<i64, LedgerError> {
    if v <= 0 || v > 1_000_000 {
        return Err(LedgerError::invalid(
            field,
            format!("`{field}` must be a whole number from 1 to 1000000"),
        ));
    }
    Ok(v)
}

pub fn at(field: &str, v: &str) -> Result<i64, LedgerError> {
    time::parse(v).map_err(|m| LedgerError::invalid(field, format!("`{field}`: {m}")))
}

pub fn trial_days(v: Option<i64>) -> Result<Option<i64>, LedgerError> {
    match v {
        Some(d) if !(0..=3650).contains(&d) => Err(LedgerError::invalid(
            "trial_days",
            "`trial_days` must be from 0 to 3650",
        )),
        other => Ok(other),
    }
}

pub fn levels(v: &BTreeMap<String, Level>) -> Result<BTreeMap<String, Level>, LedgerError> {
    for k in v.keys() {
        if !CATEGORIES.contains(&k.as_str()) {
            return Err(LedgerError::invalid(
                &format!("levels.{k}"),
                format!(
                    "`{k}` is not a category; categories are {}",
                    CATEGORIES.join(", ")
                ),
            ));
        }
    }
    Ok(v.clone())
}
