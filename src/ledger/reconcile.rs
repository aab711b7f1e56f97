//! R9 reconciliation: when shop-floor capacity is below the number of active
//! seat operators, the surplus operators are deactivated — those with no
//! production record first (earliest created, then lowest number), then those
//! idle longest (oldest latest record). User operators hold no seat and are
//! never touched. Likewise the most recently assigned user licences are revoked
//! when user capacity falls below the licences assigned.
//!
//! One function makes the plan; hub creation, capacity-lowering changes, the
//! subscription-end sweep and `POST /v1/tenants/{tenant}/reconcile` all use it.

use std::cmp::Ordering;

use serde::Serialize;

use super::LedgerError;
use crate::policy::{Messages, PolicyPack};
use crate::store::rows::{OperatorRow, UserRow};
use crate::store::{Conn, StoreError, Tx};
use crate::time;

/// Seats of one kind against their use.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Capacity {
    /// Seats of this kind within their term.
    pub capacity: i64,
    /// Seats taken (active seat operators, or licences assigned).
    pub in_use: i64,
}

/// A seat operator deactivated (or to be) for want of capacity.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct OperatorDeactivation {
    pub id: String,
    pub number: String,
    pub name: String,
    #[schema(format = DateTime, required = true)]
    pub latest_production: Option<String>,
    /// Why, in English (as recorded with the deactivation).
    pub reason: String,
    /// Why, in every language of the pack's message catalogue.
    pub message: Messages,
}

/// A user licence revoked (or to be) for want of capacity.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct LicenseRevocation {
    pub user: String,
    #[schema(format = DateTime, required = true)]
    pub licensed_at: Option<String>,
    /// Why, in English (as recorded with the revocation).
    pub reason: String,
    /// Why, in every language of the pack's message catalogue.
    pub message: Messages,
}

/// What reconciliation does (or would do) to a tenant, in order.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Plan {
    pub tenant: String,
    pub dry_run: bool,
    pub shop_floor: Capacity,
    pub user: Capacity,
    pub operators: Vec<OperatorDeactivation>,
    pub licenses: Vec<LicenseRevocation>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.operators.is_empty() && self.licenses.is_empty()
    }
}

/// Operator numbers compare as numbers when both are numbers.
fn number_cmp(a: &str, b: &str) -> Ordering {
    match (a.parse::<u128>(), b.parse::<u128>()) {
        (Ok(x), Ok(y)) => x.cmp(&y).then_with(|| a.cmp(b)),
        _ => a.cmp(b),
    }
}

/// The order in which surplus seat operators go: no production record first
/// (earliest created, then lowest number), then oldest latest record first.
pub(crate) fn deactivation_order(a: &OperatorRow, b: &OperatorRow) -> Ordering {
    let tie = || {
        a.created_at
            .cmp(&b.created_at)
            .then_with(|| number_cmp(&a.number, &b.number))
    };
    match (a.latest_production_at, b.latest_production_at) {
        (None, None) => tie(),
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => x.cmp(&y).then_with(tie),
    }
}

/// The order in which surplus licences are revoked: most recently assigned first.
fn revocation_order(a: &UserRow, b: &UserRow) -> Ordering {
    b.licensed_at.cmp(&a.licensed_at).then_with(|| b.id.cmp(&a.id))
}

/// The reason `code` of the pack's catalogue, filled; the code itself if the
/// pack lacks it (a serving pack never does).
fn reason(pack: &PolicyPack, code: &str, values: &[(&str, String)]) -> Messages {
    match pack.catalogue.get(code) {
        Some(m) => m.fill(values),
        None => Messages([("en".to_string(), code.to_string())].into_iter().collect()),
    }
}

/// Plans the reconciliation of `tenant` at `now`: what it would do if carried
/// out. Whether it may be (a tenant in trial may not) is the pack's
/// `reconcile` action, asked by the callers that carry plans out.
pub fn plan(
    conn: &dyn Conn,
    pack: &PolicyPack,
    tenant: &str,
    now: i64,
    dry_run: bool,
) -> Result<Plan, LedgerError> {
    let facts = conn
        .tenant_facts(tenant, now)?
        .ok_or_else(|| LedgerError::NotFound(format!("tenant `{tenant}`")))?;
    let mut plan = Plan {
        tenant: tenant.to_string(),
        dry_run,
        shop_floor: Capacity {
            capacity: facts.shop_floor.total,
            in_use: facts.shop_floor.used,
        },
        user: Capacity {
            capacity: facts.user.total,
            in_use: facts.user.used,
        },
        operators: Vec::new(),
        licenses: Vec::new(),
    };
    let surplus = facts.shop_floor.used - facts.shop_floor.total;
    if surplus > 0 {
        let mut seat_ops: Vec<OperatorRow> = conn
            .operators_of_tenant(tenant)?
            .into_iter()
            .filter(|o| o.active && o.owner_user_id.is_none())
            .collect();
        seat_ops.sort_by(deactivation_order);
        let counts = [
            ("used", facts.shop_floor.used.to_string()),
            ("total", facts.shop_floor.total.to_string()),
        ];
        plan.operators = seat_ops
            .into_iter()
            .take(usize::try_from(surplus).unwrap_or(0))
            .map(|o| {
                let message = match o.latest_production_at {
                    None => reason(pack, "reconciliation_no_record", &counts),
                    Some(at) => {
                        let mut values = counts.to_vec();
                        values.push(("since", time::format(at)));
                        reason(pack, "reconciliation_idle", &values)
                    }
                };
                OperatorDeactivation {
                    reason: message.get("en").unwrap_or_default().to_string(),
                    message,
                    id: o.id,
                    number: o.number,
                    name: o.name,
                    latest_production: o.latest_production_at.map(time::format),
                }
            })
            .collect();
    }
    let surplus = facts.user.used - facts.user.total;
    if surplus > 0 {
        let mut licensed: Vec<UserRow> = conn
            .users_of_tenant(tenant)?
            .into_iter()
            .filter(|u| u.licensed_at.is_some())
            .collect();
        licensed.sort_by(revocation_order);
        let message = reason(
            pack,
            "reconciliation_licence",
            &[
                ("used", facts.user.used.to_string()),
                ("total", facts.user.total.to_string()),
            ],
        );
        plan.licenses = licensed
            .into_iter()
            .take(usize::try_from(surplus).unwrap_or(0))
            .map(|u| LicenseRevocation {
                user: u.id,
                licensed_at: u.licensed_at.map(time::format),
                reason: message.get("en").unwrap_or_default().to_string(),
                message: message.clone(),
            })
            .collect();
    }
    Ok(plan)
}

/// Carries out a plan, recording each deactivation with its reason.
pub fn apply(tx: &mut Tx<'_>, plan: &Plan, now: i64) -> Result<(), StoreError> {
    for o in &plan.operators {
        tx.set_operator_active(&o.id, false)?;
        tx.insert_deactivation(&plan.tenant, "operator", &o.id, &o.reason, now)?;
    }
    for l in &plan.licenses {
        tx.set_license(&l.user, None)?;
        tx.insert_deactivation(&plan.tenant, "license", &l.user, &l.reason, now)?;
    }
    Ok(())
}

/// Plans and applies in one go (inside the caller's transaction).
pub fn run(tx: &mut Tx<'_>, pack: &PolicyPack, tenant: &str, now: i64) -> Result<Plan, LedgerError> {
    let plan = plan(tx, pack, tenant, now, false)?;
    apply(tx, &plan, now)?;
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(id: &str, number: &str, created_at: i64, latest: Option<i64>) -> OperatorRow {
        OperatorRow {
            id: id.into(),
            tenant_id: "t".into(),
            number: number.into(),
            name: id.into(),
            owner_user_id: None,
            active: true,
            created_at,
            latest_production_at: latest,
            deactivation: None,
        }
    }

    #[test]
    fn operators_without_records_go_first_then_the_longest_idle() {
        let mut ops = [
            op("recent", "1", 0, Some(500)),
            op("old", "2", 0, Some(100)),
            op("never-late", "3", 20, None),
            op("never-early", "4", 10, None),
        ];
        ops.sort_by(deactivation_order);
        let ids: Vec<&str> = ops.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, vec!["never-early", "never-late", "old", "recent"]);
    }

    #[test]
    fn ties_among_operators_without_records_go_to_the_lowest_number() {
        let mut ops = [
            op("b", "10", 5, None),
            op("a", "9", 5, None),
            op("c", "100", 5, None),
        ];
        ops.sort_by(deactivation_order);
        let ids: Vec<&str> = ops.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, vec!["a", "b", "c"]);
    }
}
