//! search: AuthZEN subject, resource and action search, answered by deciding.
//!
//! A search names an input (the subject, the resource, or both) and asks which
//! stored entities of a type, or which of the schema's actions, the same
//! evaluation would allow. Candidates come from the store a page at a time, in
//! id order after a keyset cursor, so pages stay consistent while the ledger
//! changes; each candidate is decided exactly as `POST /access/v1/evaluation`
//! would decide it (same slices, caches, properties and context), and the
//! allowed ones are the results. This module decides nothing itself.
//!
//! The ledger keeps each tenant's entities apart: a search for entities of a
//! ledger type looks within the input entity's tenant (or account), never
//! across the whole ledger. Generic entities (other packs) are paged over their
//! whole type. Either way one request examines at most [`MAX_EXAMINED`]
//! candidates, and says where to go on with a `next_token`.

use crate::decide::{ActionTarget, DecideError, Engine, Query, Target};
use crate::policy::PolicyPack;
use crate::slice::Source;
use crate::store::candidates::Within;

/// Results per page when the request names no `page.limit`.
pub const DEFAULT_LIMIT: usize = 100;
/// The largest `page.limit` taken.
pub(crate) const MAX_LIMIT: usize = 1000;
/// The most candidates one request evaluates before it answers with what it
/// found and a cursor: bounds the time of a search whose matches are rare.
pub(crate) const MAX_EXAMINED: usize = 5000;
/// Candidates read from the store at a time.
const BATCH: usize = 256;

/// What is searched for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Searched {
    Subject,
    Resource,
    Action,
}

/// One search: the query as an evaluation would carry it (the searched
/// entity's id, or the action's name, is ignored), and where the page starts.
#[derive(Debug, Clone)]
pub struct Search {
    pub searched: Searched,
    pub query: Query,
    pub limit: usize,
    /// The last id (or action name) of the previous page.
    pub after: Option<String>,
}

/// One page of results.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    /// Entity ids (of the searched type) or action names, in order.
    pub results: Vec<String>,
    /// Where the next page starts, if there may be more.
    pub next: Option<String>,
    /// How many candidates were decided for this page.
    pub examined: usize,
}

impl Engine {
    /// Answers one page of `s`, deciding each candidate on committed data now.
    /// Blocking (reads the store).
    pub fn search(&self, s: &Search) -> Result<Page, DecideError> {
        let started = std::time::Instant::now();
        self.fresh_enough()?;
        let pack = self.pack();
        let now = self.clock().now();
        let page = match s.searched {
            Searched::Action => self.search_actions(&pack, now, s),
            Searched::Subject | Searched::Resource => self.search_entities(&pack, now, s),
        }?;
        let kind = match s.searched {
            Searched::Subject => "subject",
            Searched::Resource => "resource",
            Searched::Action => "action",
        };
        metrics::counter!("turnstile_searches_total", "searched" => kind).increment(1);
        metrics::histogram!("turnstile_search_seconds", "searched" => kind)
            .record(started.elapsed().as_secs_f64());
        Ok(page)
    }

    fn allows(&self, pack: &PolicyPack, now: i64, q: &Query) -> Result<bool, DecideError> {
        Ok(self
            .decide_with(pack, Source::Store(self.store()), now, q)?
            .allowed)
    }

    /// Where an input entity stands, in one lookup: stored (in a tenant, an
    /// account or neither), described by the request's properties alone, or
    /// unknown. An id the store does not hold, sent without properties, finds
    /// nothing (AuthZEN search, c-4-6-1), though an evaluation would take it as
    /// an entity without attributes.
    fn input_scope(&self, pack: &PolicyPack, now: i64, t: &Target) -> Result<Scope, DecideError> {
        let Some(uid) = pack.entity_uid(&t.ty, &t.id) else {
            return Ok(Scope::Unknown);
        };
        let ledger = pack.ledger_types.contains(&t.ty);
        let mut slice = self.slicer().begin(pack, Source::Store(self.store()), now);
        Ok(match slice.root(&uid)? {
            Some(_) if ledger && t.ty == "Account" => Scope::Account(t.id.clone()),
            Some(found) => found.tenant.clone().map_or(Scope::All, Scope::Tenant),
            None if t.properties.as_ref().is_some_and(|p| !p.is_empty()) => {
                if ledger {
                    Scope::Described
                } else {
                    Scope::All
                }
            }
            None => Scope::Unknown,
        })
    }

    fn search_actions(&self, pack: &PolicyPack, now: i64, s: &Search) -> Result<Page, DecideError> {
        let q = &s.query;
        for input in [&q.subject, &q.resource] {
            if matches!(self.input_scope(pack, now, input)?, Scope::Unknown) {
                return Ok(Page::default());
            }
        }
        let after = s.after.as_deref().unwrap_or("");
        let mut names: Vec<&String> = pack
            .info
            .actions
            .iter()
            .filter(|(name, a)| {
                !a.is_group
                    && name.as_str() > after
                    && a.principals.contains(&q.subject.ty)
                    && a.resources.contains(&q.resource.ty)
            })
            .map(|(name, _)| name)
            .collect();
        names.sort();
        let mut page = Page::default();
        for name in names {
            if page.results.len() == s.limit {
                page.next = page.results.last().cloned();
                break;
            }
            let mut one = q.clone();
            one.action = ActionTarget {
                name: name.clone(),
                properties: None,
            };
            page.examined += 1;
            if self.allows(pack, now, &one)? {
                page.results.push(name.clone());
            }
        }
        Ok(page)
    }

    fn search_entities(&self, pack: &PolicyPack, now: i64, s: &Search) -> Result<Page, DecideError> {
        let q = &s.query;
        let (searched, input) = match s.searched {
            Searched::Subject => (&q.subject, &q.resource),
            _ => (&q.resource, &q.subject),
        };
        let mut page = Page::default();
        // A type or action the schema does not know: nothing matches.
        let Some(action) = pack.info.action(&q.action.name).filter(|a| !a.is_group) else {
            return Ok(page);
        };
        let (searched_types, input_types) = match s.searched {
            Searched::Subject => (&action.principals, &action.resources),
            _ => (&action.resources, &action.principals),
        };
        if !searched_types.contains(&searched.ty) || !input_types.contains(&input.ty) {
            return Ok(page);
        }
        let ledger = pack.ledger_types.contains(&searched.ty);
        // Where to look: the input entity's tenant (or account) for ledger
        // types; the whole type for the others.
        let scope = self.input_scope(pack, now, input)?;
        let within = match (&scope, ledger) {
            (Scope::Unknown, _) | (Scope::Described, true) => return Ok(page),
            (_, false) | (Scope::All, true) => Within::All,
            (Scope::Tenant(t), true) => Within::Tenant(t),
            (Scope::Account(a), true) => Within::Account(a),
        };
        let mut after = s.after.clone().unwrap_or_default();
        let reader = self.store().reader()?;
        loop {
            let batch = reader.candidates(&searched.ty, ledger, within, &after, BATCH)?;
            let exhausted = batch.len() < BATCH;
            for id in batch {
                if page.results.len() == s.limit || page.examined == MAX_EXAMINED {
                    page.next = Some(after);
                    return Ok(page);
                }
                let mut one = q.clone();
                let target = Target {
                    ty: searched.ty.clone(),
                    id: id.clone(),
                    properties: searched.properties.clone(),
                };
                match s.searched {
                    Searched::Subject => one.subject = target,
                    _ => one.resource = target,
                }
                page.examined += 1;
                if self.allows(pack, now, &one)? {
                    page.results.push(id.clone());
                }
                after = id;
            }
            if exhausted {
                return Ok(page);
            }
        }
    }
}

enum Scope {
    Unknown,
    /// Not stored: a ledger entity only described by the request (no tenant).
    Described,
    All,
    Tenant(String),
    Account(String),
}
