//! slice: the entities one decision needs, and nothing more.
//!
//! From the request's principal, resource and context entities, the slicer
//! loads each entity, every ancestor (for `in`), and the entities their
//! attributes point to, as deep as the pack's validated entity level requires.
//! Never a whole table: a decision costs the same with a thousand entities or a
//! million. Built entities are cached and dropped as soon as a committed write
//! touches their tenant (or a subscription starts or ends).

use std::collections::VecDeque;
use std::sync::Arc;

use cedar_policy::{Entities, Entity, EntityUid, EvalResult};
use cedar_policy_core::ast::Entity as CoreEntity;
use cedar_policy_core::entities::{Entities as CoreEntities, NoEntitiesSchema, TCComputation};
use cedar_policy_core::extensions::Extensions;
use serde_json::{Map, Value};

use crate::policy::{PolicyPack, PropertyMode};
use crate::store::{Conn, Reader, Store, StoreError, scope};

/// How many built entities the cache keeps.
pub const DEFAULT_CACHE_CAPACITY: usize = 10_000;

/// A built entity and what the slicer needs to know about it.
#[derive(Debug)]
pub struct CachedEntity {
    /// The entity, shared with every slice that holds it (never copied).
    shared: Arc<CoreEntity>,
    /// Whether its parents are its whole ancestry (true of everything the
    /// ledger builds): a slice of such entities needs no transitive closure.
    closed: bool,
    /// Direct parents.
    pub parents: Vec<EntityUid>,
    /// Entities its attributes point to (outside sets, which cannot be dereferenced).
    pub refs: Vec<EntityUid>,
    /// The tenant it belongs to, for ledger entities.
    pub tenant: Option<String>,
    scope: String,
    /// The counter cell of `scope`, checked with one atomic load.
    generation: Arc<std::sync::atomic::AtomicU64>,
    /// The change counter read before the rows were read.
    built_at: u64,
    /// The time range over which its facts hold.
    valid_from: i64,
    valid_until: Option<i64>,
}

impl CachedEntity {
    /// Until when this entity's facts hold without any write.
    pub(crate) fn valid_until(&self) -> Option<i64> {
        self.valid_until
    }

    /// The change scope whose writes make it stale.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// The change counter read before its rows were read.
    pub(crate) fn built_at(&self) -> u64 {
        self.built_at
    }

    /// The counter cell of its scope.
    pub fn generation(&self) -> &Arc<std::sync::atomic::AtomicU64> {
        &self.generation
    }

    /// Whether nothing changed its scope since it was built, and `now` is
    /// within the time its facts hold.
    pub(crate) fn fresh_at(&self, now: i64) -> bool {
        self.generation.load(std::sync::atomic::Ordering::SeqCst) <= self.built_at
            && now >= self.valid_from
            && self.valid_until.is_none_or(|u| now < u)
    }

    /// Whether the entity holds attribute `name`.
    pub(crate) fn has_attr(&self, name: &str) -> bool {
        self.shared.get(name).is_some()
    }

    /// The entity, as the Cedar API sees it (a copy).
    pub fn entity(&self) -> Entity {
        Entity::from(CoreEntity::clone(&self.shared))
    }

    /// From an entity read through the Cedar API (generic entities, overlays):
    /// its parents and references are read off it.
    fn from_api(entity: Entity, closed: bool, meta: CacheStamp) -> Self {
        let parents: Vec<EntityUid> = entity.clone().into_inner().2.into_iter().collect();
        let refs = attribute_refs(&entity);
        Self::with(
            Arc::new(entity.as_ref().clone()),
            closed || parents.is_empty(),
            parents,
            refs,
            meta,
        )
    }

    /// From an entity the ledger built, whose whole ancestry and references
    /// the ledger knows.
    fn from_ledger(b: crate::facts::LedgerEntity, meta: CacheStamp) -> Self {
        Self::with(Arc::new(b.entity), true, b.ancestors, b.refs, meta)
    }

    fn with(
        shared: Arc<CoreEntity>,
        closed: bool,
        parents: Vec<EntityUid>,
        refs: Vec<EntityUid>,
        m: CacheStamp,
    ) -> Self {
        Self {
            closed,
            shared,
            parents,
            refs,
            tenant: m.tenant,
            scope: m.scope,
            generation: m.generation,
            built_at: m.built_at,
            valid_from: m.now,
            valid_until: m.valid_until,
        }
    }
}

/// What a cache entry records besides the entity.
struct CacheStamp {
    tenant: Option<String>,
    scope: String,
    generation: Arc<std::sync::atomic::AtomicU64>,
    built_at: u64,
    now: i64,
    valid_until: Option<i64>,
}

fn attribute_refs(entity: &Entity) -> Vec<EntityUid> {
    fn walk(v: &EvalResult, out: &mut Vec<EntityUid>) {
        match v {
            EvalResult::EntityUid(uid) => out.push(uid.clone()),
            EvalResult::Record(r) => r.iter().for_each(|(_, v)| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (_, v) in entity.attrs() {
        if let Ok(v) = v {
            walk(&v, &mut out);
        }
    }
    out
}

/// Why a slice could not be built.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SliceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Request properties that Cedar refused for this entity type.
    #[error("{0}")]
    Properties(String),
    /// A [`Source::Memory`] slice needed an entity that is not cached.
    #[error("the slice needs the database")]
    NeedsIo,
}

/// Where entities are read from.
pub enum Source<'a> {
    /// Committed data, through the cache.
    Store(&'a Store),
    /// Committed data from the cache alone: fails with [`SliceError::NeedsIo`]
    /// rather than touch the database, so a decision can run on an async worker.
    Memory(&'a Store),
    /// A write transaction in progress: read through its connection, never
    /// cached, so a ledger check sees exactly the rows it is about to change.
    Conn(&'a dyn Conn),
}

/// A slice assembled for one (principal, action, resource), kept to be reused
/// while every entity in it is fresh.
#[derive(Debug)]
pub(crate) struct SliceHit {
    pub entities: Arc<Entities>,
    pub principal: Option<Arc<CachedEntity>>,
    pub resource: Option<Arc<CachedEntity>>,
    /// The context's tenant entity, if the request has one.
    pub tenant: Option<Arc<CachedEntity>>,
    members: Vec<Arc<CachedEntity>>,
}

impl SliceHit {
    fn fresh_at(&self, now: i64) -> bool {
        self.members.iter().all(|m| m.fresh_at(now))
    }
}

/// (principal, action, resource).
pub(crate) type SliceKey = (EntityUid, EntityUid, EntityUid);

/// Builds slices; holds the entity cache and the slice cache.
pub(crate) struct Slicer {
    cache: quick_cache::sync::Cache<EntityUid, Arc<CachedEntity>>,
    /// Assembled slices. They share their entities with the entity cache, but
    /// keep them alive after the entity cache evicts them (`cargo bench --bench
    /// memory`), so there are a quarter as many as entities.
    slices: quick_cache::sync::Cache<SliceKey, Arc<SliceHit>>,
    /// False when built with capacity 0: every entity is read from the database.
    enabled: bool,
}

impl Default for Slicer {
    fn default() -> Self {
        Self::new(DEFAULT_CACHE_CAPACITY)
    }
}

impl Slicer {
    /// A slicer caching up to `capacity` entities (0: no cache at all).
    pub fn new(capacity: usize) -> Self {
        Self {
            cache: quick_cache::sync::Cache::new(capacity.max(16)),
            slices: quick_cache::sync::Cache::new((capacity / 4).max(16)),
            enabled: capacity > 0,
        }
    }

    /// Drops every cached entity and slice (a new policy pack may read them
    /// differently, and needs other entity levels).
    pub fn clear(&self) {
        self.cache.clear();
        self.slices.clear();
    }

    /// How many entities and slices the caches hold now.
    pub fn len(&self) -> (usize, usize) {
        (self.cache.len(), self.slices.len())
    }

    /// The slice cached for `key`, if every entity in it is still fresh at `now`.
    pub(crate) fn cached_slice(&self, key: &SliceKey, now: i64) -> Option<Arc<SliceHit>> {
        if !self.enabled {
            return None;
        }
        self.slices.get(key).filter(|hit| hit.fresh_at(now))
    }

    fn remember(&self, key: SliceKey, hit: Arc<SliceHit>) {
        if self.enabled && hit.members.iter().all(|m| !m.scope.is_empty()) {
            self.slices.insert(key, hit);
        }
    }

    /// Starts a slice for one decision at `now`.
    pub(crate) fn begin<'a>(
        &'a self,
        pack: &'a PolicyPack,
        source: Source<'a>,
        now: i64,
    ) -> SliceBuilder<'a> {
        SliceBuilder {
            slicer: self,
            pack,
            source,
            reader: None,
            now,
            loaded: Vec::with_capacity(8),
            queue: VecDeque::new(),
        }
    }
}

/// A slice being assembled: roots first, then [`SliceBuilder::finish`].
pub(crate) struct SliceBuilder<'a> {
    slicer: &'a Slicer,
    pack: &'a PolicyPack,
    source: Source<'a>,
    reader: Option<Reader<'a>>,
    now: i64,
    /// Entities in the slice so far (`None`: looked up, not stored). A slice
    /// holds a handful of entities: a vector beats a hash map here.
    loaded: Vec<(EntityUid, Option<Arc<CachedEntity>>)>,
    /// Entities still to expand, with their depth (0 for roots).
    queue: VecDeque<(EntityUid, u32)>,
}

impl<'a> SliceBuilder<'a> {
    /// Adds a root entity (depth 0) by its stored state; returns it, or `None`
    /// when it is not stored.
    pub(crate) fn root(&mut self, uid: &EntityUid) -> Result<Option<Arc<CachedEntity>>, SliceError> {
        let found = self.fetch(uid)?;
        self.put(uid, found.clone());
        self.queue.push_back((uid.clone(), 0));
        Ok(found)
    }

    /// Adds a root entity whose attributes are the stored ones (if any) overlaid
    /// with `props` (Cedar entity JSON attributes, already checked against the
    /// schema). An entity stored nowhere is built from `props` alone; if they do
    /// not make a valid entity, it is unknown (`None`).
    ///
    /// `mode` says what the properties may do to a stored entity: replace its
    /// attributes (overlay), only add those it lacks (a property it holds is
    /// refused, named by `path`), or nothing (the ledger owns them: a stored
    /// entity is taken as stored; an unstored one is unknown).
    pub(crate) fn root_with(
        &mut self,
        uid: &EntityUid,
        props: &Map<String, Value>,
        mode: PropertyMode,
        path: &str,
    ) -> Result<Option<Arc<CachedEntity>>, SliceError> {
        if mode == PropertyMode::Ledger {
            return self.root(uid);
        }
        let stored = self.fetch(uid)?;
        if let (PropertyMode::Add, Some(c)) = (mode, &stored)
            && let Some(key) = props.keys().find(|k| c.has_attr(k))
        {
            return Err(SliceError::Properties(format!(
                "`{path}.{key}` is stored for {uid}: this pack lets a request add attributes, not replace them"
            )));
        }
        let (mut json, tenant) = match &stored {
            Some(c) => (
                c.entity()
                    .to_json_value()
                    .map_err(|e| SliceError::Properties(e.to_string()))?,
                c.tenant.clone(),
            ),
            None => (
                serde_json::json!({
                    "uid": {"type": uid.type_name().to_string(), "id": uid.id().unescaped()},
                    "attrs": {},
                    "parents": [],
                }),
                None,
            ),
        };
        if let Some(attrs) = json.get_mut("attrs").and_then(Value::as_object_mut) {
            for (k, v) in props {
                attrs.insert(k.clone(), v.clone());
            }
        }
        let closed = stored.as_ref().is_some_and(|c| c.closed);
        let built = match Entity::from_json_value(json, Some(&self.pack.schema)) {
            Ok(e) => Some(Arc::new(CachedEntity::from_api(
                e,
                closed,
                CacheStamp {
                    tenant,
                    scope: String::new(),
                    generation: Arc::new(std::sync::atomic::AtomicU64::new(0)),
                    built_at: 0,
                    now: self.now,
                    valid_until: None,
                },
            ))),
            Err(e) if stored.is_some() => return Err(SliceError::Properties(e.to_string())),
            Err(_) => None,
        };
        self.put(uid, built.clone());
        self.queue.push_back((uid.clone(), 0));
        Ok(built)
    }

    /// [`SliceBuilder::finish`], remembering the slice under `key` (when it is
    /// made of cached entities) for the next request with the same triple.
    pub(crate) fn finish_and_remember(
        self,
        action: Option<&Arc<CoreEntity>>,
        key: Option<SliceKey>,
        principal: Option<Arc<CachedEntity>>,
        resource: Option<Arc<CachedEntity>>,
        tenant: Option<Arc<CachedEntity>>,
    ) -> Result<Arc<Entities>, SliceError> {
        let slicer = self.slicer;
        let cacheable = matches!(self.source, Source::Store(_) | Source::Memory(_));
        let (entities, members) = self.assemble(action)?;
        let entities = Arc::new(entities);
        if let (Some(key), true) = (key, cacheable) {
            slicer.remember(
                key,
                Arc::new(SliceHit {
                    entities: entities.clone(),
                    principal,
                    resource,
                    tenant,
                    members,
                }),
            );
        }
        Ok(entities)
    }

    fn assemble(
        mut self,
        action: Option<&Arc<CoreEntity>>,
    ) -> Result<(Entities, Vec<Arc<CachedEntity>>), SliceError> {
        let level = self.pack.level;
        while let Some((uid, depth)) = self.queue.pop_front() {
            let Some(Some(cached)) = self.get(&uid).cloned() else {
                continue;
            };
            // Ancestors: needed for `in`; their attributes only as far as depth allows.
            for parent in &cached.parents {
                self.visit(parent, level)?;
            }
            if depth + 1 < level {
                for r in &cached.refs {
                    self.visit(r, depth + 1)?;
                }
            }
        }
        let members: Vec<Arc<CachedEntity>> = self.loaded.into_iter().filter_map(|(_, c)| c).collect();
        let corrupt = |e: &dyn std::fmt::Display| SliceError::Store(StoreError::Corrupt(e.to_string()));
        if members.iter().all(|c| c.closed) {
            // Every entity carries its whole ancestry: share them as they are.
            let shared = members.iter().map(|c| c.shared.clone()).chain(action.cloned());
            let core = CoreEntities::new()
                .add_entities(
                    shared,
                    None::<&NoEntitiesSchema>,
                    TCComputation::AssumeAlreadyComputed,
                    Extensions::all_available(),
                )
                .map_err(|e| corrupt(&e))?;
            return Ok((Entities::from(core), members));
        }
        let action = action.map(|a| Entity::from(a.as_ref().clone()));
        let entities = members.iter().map(|c| c.entity()).chain(action);
        let entities = Entities::from_entities(entities, None).map_err(|e| corrupt(&e))?;
        Ok((entities, members))
    }

    fn visit(&mut self, uid: &EntityUid, depth: u32) -> Result<(), SliceError> {
        if self.get(uid).is_some() {
            return Ok(());
        }
        let found = self.fetch(uid)?;
        self.put(uid, found);
        self.queue.push_back((uid.clone(), depth));
        Ok(())
    }

    fn get(&self, uid: &EntityUid) -> Option<&Option<Arc<CachedEntity>>> {
        self.loaded.iter().find(|(u, _)| u == uid).map(|(_, c)| c)
    }

    fn put(&mut self, uid: &EntityUid, c: Option<Arc<CachedEntity>>) {
        match self.loaded.iter_mut().find(|(u, _)| u == uid) {
            Some(slot) => slot.1 = c,
            None => self.loaded.push((uid.clone(), c)),
        }
    }

    fn conn(&mut self) -> Result<&dyn Conn, SliceError> {
        match self.source {
            Source::Conn(c) => Ok(c),
            Source::Memory(_) => Err(SliceError::NeedsIo),
            Source::Store(store) => {
                if self.reader.is_none() {
                    self.reader = Some(store.reader()?);
                }
                match &self.reader {
                    Some(r) => Ok(&**r),
                    None => Err(SliceError::Store(StoreError::Closed)),
                }
            }
        }
    }

    /// One entity, from the cache when it is still valid, else built.
    fn fetch(&mut self, uid: &EntityUid) -> Result<Option<Arc<CachedEntity>>, SliceError> {
        let now = self.now;
        let store = match self.source {
            Source::Store(s) | Source::Memory(s) if self.slicer.enabled => Some(s),
            Source::Store(_) | Source::Memory(_) | Source::Conn(_) => None,
        };
        if store.is_some()
            && let Some(c) = self.slicer.cache.get(uid)
            && c.fresh_at(now)
        {
            return Ok(Some(c));
        }
        let load_started = std::time::Instant::now();
        let generations = match self.source {
            Source::Store(s) | Source::Memory(s) => Some(s.generations()),
            Source::Conn(_) => None,
        };
        let built_at = generations.map_or(0, |g| g.current());
        let cell = |scope: &str| match generations {
            Some(g) => g.cell(scope),
            None => Arc::new(std::sync::atomic::AtomicU64::new(0)),
        };
        let ty = uid.type_name().to_string();
        let pack = self.pack;
        let conn = self.conn()?;
        let built = if pack.ledger_types.contains(&ty) {
            crate::facts::load(conn, &ty, uid.id().unescaped(), now)?.map(|mut b| {
                let meta = CacheStamp {
                    tenant: b.tenant.take(),
                    generation: cell(&b.scope),
                    scope: std::mem::take(&mut b.scope),
                    built_at,
                    now,
                    valid_until: b.valid_until,
                };
                CachedEntity::from_ledger(b, meta)
            })
        } else {
            match conn.entity_json(&ty, uid.id().unescaped())? {
                Some(json) => match Entity::from_json_str(&json, Some(&pack.schema)) {
                    Ok(e) => Some(CachedEntity::from_api(
                        e,
                        false,
                        CacheStamp {
                            tenant: None,
                            scope: scope::GENERIC.into(),
                            generation: cell(scope::GENERIC),
                            built_at,
                            now,
                            valid_until: None,
                        },
                    )),
                    // Stored under an older schema and no longer valid: unknown.
                    Err(_) => None,
                },
                None => None,
            }
        };
        metrics::counter!("turnstile_entity_loads_total", "from" => "database").increment(1);
        metrics::histogram!("turnstile_entity_load_seconds").record(load_started.elapsed().as_secs_f64());
        let built = built.map(Arc::new);
        if let (Some(b), Some(_)) = (&built, store) {
            self.slicer.cache.insert(uid.clone(), b.clone());
        }
        Ok(built)
    }
}
