//! The nouns of a decision: what is asked (a [`Query`] of [`Target`]s and an
//! action), what is answered ([`Decision`]) and why an answer could not be
//! given ([`DecideError`]).

use serde_json::{Map, Value};

use crate::notice::Notice;
use crate::policy::{Messages, PolicyPack};
use crate::slice::SliceError;
use crate::store::StoreError;

/// One entity of a request: Cedar type name, id, and optional properties that
/// overlay its stored attributes for this decision only.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub ty: String,
    pub id: String,
    pub properties: Option<Map<String, Value>>,
}

impl Target {
    pub fn new(ty: impl Into<String>, id: impl Into<String>) -> Self {
        Self {
            ty: ty.into(),
            id: id.into(),
            properties: None,
        }
    }
}

/// The action of a request; its properties reach policies as
/// `context.action_properties` when the schema declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionTarget {
    pub name: String,
    pub properties: Option<Map<String, Value>>,
}

/// One decision request, as AuthZEN phrases it.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub subject: Target,
    pub action: ActionTarget,
    pub resource: Target,
    pub context: Option<Map<String, Value>>,
}

impl Query {
    /// A request without properties or context.
    pub fn new(subject: Target, action: impl Into<String>, resource: Target) -> Self {
        Self {
            subject,
            action: ActionTarget {
                name: action.into(),
                properties: None,
            },
            resource,
            context: None,
        }
    }

    /// Adds a context key.
    pub fn with_context(mut self, key: &str, value: Value) -> Self {
        self.context
            .get_or_insert_with(Map::new)
            .insert(key.to_string(), value);
        self
    }

    /// The request as an AuthZEN evaluation request.
    pub fn to_json(&self) -> Value {
        let target = |t: &Target| {
            let mut v = serde_json::json!({"type": t.ty, "id": t.id});
            if let Some(p) = &t.properties {
                v["properties"] = Value::Object(p.clone());
            }
            v
        };
        let mut action = serde_json::json!({"name": self.action.name});
        if let Some(p) = &self.action.properties {
            action["properties"] = Value::Object(p.clone());
        }
        let mut v = serde_json::json!({
            "subject": target(&self.subject),
            "action": action,
            "resource": target(&self.resource),
        });
        if let Some(c) = &self.context {
            v["context"] = Value::Object(c.clone());
        }
        v
    }
}

/// The answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// A unique id (ULID), returned to the caller and written to the decision log.
    pub id: String,
    pub allowed: bool,
    /// Determining policy ids, sorted.
    pub reasons: Vec<String>,
    /// Evaluation errors (each one denies), sorted.
    pub errors: Vec<String>,
    /// What the first determining policy that carries a message says (denies only).
    pub message: Option<Messages>,
    /// The `@code` of that policy.
    pub code: Option<String>,
    pub notices: Vec<Notice>,
    /// Why the request could not be evaluated at all (unknown entities or action).
    pub unknown: Vec<String>,
    pub policy_revision: String,
    /// The data revision the node had seen when it decided: every ledger
    /// change up to it is in the data the decision used.
    pub data_revision: u64,
    /// The tenant the request concerned, if the ledger knows one.
    pub tenant: Option<String>,
}

impl Decision {
    /// A deny no policy has spoken on yet (what an unknown request gets).
    pub(super) fn deny(pack: &PolicyPack) -> Self {
        Self {
            id: ulid::Ulid::new().to_string(),
            allowed: false,
            reasons: Vec::new(),
            errors: Vec::new(),
            message: None,
            code: None,
            notices: Vec::new(),
            unknown: Vec::new(),
            policy_revision: pack.revision.clone(),
            data_revision: 0,
            tenant: None,
        }
    }
}

/// Why a request could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    /// The request itself is wrong (a declared property of the wrong type...).
    #[error("{0}")]
    BadInput(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Asked to decide from memory alone, the engine needs the database.
    #[error("the decision needs the database")]
    NeedsIo,
    /// The data this node holds is older than the service may answer from.
    #[error("{0}")]
    Stale(String),
}

impl From<SliceError> for DecideError {
    fn from(e: SliceError) -> Self {
        match e {
            SliceError::Store(e) => DecideError::Store(e),
            SliceError::Properties(m) => DecideError::BadInput(m),
            SliceError::NeedsIo => DecideError::NeedsIo,
        }
    }
}
