//! What callers send to the ledger, and the checks every field goes through.
//! Unknown fields are refused: a misspelt optional field must not pass silently.

use std::collections::BTreeMap;

use serde::Deserialize;
use utoipa::ToSchema;

use super::LedgerError;
use crate::store::rows::{CATEGORIES, Level, SeatKind};
use crate::time;

/// `POST /v1/accounts`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    /// 1 to 128 characters without spaces or control characters.
    #[schema(value_type = super::views::names::Id)]
    pub id: String,
    /// 1 to 200 printable characters.
    #[schema(value_type = super::views::names::Name)]
    pub name: String,
}

/// `POST /v1/accounts/{account}/tenants`: the tenant starts in trial.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    #[schema(value_type = super::views::names::Id)]
    pub id: String,
    #[schema(value_type = super::views::names::Name)]
    pub name: String,
    /// The trial's length in days (0 to 3650); the trial policy's default if absent.
    #[serde(default, deserialize_with = "whole_opt")]
    #[schema(minimum = 0, maximum = 3650)]
    pub trial_days: Option<i64>,
}

/// `POST /v1/accounts/{account}/hubs` (R1).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHub {
    #[schema(value_type = super::views::names::Name)]
    pub name: String,
    /// The tenant to create the hub for; required when the account has several.
    #[serde(default)]
    pub tenant: Option<String>,
}

/// `POST /v1/tenants/{tenant}/subscriptions` (R7: a new number every time).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubscription {
    #[schema(value_type = super::views::names::SeatKind)]
    pub kind: String,
    #[serde(deserialize_with = "whole")]
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub quantity: i64,
    #[schema(format = DateTime)]
    pub starts_at: String,
    /// After `starts_at`.
    #[schema(format = DateTime)]
    pub ends_at: String,
    #[serde(default)]
    #[schema(value_type = Option<super::views::names::Timestamp>)]
    pub payment_due_at: Option<String>,
}

/// `PATCH /v1/tenants/{tenant}/subscriptions/{number}`: lowers a subscription
/// (give `quantity`, `ends_at` or both); raising it is refused (R7).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionChange {
    #[serde(default, deserialize_with = "whole_opt")]
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub quantity: Option<i64>,
    #[serde(default)]
    #[schema(value_type = Option<super::views::names::Timestamp>)]
    pub ends_at: Option<String>,
}

/// `POST /v1/tenants/{tenant}/roles`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewRole {
    #[schema(value_type = super::views::names::Id)]
    pub name: String,
    /// A level per category (`production_orders`, `production_records`,
    /// `reports`, `workers`, `users`, `devices`, `settings`).
    #[schema(value_type = super::views::names::Levels)]
    pub levels: BTreeMap<String, Level>,
}

/// `POST /v1/tenants/{tenant}/users`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    #[schema(value_type = super::views::names::Id)]
    pub id: String,
    #[schema(value_type = super::views::names::Name)]
    pub name: String,
    #[schema(format = Email)]
    pub email: String,
    /// A built-in role (`admin`, `manager`, `viewer`) or one of the tenant's.
    #[schema(value_type = super::views::names::Id)]
    pub role: String,
}

/// `PATCH /v1/users/{user}`: give `active`, `role` or both (R6 cascade, R10).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserChange {
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    #[schema(value_type = Option<super::views::names::Id>)]
    pub role: Option<String>,
    /// The user on whose behalf the change is made (the Cedar principal);
    /// else the tenant's account.
    #[serde(default)]
    #[schema(value_type = Option<super::views::names::Id>)]
    pub by: Option<String>,
}

/// A body that only names who acts.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ByOnly {
    /// The user on whose behalf the change is made (the Cedar principal);
    /// else the tenant's account.
    #[serde(default)]
    #[schema(value_type = Option<super::views::names::Id>)]
    pub by: Option<String>,
}

/// An operator number, given as a string or a non-negative integer.
#[derive(Debug, Clone)]
pub enum NumberInput {
    Text(String),
    Integer(u64),
}

/// What a textual operator number may be: 1 to 32 characters once trimmed,
/// none of them control or invisible characters (`inputs::number`).
const NUMBER_PATTERN: &str = r"^[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\x00-\x20\x7F-\xA0\xAD\u061C\u1680\u180E\u2000-\u200F\u2028-\u202F\u205F-\u2064\u2066-\u206F\u3000\uFEFF\uFFF9-\uFFFB](?:[^\x00-\x1F\x7F-\x9F\xAD\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF\uFFF9-\uFFFB]{0,30}[^\x00-\x20\x7F-\xA0\xAD\u061C\u1680\u180E\u2000-\u200F\u2028-\u202F\u205F-\u2064\u2066-\u206F\u3000\uFEFF\uFFF9-\uFFFB])?[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$";

impl utoipa::PartialSchema for NumberInput {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(NUMBER_PATTERN)),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(0u64))
                    .maximum(Some(u64::MAX)),
            )
            .description(Some(
                "1 to 32 printable characters (trimmed), or a whole number from 0",
            ))
            .into()
    }
}

impl ToSchema for NumberInput {}

/// A whole number, also written `5.0` (JSON Schema's `integer` counts it as one).
fn whole<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    struct V;
    impl serde::de::Visitor<'_> for V {
        type Value = i64;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a whole number")
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<i64, E> {
            if v.fract() == 0.0 && v.abs() <= 9.007_199_254_740_992e15 {
                Ok(v as i64)
            } else {
                Err(E::invalid_type(serde::de::Unexpected::Float(v), &self))
            }
        }
    }
    d.deserialize_any(V)
}

/// [`whole`], or nothing.
fn whole_opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    struct W(#[serde(deserialize_with = "whole")] i64);
    Option::<W>::deserialize(d).map(|o| o.map(|W(v)| v))
}

impl<'de> Deserialize<'de> for NumberInput {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = NumberInput;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or a whole number of at least 0")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<NumberInput, E> {
                Ok(NumberInput::Text(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<NumberInput, E> {
                Ok(NumberInput::Integer(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<NumberInput, E> {
                u64::try_from(v)
                    .map(NumberInput::Integer)
                    .map_err(|_| E::custom("must be a string or a whole number of at least 0"))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<NumberInput, E> {
                if v.fract() == 0.0 && (0.0..=9.007_199_254_740_992e15).contains(&v) {
                    Ok(NumberInput::Integer(v as u64))
                } else {
                    Err(E::custom("must be a string or a whole number of at least 0"))
                }
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// Characters a person cannot see that change how text reads: bidirectional
/// overrides and isolates, zero-width characters, the byte-order mark, soft
/// hyphens. An id or name holding one could pass for another.
pub fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
    )
}

impl NumberInput {
    pub fn normalized(&self) -> Result<String, LedgerError> {
        let s = match self {
            NumberInput::Text(s) => s.trim().to_string(),
            NumberInput::Integer(n) => n.to_string(),
        };
        if s.is_empty() || s.chars().count() > 32 || s.chars().any(|c| c.is_control() || invisible(c)) {
            return Err(LedgerError::invalid(
                "number",
                "`number` must be 1 to 32 printable characters",
            ));
        }
        Ok(s)
    }
}

/// `POST /v1/tenants/{tenant}/operators` (R5: takes a shop-floor seat).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOperator {
    #[schema(value_type = super::views::names::Id)]
    pub id: String,
    /// Unique in the tenant; 1 to 32 printable characters.
    pub number: NumberInput,
    #[schema(value_type = super::views::names::Name)]
    pub name: String,
    /// The user on whose behalf the operator is added (the Cedar principal);
    /// else the tenant's account.
    #[serde(default)]
    #[schema(value_type = Option<super::views::names::Id>)]
    pub by: Option<String>,
}

/// `PATCH /v1/operators/{operator}`: re-activation takes a seat (R5).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OperatorChange {
    pub active: bool,
    /// The user on whose behalf the change is made (the Cedar principal);
    /// else the tenant's account.
    #[serde(default)]
    #[schema(value_type = Option<super::views::names::Id>)]
    pub by: Option<String>,
}

/// `POST /v1/users/{user}/operator` (R6): the user's own operator, named after
/// them; it takes no seat.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOwnOperator {
    #[schema(value_type = super::views::names::Id)]
    pub id: String,
    /// Unique in the tenant; 1 to 32 printable characters.
    pub number: NumberInput,
}

/// `PUT /v1/users/{user}/operator` (R6): links an existing seat operator to
/// the user, for good.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkOperator {
    /// The operator's id.
    #[schema(value_type = super::views::names::Id)]
    pub operator: String,
}

/// `POST /v1/operators/{operator}/production`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProduction {
    /// When it was produced (now if absent); how far in the future it may be is the pack's.
    #[serde(default)]
    #[schema(value_type = Option<super::views::names::Timestamp>)]
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
    if v.chars().any(invisible) {
        return Err(LedgerError::invalid(
            field,
            format!(
                "`{field}` holds an invisible character (a bidirectional or zero-width mark); ids must read as they are"
            ),
        ));
    }
    Ok(v.to_string())
}

/// A display name: 1 to 200 characters after trimming.
pub fn name(field: &str, v: &str) -> Result<String, LedgerError> {
    let t = v.trim();
    if t.is_empty() || t.chars().count() > 200 || t.chars().any(|c| c.is_control() || invisible(c)) {
        return Err(LedgerError::invalid(
            field,
            format!(
                "`{field}` must be 1 to 200 printable characters, without bidirectional or zero-width marks"
            ),
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
        && !t
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || invisible(c));
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

pub(crate) fn positive(field: &str, v: i64) -> Result<i64, LedgerError> {
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
