//! policy: load, validate (strict and at the slicer's entity level), index and
//! describe a Cedar policy pack.
//!
//! A pack is a directory holding `schema.cedarschema` and `*.cedar` files. It is
//! parsed and validated as a whole before it may serve: any error refuses the whole
//! pack, listing every problem with its file, line and column. This module never
//! touches the database and never decides a request.

pub mod fmt;
mod load;
pub mod messages;
pub mod schema_info;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cedar_policy::{Effect, EntityUid, Expression, PolicySet, Schema};

pub use load::{PackError, Problem, SourceFile};
pub use messages::Messages;
pub use schema_info::SchemaInfo;

/// The deepest entity level the slicer will load (`principal.a.b.c` is level 3).
pub(crate) const MAX_LEVEL: u32 = 4;

/// The name of the schema file in a pack directory.
pub const SCHEMA_FILE: &str = "schema.cedarschema";

/// The pack's message catalogue (optional): messages by refusal code, for
/// policies that name a `@code` and carry no `@message_*` of their own.
pub const MESSAGES_FILE: &str = "messages.yaml";

/// A validated policy pack, ready to serve. Immutable: a reload builds a new one.
#[derive(Debug, Clone)]
pub struct PolicyPack {
    /// Where the pack was read from.
    pub dir: PathBuf,
    /// A hash of the schema and every policy file: names a policy set in logs and answers.
    pub revision: String,
    /// The schema, for building requests, contexts and entities.
    pub schema: Schema,
    /// Attribute and context types, read from the schema, for request properties.
    pub info: SchemaInfo,
    /// Every policy, with its `@id` as policy id.
    pub policies: PolicySet,
    /// The policies that can apply to each action: Cedar pays for every policy in
    /// the set it is given, even those whose scope does not match.
    by_action: HashMap<EntityUid, PolicySet>,
    /// Narrower: per action, principal type and resource type, the policies
    /// whose scope can match those types.
    by_request: HashMap<EntityUid, HashMap<String, HashMap<String, PolicySet>>>,
    /// Per policy id: where it is written and what it says to people.
    pub meta: BTreeMap<String, PolicyMeta>,
    /// The pack's message catalogue (`messages.yaml`): texts by code, for
    /// policies without messages of their own and for the ledger's errors.
    pub catalogue: BTreeMap<String, Messages>,
    /// Policies that announce themselves ahead of time (`@notice`).
    pub notices: Vec<NoticeRule>,
    /// The entity level the pack validates at: how deep the slicer loads.
    pub level: u32,
    /// Action entities with every ancestor group as a direct parent, built
    /// once and shared by every slice.
    action_entities: HashMap<EntityUid, Arc<cedar_policy_core::ast::Entity>>,
    /// Entity types built by the licence ledger (`@source("ledger")` in the schema).
    pub ledger_types: BTreeSet<String>,
    /// Per entity type, what request `properties` may do to it (see [`PropertyMode`]).
    pub property_modes: BTreeMap<String, PropertyMode>,
    /// The files the pack was read from (schema first).
    pub files: Vec<SourceFile>,
    /// Non-fatal findings of the validator.
    pub warnings: Vec<Problem>,
    /// Parsed entity type names by name (parsing one costs microseconds).
    type_names: HashMap<String, cedar_policy::EntityTypeName>,
    /// Action uids by the name a request gives.
    action_uids: HashMap<String, EntityUid>,
}

/// What a policy's annotations say, and where the policy is written.
#[derive(Debug, Clone)]
pub struct PolicyMeta {
    pub id: String,
    pub effect: Effect,
    /// File name relative to the pack directory.
    pub file: String,
    /// 1-based line of the policy's first annotation.
    pub line: usize,
    pub description: Option<String>,
    /// Machine-readable refusal code (`@code`), used by the ledger's 403 answers.
    pub code: Option<String>,
    /// `@message_<lang>` annotations: what a deny by this policy tells people.
    pub messages: Messages,
    /// The action constraint, for explain: which actions this policy can apply to.
    pub actions: Vec<EntityUid>,
}

/// What a request's `properties` may do to an entity of one type, set per type
/// in the schema with `@properties("overlay")` or `@properties("add")`.
///
/// A pack's facts are either the caller's to state or the store's to keep. The
/// licensing pack's types are built by the ledger (`@source("ledger")`): every
/// attribute its schema declares for them is a fact the ledger owns, which no
/// request may set ([`PropertyMode::Ledger`]). Imported packs keep AuthZEN's
/// overlay by default, and may mark a type `add` to protect what is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyMode {
    /// The request's properties win over the stored attributes for one
    /// decision; an unstored entity is built from them (the AuthZEN default).
    Overlay,
    /// The request may add attributes the stored entity lacks, never replace
    /// one it holds; an unstored entity is built from them.
    Add,
    /// The ledger owns every declared attribute and every entity of the type:
    /// a request setting one is refused, and an unstored entity is unknown.
    Ledger,
}

impl PropertyMode {
    /// How the schema names it.
    pub fn name(self) -> &'static str {
        match self {
            PropertyMode::Overlay => "overlay",
            PropertyMode::Add => "add",
            PropertyMode::Ledger => "ledger",
        }
    }
}

/// A forbid policy that warns before it applies.
///
/// Its first `when` clause says the warning is due ("the tenant is in trial"); the
/// whole policy says the forbid applies ("the trial is over"). While the first holds
/// and the whole does not, people see the notice, counting the days until it applies.
#[derive(Debug, Clone)]
pub struct NoticeRule {
    pub policy_id: String,
    /// The notice kind (`@notice("trial")`).
    pub kind: String,
    /// The first clause alone.
    pub armed: Expression,
    /// Every clause together: the policy's whole condition.
    pub applies: Expression,
    /// `@notice_<lang>` templates; `{days_left}` and `{days_left|day|days}` are filled in.
    pub templates: Messages,
}

impl PolicyPack {
    /// Reads and validates the pack in `dir`.
    pub fn load(dir: &Path) -> Result<Self, PackError> {
        let files = load::read_dir(dir)?;
        Self::from_files(dir, files)
    }

    /// Validates a pack from files already read (the schema must be among them).
    pub fn from_files(dir: &Path, files: Vec<SourceFile>) -> Result<Self, PackError> {
        load::build(dir, files)
    }

    /// The policies that can apply to `action`, or `None` for an action the schema
    /// does not declare.
    pub(crate) fn policies_for(&self, action: &EntityUid) -> Option<&PolicySet> {
        self.by_action.get(action)
    }

    /// The policies that can apply to `action` with a principal of type
    /// `principal` and a resource of type `resource`.
    pub(crate) fn policies_for_request(
        &self,
        action: &EntityUid,
        principal: &str,
        resource: &str,
    ) -> Option<&PolicySet> {
        self.by_request
            .get(action)
            .and_then(|by_p| by_p.get(principal))
            .and_then(|by_r| by_r.get(resource))
            .or_else(|| self.by_action.get(action))
    }

    /// The action entity, with its groups as parents, for `action`.
    pub(crate) fn action_entity(&self, action: &EntityUid) -> Option<&Arc<cedar_policy_core::ast::Entity>> {
        self.action_entities.get(action)
    }

    /// Every action a request may name (groups excluded), sorted.
    pub fn actions(&self) -> Vec<&EntityUid> {
        let mut actions: Vec<_> = self.by_action.keys().collect();
        actions.sort_by_key(|a| a.to_string());
        actions
    }

    /// The message of the first policy among `ids` that carries one.
    pub(crate) fn message_of<'a>(&'a self, ids: &'a [String]) -> Option<(&'a str, &'a PolicyMeta)> {
        ids.iter().find_map(|id| {
            let meta = self.meta.get(id)?;
            (!meta.messages.is_empty()).then_some((id.as_str(), meta))
        })
    }

    /// `Type::"id"` for an entity type the schema declares (others are parsed).
    pub fn entity_uid(&self, ty: &str, id: &str) -> Option<EntityUid> {
        let name = match self.type_names.get(ty) {
            Some(n) => n.clone(),
            None => ty.parse().ok()?,
        };
        Some(EntityUid::from_type_name_and_id(
            name,
            cedar_policy::EntityId::new(id),
        ))
    }

    /// The uid of the action a request names (`read`, or `Ns::read`).
    pub fn action_uid(&self, name: &str) -> Option<EntityUid> {
        self.action_uids.get(name).cloned()
    }

    /// What request properties may do to an entity of type `ty`.
    pub(crate) fn property_mode(&self, ty: &str) -> PropertyMode {
        self.property_modes
            .get(ty)
            .copied()
            .unwrap_or(PropertyMode::Overlay)
    }

    /// The notice rule of the given kind, if the pack has one.
    pub fn notice(&self, kind: &str) -> Option<&NoticeRule> {
        self.notices.iter().find(|n| n.kind == kind)
    }
}

#[cfg(test)]
mod tests;
