//! ledger: the licence ledger's operations. Each change that a rule restricts is
//! decided by the Cedar policies inside the same SQLite write transaction as the
//! change itself: the facts are read, the policies asked and the rows written
//! by one job of the single writer, so no two callers can take the same seat.
//!
//! This module computes facts and applies changes; whether a change is allowed
//! is always the policies' answer.

pub mod browse;
pub mod inputs;
pub mod ops;
pub mod reconcile;
pub mod status;
pub mod views;

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::decide::{DecideError, Decision, Engine, Query, Target};
use crate::store::{Store, StoreError};
use crate::time::Clock;

/// Why a ledger operation did not happen. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// An id that names nothing, e.g. "tenant `acme`".
    #[error("{0} not found")]
    NotFound(String),
    /// Well-formed input that is not acceptable, naming the field.
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// A duplicate, or a state that does not allow the change.
    #[error("{message}")]
    Conflict {
        code: &'static str,
        field: Option<String>,
        message: String,
    },
    /// R1: the account has several tenants and the caller named none.
    #[error("the account has several tenants: name one in `tenant`")]
    TenantRequired { candidates: Vec<String> },
    /// A policy refused the change.
    #[error("refused by policy")]
    Refused(Box<Decision>),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Decide(String),
}

impl From<DecideError> for LedgerError {
    fn from(e: DecideError) -> Self {
        match e {
            DecideError::Store(e) => LedgerError::Store(e),
            DecideError::BadInput(m) => LedgerError::Decide(m),
            DecideError::NeedsIo => LedgerError::Decide("a ledger check needed the database".into()),
            DecideError::Stale(m) => LedgerError::Decide(m),
        }
    }
}

impl LedgerError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        LedgerError::Invalid {
            field: field.to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn conflict(code: &'static str, field: Option<&str>, message: impl Into<String>) -> Self {
        LedgerError::Conflict {
            code,
            field: field.map(str::to_string),
            message: message.into(),
        }
    }
}

/// The ledger: operations over the store, checked by the engine's policies.
#[derive(Clone)]
pub struct Ledger {
    engine: Arc<Engine>,
}

impl Ledger {
    pub fn new(engine: Arc<Engine>) -> Self {
        Self { engine }
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    pub fn store(&self) -> &Store {
        self.engine.store()
    }

    pub fn clock(&self) -> &Clock {
        self.engine.clock()
    }
}

/// Who acts: a user of the product (`by`), or the account from outside it.
#[derive(Debug, Clone)]
pub(crate) enum Actor {
    User(String),
    Account(String),
    Operator(String),
}

impl Actor {
    fn target(&self) -> Target {
        match self {
            Actor::User(id) => Target::new("User", id.clone()),
            Actor::Account(id) => Target::new("Account", id.clone()),
            Actor::Operator(id) => Target::new("Operator", id.clone()),
        }
    }
}

/// Asks the policies, inside the write transaction, whether `actor` may do
/// `action` on `resource`; a refusal aborts the operation.
pub(crate) fn check(
    engine: &Engine,
    conn: &dyn crate::store::Conn,
    now: i64,
    actor: &Actor,
    action: &str,
    resource: Target,
    context: Option<Map<String, Value>>,
) -> Result<Decision, LedgerError> {
    let mut q = Query::new(actor.target(), action, resource);
    q.context = context;
    let decision = engine.decide_in_tx(conn, now, &q)?;
    if decision.allowed {
        Ok(decision)
    } else {
        Err(LedgerError::Refused(Box::new(decision)))
    }
}
