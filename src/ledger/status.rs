//! status: what the policies say about a tenant over time — when its trial
//! ends, which notices are due, whether an unpaid subscription is overdue or
//! already locked. Rust holds none of the lengths: it asks the notice policies
//! (see [`crate::notice`]) with the tenant's facts.

use cedar_policy::Entities;
use serde_json::json;

use crate::facts::tenant_entity;
use crate::notice::{self, Notice, Probe, RuleTimes};
use crate::policy::PolicyPack;
use crate::store::rows::{SubscriptionRow, TenantFacts};

use crate::contract::{PAYMENT, TRIAL};

fn probe_times(
    pack: &PolicyPack,
    facts: &TenantFacts,
    kinds: Option<&str>,
    from: i64,
) -> Vec<(usize, RuleTimes)> {
    let Ok(tenant) = tenant_entity(facts) else {
        return Vec::new();
    };
    let tenant_uid = tenant.uid();
    let Ok(entities) = Entities::from_entities([tenant], None) else {
        return Vec::new();
    };
    let probe = Probe {
        entities: &entities,
        principal: tenant_uid.clone(),
        action: notice::probe_action(),
        resource: tenant_uid.clone(),
        context: json!({
            "now": from,
            "tenant": {"__entity": {"type": "Tenant", "id": facts.tenant.id}},
        })
        .as_object()
        .cloned()
        .unwrap_or_default(),
    };
    pack.notices
        .iter()
        .enumerate()
        .filter(|(_, r)| kinds.is_none_or(|k| r.kind == k))
        .map(|(i, r)| (i, probe.times(r, from)))
        .collect()
}

/// The notices a tenant's users see at `now`.
pub fn notices(pack: &PolicyPack, facts: &TenantFacts, now: i64) -> Vec<Notice> {
    standing(pack, facts, now).0
}

/// The notices a tenant's users see at `now`, and the ids of the notice
/// policies that apply to it at `now` (their forbids are in force: a trial
/// over, a tenant locked for late payment in the licensing pack), from one
/// probe of the rules.
pub fn standing(pack: &PolicyPack, facts: &TenantFacts, now: i64) -> (Vec<Notice>, Vec<String>) {
    let probed = probe_times(pack, facts, None, now);
    let in_force = probed
        .iter()
        .filter(|(_, t)| t.applies_from.is_some_and(|a| a <= now))
        .filter_map(|(i, _)| pack.notices.get(*i).map(|r| r.policy_id.clone()))
        .collect();
    let times: Vec<RuleTimes> = probed.into_iter().map(|(_, t)| t).collect();
    (notice::shown(pack, &times, now), in_force)
}

/// When the trial ends (or ended): the instant the trial policy starts to apply,
/// looking from the tenant's creation. `None` once provisioned or if the pack
/// has no trial policy.
pub(crate) fn trial_ends_at(pack: &PolicyPack, facts: &TenantFacts) -> Option<i64> {
    if facts.tenant.hub.is_some() {
        return None;
    }
    probe_times(pack, facts, Some(TRIAL), facts.tenant.created_at)
        .into_iter()
        .next()
        .and_then(|(_, t)| t.applies_from)
}

/// A subscription's state at `now`: `overdue` or `locked` while a due payment
/// is missing (locked once the payment policy applies to it alone), else
/// `ended` after its term, else `active`.
pub(crate) fn subscription_state(
    pack: &PolicyPack,
    facts: &TenantFacts,
    s: &SubscriptionRow,
    now: i64,
) -> &'static str {
    if let (None, Some(due)) = (s.paid_at, s.payment_due_at)
        && due <= now
    {
        let mut alone = facts.clone();
        alone.earliest_unpaid_due_at = Some(due);
        let locked = probe_times(pack, &alone, Some(PAYMENT), now)
            .into_iter()
            .next()
            .is_some_and(|(_, t)| t.applies_from.is_some_and(|a| a <= now));
        return if locked { "locked" } else { "overdue" };
    }
    if now >= s.ends_at { "ended" } else { "active" }
}
