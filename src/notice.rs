//! notice: what people are warned of ahead of time, and when.
//!
//! A notice policy (see [`crate::policy::NoticeRule`]) is a forbid whose first
//! clause says a warning is due and whose whole condition says the forbid
//! applies. Rust does not know the grace periods: it asks Cedar, evaluating the
//! policy's clauses at later times (binary search over `context.now`), when the
//! warning starts and when the forbid will apply. Those instants are cached per
//! tenant until the tenant changes or the policies are reloaded.
//!
//! Notice conditions must read only `context` (`now`, `tenant`) and must only
//! ever switch from false to true as time passes, as `now >= date` does.

use std::sync::Arc;

use cedar_policy::{Context, Entities, EntityUid, EvalResult, Expression, Request};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::policy::{Messages, NoticeRule, PolicyPack};
use crate::time::{self, DAY};

/// How far ahead a notice looks for the moment its forbid applies.
const HORIZON: i64 = 3650 * DAY;

/// The action named in tenant-level probes (notice conditions read only `context`).
pub(crate) fn probe_action() -> EntityUid {
    static ACTION: std::sync::OnceLock<EntityUid> = std::sync::OnceLock::new();
    ACTION
        .get_or_init(|| {
            #[allow(clippy::expect_used)] // a constant, valid uid
            std::str::FromStr::from_str(r#"Action::"notice""#).expect("a valid uid")
        })
        .clone()
}

/// A notice as people see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Notice {
    /// What the notice is about, as its policy says (`trial`, `payment_overdue`
    /// in the licensing pack).
    pub kind: String,
    /// Whole days left before the forbid applies, rounded up.
    pub days_left: i64,
    /// When the forbid applies (RFC 3339).
    #[schema(format = DateTime)]
    pub until: String,
    pub message: Messages,
    /// The policy that announces itself.
    pub policy: String,
}

/// When a notice rule's clauses start to hold for one tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleTimes {
    /// When the first clause starts to hold (the warning is due).
    pub armed_from: Option<i64>,
    /// When the whole condition starts to hold (the forbid applies).
    pub applies_from: Option<i64>,
}

impl RuleTimes {
    /// The notice shown at `now`, if any.
    pub(crate) fn notice_at(&self, rule: &NoticeRule, now: i64) -> Option<Notice> {
        let armed = self.armed_from.is_some_and(|t| t <= now);
        let applies_from = self.applies_from?;
        if !armed || applies_from <= now {
            return None;
        }
        let days_left = (applies_from - now + DAY - 1) / DAY;
        Some(Notice {
            kind: rule.kind.clone(),
            days_left,
            until: time::format(applies_from),
            message: rule.templates.fill_days(days_left),
            policy: rule.policy_id.clone(),
        })
    }
}

/// What the probes evaluate against: the slice and a context maker.
pub(crate) struct Probe<'a> {
    pub entities: &'a Entities,
    pub principal: EntityUid,
    pub action: EntityUid,
    pub resource: EntityUid,
    /// The request's context (Cedar JSON), `now` replaced at each probe.
    pub context: Map<String, Value>,
}

impl Probe<'_> {
    fn holds(&self, expr: &Expression, at: i64) -> bool {
        let mut ctx = self.context.clone();
        ctx.insert("now".into(), Value::from(at));
        let Ok(context) = Context::from_json_value(Value::Object(ctx), None) else {
            return false;
        };
        let Ok(request) = Request::new(
            self.principal.clone(),
            self.action.clone(),
            self.resource.clone(),
            context,
            None,
        ) else {
            return false;
        };
        matches!(
            cedar_policy::eval_expression(&request, self.entities, expr),
            Ok(EvalResult::Bool(true))
        )
    }

    /// The first instant in `[from, from + HORIZON]` at which `expr` holds.
    fn first_true(&self, expr: &Expression, from: i64) -> Option<i64> {
        if self.holds(expr, from) {
            return Some(from);
        }
        let mut hi = from.saturating_add(HORIZON);
        if !self.holds(expr, hi) {
            return None;
        }
        let mut lo = from;
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.holds(expr, mid) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Some(hi)
    }

    /// When `rule`'s clauses start to hold, looking from `now`.
    pub fn times(&self, rule: &NoticeRule, now: i64) -> RuleTimes {
        RuleTimes {
            armed_from: self.first_true(&rule.armed, now),
            applies_from: self.first_true(&rule.applies, now),
        }
    }
}

/// The computed times of every notice rule, for one tenant.
#[derive(Debug)]
struct TenantTimes {
    revision: String,
    generation: Arc<std::sync::atomic::AtomicU64>,
    built_at: u64,
    computed_at: i64,
    valid_until: Option<i64>,
    times: Vec<RuleTimes>,
}

/// Caches notice times per tenant.
pub(crate) struct NoticeCache {
    cache: quick_cache::sync::Cache<String, Arc<TenantTimes>>,
}

impl Default for NoticeCache {
    fn default() -> Self {
        Self {
            cache: quick_cache::sync::Cache::new(50_000),
        }
    }
}

/// How the cache may tell a cached entry is still good.
pub(crate) struct Freshness {
    /// The counter cell of the tenant's scope.
    pub generation: Arc<std::sync::atomic::AtomicU64>,
    /// The change counter read before the tenant was read.
    pub built_at: u64,
    /// Until when the tenant's facts hold.
    pub valid_until: Option<i64>,
}

impl NoticeCache {
    pub fn clear(&self) {
        self.cache.clear();
    }

    /// The times of every notice rule of `pack` for `tenant`, from the cache when
    /// fresh (`freshness` given), else probed.
    pub fn times<'p>(
        &self,
        pack: &PolicyPack,
        tenant: &str,
        probe: impl FnOnce() -> Probe<'p>,
        now: i64,
        freshness: Option<Freshness>,
    ) -> Vec<RuleTimes> {
        if let Some(f) = &freshness
            && let Some(entry) = self.cache.get(tenant)
        {
            let fresh = entry.revision == pack.revision
                && Arc::ptr_eq(&entry.generation, &f.generation)
                && entry.generation.load(std::sync::atomic::Ordering::SeqCst) <= entry.built_at
                && now >= entry.computed_at
                && entry.valid_until.is_none_or(|u| now < u);
            if fresh {
                return entry.times.clone();
            }
        }
        let probe = probe();
        let times: Vec<RuleTimes> = pack.notices.iter().map(|r| probe.times(r, now)).collect();
        if let Some(f) = freshness {
            self.cache.insert(
                tenant.to_string(),
                Arc::new(TenantTimes {
                    revision: pack.revision.clone(),
                    generation: f.generation,
                    built_at: f.built_at,
                    computed_at: now,
                    valid_until: f.valid_until,
                    times: times.clone(),
                }),
            );
        }
        times
    }
}

/// The notices shown at `now`, given each rule's times.
pub fn shown(pack: &PolicyPack, times: &[RuleTimes], now: i64) -> Vec<Notice> {
    pack.notices
        .iter()
        .zip(times)
        .filter_map(|(rule, t)| t.notice_at(rule, now))
        .collect()
}
