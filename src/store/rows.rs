//! The ledger's rows as plain values: accounts, tenants, hubs, subscriptions,
//! roles, users, operators, production records and reconciliation records.
//! Every backend reads and writes these; what they mean is decided elsewhere.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountRow {
    pub id: String,
    pub name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HubRow {
    pub name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantRow {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub created_at: i64,
    pub trial_days: Option<i64>,
    pub hub: Option<HubRow>,
}

/// The two kinds of seats a subscription sells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeatKind {
    User,
    ShopFloor,
}

impl SeatKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SeatKind::User => "user",
            SeatKind::ShopFloor => "shop_floor",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(SeatKind::User),
            "shop_floor" => Some(SeatKind::ShopFloor),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubscriptionRow {
    pub number: i64,
    pub tenant_id: String,
    pub kind: SeatKind,
    pub quantity: i64,
    pub starts_at: i64,
    pub ends_at: i64,
    pub payment_due_at: Option<i64>,
    pub paid_at: Option<i64>,
    pub created_at: i64,
}

impl SubscriptionRow {}

/// A permission level: none < view < edit < approve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    None,
    View,
    Edit,
    Approve,
}

/// The categories of the management interface.
pub(crate) const CATEGORIES: [&str; 7] = [
    "production_orders",
    "production_records",
    "reports",
    "workers",
    "users",
    "devices",
    "settings",
];

/// The built-in roles, which cannot be edited or shadowed.
pub(crate) const BUILTIN_ROLES: [&str; 3] = ["admin", "manager", "viewer"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleRow {
    /// `None` for a built-in role.
    pub tenant_id: Option<String>,
    pub name: String,
    pub levels: BTreeMap<String, Level>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserRow {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub email: String,
    pub role: String,
    pub active: bool,
    pub licensed_at: Option<i64>,
    pub created_at: i64,
    /// The id of the user's own operator, if they have one.
    pub own_operator: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deactivation {
    pub reason: String,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperatorRow {
    pub id: String,
    pub tenant_id: String,
    pub number: String,
    pub name: String,
    /// Set for a user operator: the user who owns it.
    pub owner_user_id: Option<String>,
    pub active: bool,
    pub created_at: i64,
    pub latest_production_at: Option<i64>,
    /// The last deactivation made by reconciliation, if the operator is inactive
    /// because of one.
    pub deactivation: Option<Deactivation>,
}

/// Seats of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Seats {
    pub total: i64,
    pub used: i64,
}

impl Seats {
    pub fn free(&self) -> i64 {
        (self.total - self.used).max(0)
    }
}

/// What the policies need to know about a tenant, computed from its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantFacts {
    pub tenant: TenantRow,
    pub user: Seats,
    pub shop_floor: Seats,
    /// Whether the tenant has ever bought shop-floor seats (R5: without, the
    /// operators page shows no licence information at all).
    pub has_shop_floor: bool,
    pub earliest_unpaid_due_at: Option<i64>,
    pub active_admins: i64,
    /// The next time a subscription starts or ends: the capacity above holds
    /// until then.
    pub next_change_at: Option<i64>,
}

/// Whether `err` is a UNIQUE or PRIMARY KEY violation, on any backend.
pub(crate) fn is_conflict(err: &StoreError) -> bool {
    matches!(err, StoreError::Duplicate(_))
}

/// A user row, its tenant's account and its role's levels (JSON), as the
/// entity builder reads them in one statement.
pub(crate) type UserWithRole = (UserRow, Option<String>, Option<String>);

/// A role's levels as stored (JSON): the one reading of them, for the ledger
/// and for the entities decisions see alike. Corrupt levels are an error,
/// never a role with fewer (or more) levels than stored.
pub(crate) fn parse_levels(name: &str, levels: &str) -> Result<BTreeMap<String, Level>, StoreError> {
    serde_json::from_str(levels).map_err(|e| StoreError::Corrupt(format!("role `{name}` levels: {e}")))
}

/// Parses a role's levels as stored (JSON).
pub(crate) fn parse_role(tenant_id: String, name: String, levels: &str) -> Result<RoleRow, StoreError> {
    let levels = parse_levels(&name, levels)?;
    Ok(RoleRow {
        tenant_id: (!tenant_id.is_empty()).then_some(tenant_id),
        name,
        levels,
    })
}
