//! What the ledger answers: rows turned into the shapes of the public API,
//! times as RFC 3339 strings.

use serde::Serialize;
use utoipa::ToSchema;

use crate::store::rows::{AccountRow, OperatorRow, RoleRow, Seats, SubscriptionRow, TenantFacts, UserRow};
use crate::time;

fn t(v: i64) -> String {
    time::format(v)
}

fn topt(v: Option<i64>) -> Option<String> {
    v.map(time::format)
}

/// An account and the ids of its tenants.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    pub id: String,
    pub name: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    pub tenants: Vec<String>,
}

impl AccountView {
    pub fn new(a: &AccountRow, tenants: Vec<String>) -> Self {
        Self {
            id: a.id.clone(),
            name: a.name.clone(),
            created_at: t(a.created_at),
            tenants,
        }
    }
}

/// A tenant's hub (R1): creating it ends the trial.
#[derive(Debug, Serialize, ToSchema)]
pub struct HubView {
    pub name: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// A tenant: in trial, or provisioned once it has a hub.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantView {
    pub id: String,
    pub account: String,
    pub name: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// `trial` until a hub is created, then `provisioned`.
    #[schema(value_type = names::TenantState)]
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub trial_days: Option<i64>,
    /// When the trial ends (or ended), as the trial policy says; `null` once provisioned.
    #[schema(format = DateTime, required = true)]
    pub trial_ends_at: Option<String>,
    #[schema(required = true)]
    pub hub: Option<HubView>,
}

impl TenantView {
    pub fn new(f: &TenantFacts, trial_ends_at: Option<i64>) -> Self {
        let tr = &f.tenant;
        Self {
            id: tr.id.clone(),
            account: tr.account_id.clone(),
            name: tr.name.clone(),
            created_at: t(tr.created_at),
            state: if tr.hub.is_some() { "provisioned" } else { "trial" },
            trial_days: tr.trial_days,
            trial_ends_at: if tr.hub.is_some() {
                None
            } else {
                topt(trial_ends_at)
            },
            hub: tr.hub.as_ref().map(|h| HubView {
                name: h.name.clone(),
                created_at: t(h.created_at),
            }),
        }
    }
}

/// A subscription (R7): seats of one kind for a term.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionView {
    /// Unique across the service, never reused.
    pub number: i64,
    #[schema(value_type = names::SeatKind)]
    pub kind: &'static str,
    pub quantity: i64,
    #[schema(format = DateTime)]
    pub starts_at: String,
    #[schema(format = DateTime)]
    pub ends_at: String,
    #[schema(format = DateTime, required = true)]
    pub payment_due_at: Option<String>,
    pub paid: bool,
    #[schema(format = DateTime, required = true)]
    pub paid_at: Option<String>,
    /// `active`, `overdue`, `locked` or `ended`.
    #[schema(value_type = names::SubscriptionState)]
    pub state: &'static str,
}

impl SubscriptionView {
    pub fn new(s: &SubscriptionRow, state: &'static str) -> Self {
        Self {
            number: s.number,
            kind: s.kind.as_str(),
            quantity: s.quantity,
            starts_at: t(s.starts_at),
            ends_at: t(s.ends_at),
            payment_due_at: topt(s.payment_due_at),
            paid: s.paid_at.is_some(),
            paid_at: topt(s.paid_at),
            state,
        }
    }
}

/// A role: a permission level per category (R4).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RoleView {
    pub name: String,
    /// `admin`, `manager` and `viewer` are built in, for every tenant.
    pub builtin: bool,
    #[schema(value_type = std::collections::BTreeMap<String, names::Level>)]
    pub levels: std::collections::BTreeMap<String, crate::store::rows::Level>,
}

impl From<&RoleRow> for RoleView {
    fn from(r: &RoleRow) -> Self {
        Self {
            name: r.name.clone(),
            builtin: r.tenant_id.is_none(),
            levels: r.levels.clone(),
        }
    }
}

/// A user of a tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub tenant: String,
    pub name: String,
    pub email: String,
    pub role: String,
    pub active: bool,
    /// Whether the user holds a named licence (R3).
    pub licensed: bool,
    #[schema(format = DateTime, required = true)]
    pub licensed_at: Option<String>,
    /// The id of the user's own operator (R6), if any.
    #[schema(required = true)]
    pub own_operator: Option<String>,
}

impl From<&UserRow> for UserView {
    fn from(u: &UserRow) -> Self {
        Self {
            id: u.id.clone(),
            tenant: u.tenant_id.clone(),
            name: u.name.clone(),
            email: u.email.clone(),
            role: u.role.clone(),
            active: u.active,
            licensed: u.licensed_at.is_some(),
            licensed_at: topt(u.licensed_at),
            own_operator: u.own_operator.clone(),
        }
    }
}

/// Why and when an operator was deactivated.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeactivationView {
    pub reason: String,
    #[schema(format = DateTime)]
    pub at: String,
}

/// An operator of a tenant's shop floor.
#[derive(Debug, Serialize, ToSchema)]
pub struct OperatorView {
    pub id: String,
    pub tenant: String,
    pub number: String,
    pub name: String,
    /// `seat` (holds a shop-floor seat) or `user` (owned by `owner`, holds none).
    #[schema(value_type = names::OperatorKind)]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub owner: Option<String>,
    /// Whether the operator may work: its own flag, and for a user operator its
    /// user's too.
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub inactive_reason: Option<String>,
    /// When it last recorded production.
    #[schema(format = DateTime, required = true)]
    pub latest_production: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub deactivation: Option<DeactivationView>,
}

impl OperatorView {
    /// `owner_active`: whether the owning user (if any) is active.
    pub fn new(o: &OperatorRow, owner_active: bool) -> Self {
        let active = o.active && owner_active;
        let inactive_reason = if !o.active {
            Some(
                o.deactivation
                    .as_ref()
                    .map(|d| d.reason.clone())
                    .unwrap_or_else(|| "deactivated".into()),
            )
        } else if !owner_active {
            Some("its user is inactive".into())
        } else {
            None
        };
        Self {
            id: o.id.clone(),
            tenant: o.tenant_id.clone(),
            number: o.number.clone(),
            name: o.name.clone(),
            kind: if o.owner_user_id.is_some() { "user" } else { "seat" },
            owner: o.owner_user_id.clone(),
            active,
            inactive_reason,
            latest_production: topt(o.latest_production_at),
            deactivation: o.deactivation.as_ref().map(|d| DeactivationView {
                reason: d.reason.clone(),
                at: t(d.at),
            }),
        }
    }
}

/// Seats of one kind.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct SeatView {
    pub total: i64,
    pub used: i64,
    pub free: i64,
}

impl From<Seats> for SeatView {
    fn from(s: Seats) -> Self {
        Self {
            total: s.total,
            used: s.used,
            free: s.free(),
        }
    }
}

/// R5: `shop_floor` is absent (not zero) for a tenant that never bought it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeatsView {
    pub user: SeatView,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub shop_floor: Option<SeatView>,
}

impl From<&TenantFacts> for SeatsView {
    fn from(f: &TenantFacts) -> Self {
        Self {
            user: f.user.into(),
            shop_floor: f.has_shop_floor.then(|| f.shop_floor.into()),
        }
    }
}

/// Names of the values the views (and inputs) hold as plain strings or as
/// store types: these enums exist only to give the OpenAPI document their
/// schemas. The tests below keep them in step with the code.
pub mod names {
    use utoipa::ToSchema;

    /// An id: 1 to 128 characters, none of them whitespace, control or
    /// invisible (bidirectional, zero-width) characters (`inputs::id`).
    #[derive(ToSchema)]
    #[schema(
        pattern = r"^[^\x00-\x20\x7F-\xA0\xAD\u061C\u1680\u180E\u2000-\u200F\u2028-\u202F\u205F-\u2064\u2066-\u206F\u3000\uFEFF\uFFF9-\uFFFB]{1,128}$"
    )]
    pub struct Id(pub String);

    /// A display name: 1 to 200 characters once trimmed, none of them
    /// control or invisible characters; surrounding whitespace is trimmed
    /// (`inputs::name`).
    #[derive(ToSchema)]
    #[schema(
        pattern = r"^[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\x00-\x20\x7F-\xA0\xAD\u061C\u1680\u180E\u2000-\u200F\u2028-\u202F\u205F-\u2064\u2066-\u206F\u3000\uFEFF\uFFF9-\uFFFB](?:[^\x00-\x1F\x7F-\x9F\xAD\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF\uFFF9-\uFFFB]{0,198}[^\x00-\x20\x7F-\xA0\xAD\u061C\u1680\u180E\u2000-\u200F\u2028-\u202F\u205F-\u2064\u2066-\u206F\u3000\uFEFF\uFFF9-\uFFFB])?[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
    )]
    pub struct Name(pub String);

    /// An RFC 3339 time such as `2026-01-31T09:00:00Z`, from year 1 to 9999
    /// (no leap second).
    #[derive(ToSchema)]
    #[schema(format = DateTime)]
    pub struct Timestamp(pub String);

    /// A level per category; the seven categories only (`store::rows::CATEGORIES`).
    #[derive(ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct Levels {
        #[schema(nullable = false)]
        pub production_orders: Option<Level>,
        #[schema(nullable = false)]
        pub production_records: Option<Level>,
        #[schema(nullable = false)]
        pub reports: Option<Level>,
        #[schema(nullable = false)]
        pub workers: Option<Level>,
        #[schema(nullable = false)]
        pub users: Option<Level>,
        #[schema(nullable = false)]
        pub devices: Option<Level>,
        #[schema(nullable = false)]
        pub settings: Option<Level>,
    }

    /// A permission level: none < view < edit < approve.
    #[derive(ToSchema)]
    #[schema(rename_all = "snake_case")]
    pub enum Level {
        None,
        View,
        Edit,
        Approve,
    }

    /// The two kinds of seats a subscription sells.
    #[derive(ToSchema)]
    #[schema(rename_all = "snake_case")]
    pub enum SeatKind {
        User,
        ShopFloor,
    }

    /// `trial` until a hub is created, then `provisioned`.
    #[derive(ToSchema)]
    #[schema(rename_all = "snake_case")]
    pub enum TenantState {
        Trial,
        Provisioned,
    }

    /// `overdue` or `locked` while a due payment is missing, else `ended` after
    /// the term, else `active`.
    #[derive(ToSchema)]
    #[schema(rename_all = "snake_case")]
    pub enum SubscriptionState {
        Active,
        Overdue,
        Locked,
        Ended,
    }

    /// `seat` (holds a shop-floor seat) or `user` (a user's own, holds none).
    #[derive(ToSchema)]
    #[schema(rename_all = "snake_case")]
    pub enum OperatorKind {
        Seat,
        User,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use utoipa::PartialSchema;
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::Schema;

    use super::names;
    use crate::store::rows::{Level, SeatKind};

    fn values(schema: RefOr<Schema>) -> Vec<Value> {
        match schema {
            RefOr::T(Schema::Object(o)) => o.enum_values.unwrap_or_default(),
            _ => panic!("not an enum schema"),
        }
    }

    #[test]
    fn the_level_schema_names_every_level_as_serde_writes_it() {
        // A new level fails to compile here until the schema names it too.
        let all = |l: Level| match l {
            Level::None | Level::View | Level::Edit | Level::Approve => json!(l),
        };
        let levels: Vec<Value> = [Level::None, Level::View, Level::Edit, Level::Approve]
            .into_iter()
            .map(all)
            .collect();
        assert_eq!(values(names::Level::schema()), levels);
    }

    #[test]
    fn the_seat_kind_schema_names_every_kind_as_the_api_writes_it() {
        let all = |k: SeatKind| match k {
            SeatKind::User | SeatKind::ShopFloor => json!(k.as_str()),
        };
        let kinds: Vec<Value> = [SeatKind::User, SeatKind::ShopFloor]
            .into_iter()
            .map(all)
            .collect();
        assert_eq!(values(names::SeatKind::schema()), kinds);
    }
}
