//! What the ledger answers: rows turned into the shapes of the public API,
//! times as RFC 3339 strings.

use serde::Serialize;

use crate::store::ledger::{AccountRow, OperatorRow, RoleRow, Seats, SubscriptionRow, TenantFacts, UserRow};
use crate::time;

fn t(v: i64) -> String {
    time::format(v)
}

fn topt(v: Option<i64>) -> Option<String> {
    v.map(time::format)
}

#[derive(Debug, Serialize)]
pub struct AccountView {
    pub id: String,
    pub name: String,
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

#[derive(Debug, Serialize)]
pub struct HubView {
    pub name: String,
    pub created_at: String,
}

#[derive(Debug, Serialize)]
pub struct TenantView {
    pub id: String,
    pub account: String,
    pub name: String,
    pub created_at: String,
    /// `trial` until a hub is created, then `provisioned`.
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trial_days: Option<i64>,
    /// When the trial ends (or ended), as the trial policy says; absent once provisioned.
    pub trial_ends_at: Option<String>,
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

#[derive(Debug, Serialize)]
pub struct SubscriptionView {
    pub number: i64,
    pub kind: &'static str,
    pub quantity: i64,
    pub starts_at: String,
    pub ends_at: String,
    pub payment_due_at: Option<String>,
    pub paid: bool,
    pub paid_at: Option<String>,
    /// `active`, `overdue`, `locked` or `ended`.
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

#[derive(Debug, Serialize)]
pub struct RoleView {
    pub name: String,
    pub builtin: bool,
    pub levels: std::collections::BTreeMap<String, crate::store::ledger::Level>,
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

#[derive(Debug, Serialize)]
pub struct UserView {
    pub id: String,
    pub tenant: String,
    pub name: String,
    pub email: String,
    pub role: String,
    pub active: bool,
    pub licensed: bool,
    pub licensed_at: Option<String>,
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

#[derive(Debug, Serialize)]
pub struct DeactivationView {
    pub reason: String,
    pub at: String,
}

#[derive(Debug, Serialize)]
pub struct OperatorView {
    pub id: String,
    pub tenant: String,
    pub number: String,
    pub name: String,
    /// `seat` (holds a shop-floor seat) or `user` (owned by `owner`, holds none).
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Whether the operator may work: its own flag, and for a user operator its
    /// user's too.
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inactive_reason: Option<String>,
    pub latest_production: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
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

#[derive(Debug, Clone, Copy, Serialize)]
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
#[derive(Debug, Serialize)]
pub struct SeatsView {
    pub user: SeatView,
    #[serde(skip_serializing_if = "Option::is_none")]
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
