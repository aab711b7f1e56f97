//! decide: request → slice → Cedar → decision.
//!
//! The engine holds the serving policy pack (swapped atomically on reload), the
//! entity cache and the clock. It turns one request into the entities it needs,
//! fills in the server's facts (`context.now`, `context.tenant`), asks Cedar,
//! and reports the decision with the determining policies, any evaluation error
//! (which always denies), the message of the determining policy and the notices
//! due. It decides nothing itself: every allow and deny comes from a policy.

mod query;
mod ready;

use std::str::FromStr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use cedar_policy::{
    Authorizer, Context, Decision as CedarDecision, Entities, EntityId, EntityTypeName, EntityUid, Request,
};
use serde_json::{Map, Value};

use crate::decision_log::{DecisionLog, Entry};
use crate::notice::{self, Freshness, Notice, NoticeCache, Probe, RuleTimes};
use crate::policy::schema_info::{Ty, filter_record};
use crate::policy::{PackError, PolicyPack, PropertyMode};
use crate::slice::{Slicer, Source};
use crate::store::Store;
use crate::time::Clock;
pub use query::{ActionTarget, DecideError, Decision, Query, Target};
use ready::*;
pub use ready::{Prepared, PreparedRequest, TenantRef, action_uid, entity_uid};

/// The decision point.
pub struct Engine {
    /// The serving pack; replaced whole on reload, never mutated.
    pack: ArcSwap<PolicyPack>,
    store: Store,
    slicer: Slicer,
    notices: NoticeCache,
    clock: Clock,
    authorizer: Authorizer,
    /// Where decisions are logged, if anywhere (set once at start-up).
    log: std::sync::OnceLock<Arc<DecisionLog>>,
    /// This node's name, for the decision log (set once at start-up).
    node: std::sync::OnceLock<String>,
    /// Past this staleness (ms) of the data the store confirms current,
    /// decisions are refused rather than served from old data.
    max_staleness_ms: std::sync::atomic::AtomicU64,
}

impl Engine {
    /// An engine serving `pack` over `store`. Refuses a pack whose ledger types
    /// the ledger cannot build to its schema; the service asks the whole
    /// [`crate::contract`] before it starts and on every reload.
    pub fn new(pack: PolicyPack, store: Store, clock: Clock) -> Result<Self, PackError> {
        Self::with_cache(pack, store, clock, crate::slice::DEFAULT_CACHE_CAPACITY)
    }

    /// [`Engine::new`] with an entity cache of `capacity` entities (0: none).
    pub fn with_cache(
        pack: PolicyPack,
        store: Store,
        clock: Clock,
        capacity: usize,
    ) -> Result<Self, PackError> {
        crate::contract::check_types(&pack)?;
        Ok(Self {
            pack: ArcSwap::from_pointee(pack),
            store,
            slicer: Slicer::new(capacity),
            notices: NoticeCache::default(),
            clock,
            authorizer: Authorizer::new(),
            log: std::sync::OnceLock::new(),
            node: std::sync::OnceLock::new(),
            max_staleness_ms: std::sync::atomic::AtomicU64::new(30_000),
        })
    }

    /// How many built entities and assembled slices are cached now.
    pub fn cached(&self) -> (usize, usize) {
        self.slicer.len()
    }

    /// Logs every decision made through [`Engine::decide`] and
    /// [`Engine::decide_in_tx`] from now on. Only the first call takes effect.
    pub fn set_log(&self, log: Arc<DecisionLog>) {
        let _ = self.log.set(log);
    }

    /// This node's name, if set.
    pub fn node(&self) -> &str {
        self.node.get().map_or("", String::as_str)
    }

    /// How stale (ms) the data may be before decisions are refused.
    pub(crate) fn max_staleness_ms(&self) -> u64 {
        self.max_staleness_ms.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Names this node in the decision log. Only the first call takes effect.
    pub(crate) fn set_node(&self, node: &str) {
        let _ = self.node.set(node.to_string());
    }

    /// Refuses decisions (503) once the store has not confirmed its data
    /// current for longer than `max` (PostgreSQL nodes; SQLite is always current).
    pub(crate) fn set_max_staleness(&self, max: std::time::Duration) {
        let ms = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
        self.max_staleness_ms
            .store(ms, std::sync::atomic::Ordering::Relaxed);
    }

    /// Fails when the data this node holds is older than it may answer from.
    pub(crate) fn fresh_enough(&self) -> Result<(), DecideError> {
        let max = self.max_staleness_ms.load(std::sync::atomic::Ordering::Relaxed);
        let staleness_ms = self.store.staleness_ms();
        if staleness_ms > max {
            return Err(DecideError::Stale(format!(
                "this node has not heard from the database for {:.1} s (more than the {:.1} s it may answer from cached data); try another node or retry shortly",
                staleness_ms as f64 / 1000.0,
                max as f64 / 1000.0
            )));
        }
        Ok(())
    }

    /// The decision log, if one is set.
    pub fn log(&self) -> Option<&Arc<DecisionLog>> {
        self.log.get()
    }

    fn record(&self, source: &'static str, q: &Query, d: &Decision, now: i64, started: std::time::Instant) {
        let result = if !d.errors.is_empty() {
            "error"
        } else if d.allowed {
            "allow"
        } else {
            "deny"
        };
        metrics::counter!("turnstile_decisions_total", "result" => result, "source" => source).increment(1);
        let Some(log) = self.log.get() else { return };
        log.record(Entry {
            decision_id: d.id.clone(),
            time: crate::time::format(now),
            source: source.to_string(),
            request: q.to_json(),
            decision: d.allowed,
            reasons: d.reasons.clone(),
            errors: d.errors.clone(),
            unknown: d.unknown.clone(),
            policy_revision: d.policy_revision.clone(),
            data_revision: d.data_revision,
            node: self.node.get().cloned().unwrap_or_default(),
            backend: self.store.location().backend().to_string(),
            latency_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        });
    }

    /// The serving pack.
    pub fn pack(&self) -> Arc<PolicyPack> {
        self.pack.load_full()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The slicer (search reads its candidates' scope through it).
    pub(crate) fn slicer(&self) -> &Slicer {
        &self.slicer
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Serves `pack` from now on, if the ledger can serve it; otherwise keeps the
    /// current one and returns the problems.
    pub(crate) fn swap(&self, pack: PolicyPack) -> Result<Arc<PolicyPack>, PackError> {
        crate::contract::check_types(&pack)?;
        let pack = Arc::new(pack);
        self.pack.store(pack.clone());
        self.slicer.clear();
        self.notices.clear();
        Ok(pack)
    }

    /// Decides `q` on committed data, now. Blocking (reads SQLite on a cache miss).
    pub fn decide(&self, q: &Query) -> Result<Decision, DecideError> {
        self.decide_from(q, Source::Store(&self.store))
    }

    /// Decides `q` from cached entities alone, or returns `None` when the
    /// database is needed: a cheap decision can then run on an async worker.
    pub(crate) fn decide_in_memory(&self, q: &Query) -> Option<Result<Decision, DecideError>> {
        match self.decide_from(q, Source::Memory(&self.store)) {
            Err(DecideError::NeedsIo) => None,
            other => Some(other),
        }
    }

    fn decide_from(&self, q: &Query, source: Source<'_>) -> Result<Decision, DecideError> {
        let started = std::time::Instant::now();
        self.fresh_enough()?;
        let pack = self.pack.load();
        let now = self.clock.now();
        let d = self.decide_with(&pack, source, now, q)?;
        self.record("authzen", q, &d, now, started);
        Ok(d)
    }

    /// Decides `q` inside a write transaction, on the rows as the transaction
    /// sees them: a ledger change and its policy check are one transaction.
    pub(crate) fn decide_in_tx(
        &self,
        conn: &dyn crate::store::Conn,
        now: i64,
        q: &Query,
    ) -> Result<Decision, DecideError> {
        let started = std::time::Instant::now();
        let pack = self.pack.load();
        let d = self.decide_with(&pack, Source::Conn(conn), now, q)?;
        self.record("ledger", q, &d, now, started);
        Ok(d)
    }

    /// Decides `q` with a given pack, source and time (replay, explain, tests).
    pub(crate) fn decide_with(
        &self,
        pack: &PolicyPack,
        source: Source<'_>,
        now: i64,
        q: &Query,
    ) -> Result<Decision, DecideError> {
        let cached = matches!(source, Source::Store(_) | Source::Memory(_));
        let data_revision = self.store.data_revision();
        let prepared = match self.prepare(pack, source, now, q)? {
            Prepared::Unknown(mut d) => {
                d.data_revision = data_revision;
                return Ok(*d);
            }
            Prepared::Ready(p) => p,
        };
        let mut d = self.evaluate(pack, &prepared);
        d.data_revision = data_revision;
        if let Some(tenant) = &prepared.tenant {
            d.notices = self.notices_for(pack, &prepared, tenant, now, cached);
        }
        Ok(d)
    }

    /// Everything up to asking Cedar: the slice, the context, the request.
    pub fn prepare(
        &self,
        pack: &PolicyPack,
        source: Source<'_>,
        now: i64,
        q: &Query,
    ) -> Result<Prepared, DecideError> {
        let mut d = Decision::deny(pack);
        let Some((action_info, action)) = known_action(pack, q, &mut d) else {
            return Ok(Prepared::Unknown(Box::new(d)));
        };
        let principal = pack.entity_uid(&q.subject.ty, &q.subject.id).ok_or_else(|| {
            DecideError::BadInput(format!("`{}` is not a valid entity type name", q.subject.ty))
        })?;
        let resource = pack.entity_uid(&q.resource.ty, &q.resource.id).ok_or_else(|| {
            DecideError::BadInput(format!("`{}` is not a valid entity type name", q.resource.ty))
        })?;

        let subject_props = request_properties(pack, &q.subject, "subject.properties")?;
        let resource_props = request_properties(pack, &q.resource, "resource.properties")?;
        let mut ctx = caller_context(action_info, q)?;

        // The slice: reused whole when this triple was sliced before and
        // nothing in it changed; else roots first.
        let reusable = subject_props.is_none()
            && resource_props.is_none()
            && matches!(source, Source::Store(_) | Source::Memory(_));
        let key = reusable.then(|| (principal.clone(), action.clone(), resource.clone()));
        let hit = key.as_ref().and_then(|k| self.slicer.cached_slice(k, now));
        let mut slice = self.slicer.begin(pack, source, now);
        let (p, r) = match &hit {
            Some(h) => (h.principal.clone(), h.resource.clone()),
            None => {
                let p = root(
                    &mut slice,
                    pack,
                    &principal,
                    &q.subject.ty,
                    subject_props.as_ref(),
                    "subject",
                )?;
                let r = root(
                    &mut slice,
                    pack,
                    &resource,
                    &q.resource.ty,
                    resource_props.as_ref(),
                    "resource",
                )?;
                (p, r)
            }
        };
        if p.is_none() {
            d.unknown.push(format!("subject {principal} is unknown"));
        }
        if r.is_none() {
            d.unknown.push(format!("resource {resource} is unknown"));
        }
        if !d.unknown.is_empty() {
            return Ok(Prepared::Unknown(Box::new(d)));
        }

        // The server's facts. With nothing from the caller and nothing else
        // required, the context is built directly from them (no JSON round trip).
        let caller_context = !ctx.is_empty();
        let mut server_facts: Vec<(&'static str, Fact)> = Vec::with_capacity(2);
        if let Some(attr) = action_info.context.attrs.get("now") {
            server_facts.push((
                "now",
                match &attr.ty {
                    Ty::Extension(e) if e == "datetime" => Fact::Datetime(crate::time::format(now)),
                    _ => Fact::Long(now),
                },
            ));
            let v = match &attr.ty {
                Ty::Extension(e) if e == "datetime" => {
                    serde_json::json!({"__extn": {"fn": "datetime", "arg": crate::time::format(now)}})
                }
                _ => Value::from(now),
            };
            ctx.insert("now".into(), v);
        }
        let mut tenant = None;
        if let Some(attr) = action_info.context.attrs.get("tenant") {
            ctx.remove("tenant");
            if let Ty::Entity(tenant_type) = &attr.ty {
                let id = p
                    .as_ref()
                    .and_then(|c| c.tenant.clone())
                    .or_else(|| r.as_ref().and_then(|c| c.tenant.clone()));
                if let Some(id) = id
                    && let Some(uid) = pack.entity_uid(tenant_type, &id)
                {
                    let cached = match &hit {
                        Some(h) => h.tenant.clone(),
                        None => slice.root(&uid)?,
                    };
                    server_facts.push(("tenant", Fact::Entity(uid.clone())));
                    ctx.insert(
                        "tenant".into(),
                        serde_json::json!({"__entity": {"type": tenant_type, "id": id}}),
                    );
                    tenant = cached.map(|c| TenantRef { uid, id, cached: c });
                }
                if tenant.is_none() && attr.required {
                    d.unknown.push("the request concerns no known tenant".into());
                    return Ok(Prepared::Unknown(Box::new(d)));
                }
            }
        }
        let only_server_facts = !caller_context
            && action_info
                .context
                .attrs
                .iter()
                .all(|(k, a)| !a.required || server_facts.iter().any(|(f, _)| f == k));
        let context = if only_server_facts {
            facts_context(server_facts)?
        } else {
            Context::from_json_value(Value::Object(ctx.clone()), Some((&pack.schema, &action)))
                .map_err(|e| DecideError::BadInput(format!("context: {e}")))?
        };
        let entities = match hit {
            Some(h) => h.entities.clone(),
            None => slice.finish_and_remember(
                pack.action_entity(&action),
                key,
                p.clone(),
                r.clone(),
                tenant.as_ref().map(|t| t.cached.clone()),
            )?,
        };
        let request = Request::new(principal.clone(), action.clone(), resource.clone(), context, None)
            .map_err(|e| DecideError::BadInput(e.to_string()))?;
        Ok(Prepared::Ready(Box::new(PreparedRequest {
            request,
            principal_type: q.subject.ty.clone(),
            resource_type: q.resource.ty.clone(),
            entities,
            principal,
            action,
            resource,
            context_json: ctx,
            tenant,
        })))
    }

    /// Asks Cedar.
    pub fn evaluate(&self, pack: &PolicyPack, p: &PreparedRequest) -> Decision {
        let mut d = Decision::deny(pack);
        d.tenant = p.tenant.as_ref().map(|t| t.id.clone());
        let Some(policies) = pack.policies_for_request(&p.action, &p.principal_type, &p.resource_type) else {
            return d;
        };
        let response = self.authorizer.is_authorized(&p.request, policies, &p.entities);
        let mut reasons: Vec<String> = response
            .diagnostics()
            .reason()
            .map(|id| AsRef::<str>::as_ref(id).to_string())
            .collect();
        reasons.sort();
        let mut errors: Vec<String> = response.diagnostics().errors().map(|e| e.to_string()).collect();
        errors.sort();
        d.allowed = response.decision() == CedarDecision::Allow && errors.is_empty();
        if !d.allowed
            && let Some((_, meta)) = pack.message_of(&reasons)
        {
            d.message = Some(meta.messages.clone());
            d.code = meta.code.clone();
        }
        d.reasons = reasons;
        d.errors = errors;
        d
    }

    /// The notices the tenant of `p` sees at `now` (for explain, uncached).
    pub(crate) fn notices_of(&self, pack: &PolicyPack, p: &PreparedRequest, now: i64) -> Vec<Notice> {
        match &p.tenant {
            Some(t) => self.notices_for(pack, p, t, now, false),
            None => Vec::new(),
        }
    }

    fn notices_for(
        &self,
        pack: &PolicyPack,
        p: &PreparedRequest,
        tenant: &TenantRef,
        now: i64,
        cached: bool,
    ) -> Vec<Notice> {
        if pack.notices.is_empty() {
            return Vec::new();
        }
        let times = self.rule_times(pack, p, tenant, now, cached);
        notice::shown(pack, &times, now)
    }

    fn rule_times(
        &self,
        pack: &PolicyPack,
        p: &PreparedRequest,
        tenant: &TenantRef,
        now: i64,
        cached: bool,
    ) -> Vec<RuleTimes> {
        let probe = || Probe {
            entities: &p.entities,
            principal: p.principal.clone(),
            action: p.action.clone(),
            resource: p.resource.clone(),
            context: p.context_json.clone(),
        };
        let freshness = cached.then(|| Freshness {
            generation: tenant.cached.generation().clone(),
            built_at: tenant.cached.built_at(),
            valid_until: tenant.cached.valid_until(),
        });
        self.notices.times(pack, &tenant.id, probe, now, freshness)
    }
}

/// The action of `q` and what the schema says of it, when the schema declares
/// it and its subject and resource types; else `None`, with why in `d.unknown`.
fn known_action<'p>(
    pack: &'p PolicyPack,
    q: &Query,
    d: &mut Decision,
) -> Option<(&'p crate::policy::schema_info::ActionInfo, EntityUid)> {
    let Some(action_info) = pack.info.action(&q.action.name).filter(|a| !a.is_group) else {
        d.unknown
            .push(format!("action `{}` is not in the schema", q.action.name));
        return None;
    };
    let Some(action) = pack.action_uid(&q.action.name) else {
        d.unknown
            .push(format!("action `{}` is not a valid action name", q.action.name));
        return None;
    };
    for (role, t, allowed) in [
        ("subject", &q.subject, &action_info.principals),
        ("resource", &q.resource, &action_info.resources),
    ] {
        if !allowed.contains(&t.ty) {
            d.unknown.push(format!(
                "`{}` is not a {role} type of action `{}`",
                t.ty, q.action.name
            ));
        }
    }
    d.unknown.is_empty().then_some((action_info, action))
}

/// A request's properties for one entity: what the schema declares, of the
/// right types, and none that would set a fact the ledger owns. None at all
/// (or none the schema declares) is the same as no properties.
fn request_properties(
    pack: &PolicyPack,
    t: &Target,
    path: &str,
) -> Result<Option<Map<String, Value>>, DecideError> {
    let Some(p) = &t.properties else { return Ok(None) };
    let attrs = pack
        .info
        .entity(&t.ty)
        .map(|e| e.attrs.clone())
        .unwrap_or_default();
    let kept = filter_record(&attrs, p, path).map_err(DecideError::BadInput)?;
    if pack.property_mode(&t.ty) == PropertyMode::Ledger
        && let Some(key) = kept.keys().next()
    {
        return Err(DecideError::BadInput(format!(
            "`{path}.{key}` is a fact the licence ledger owns for `{}`: a request cannot set it",
            t.ty
        )));
    }
    Ok((!kept.is_empty()).then_some(kept))
}

/// The context the caller gave, as the action's schema declares it, with
/// the action's properties under `action_properties` when it takes them.
fn caller_context(
    action_info: &crate::policy::schema_info::ActionInfo,
    q: &Query,
) -> Result<Map<String, Value>, DecideError> {
    let mut ctx = match &q.context {
        Some(c) => filter_record(&action_info.context, c, "context").map_err(DecideError::BadInput)?,
        None => Map::new(),
    };
    if let (Some(ap), Some(attr)) = (
        &q.action.properties,
        action_info.context.attrs.get("action_properties"),
    ) && let Ty::Record(record) = &attr.ty
    {
        let v = filter_record(record, ap, "action.properties").map_err(DecideError::BadInput)?;
        ctx.insert("action_properties".into(), Value::Object(v));
    }
    Ok(ctx)
}
