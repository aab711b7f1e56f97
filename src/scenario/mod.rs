//! scenario: given a licence ledger state and a pinned clock, run requests and
//! check the answers. One runner serves `cargo test` (which compares every
//! response with its recorded answer) and `turnstile test DIR` (a line per case,
//! for policy authors).
//!
//! A scenario file (YAML) holds `now`, a `given` state and `steps`. A step is an
//! AuthZEN evaluation (`evaluate:`), a batch (`evaluations:`) or any HTTP call
//! (`http:`, e.g. a ledger change), optionally at a later time (`at:`), with what
//! to `expect`. Steps run in order against one in-process service.
//!
//! Times anywhere in a file may be written relative to the scenario's `now`:
//! `now+10d`, `now-1d12h`, `now+30m` (days, hours, minutes, seconds).
//!
//! Besides its expectations, a file's whole answers may be recorded in
//! `answers/<file>` beside it (`turnstile test --accept` writes them after
//! showing what changed): every later run compares each step's whole answer
//! with the recorded one, so a moved countdown or a changed message shows up
//! even where no expectation looks.

mod answers;
mod coverage;
mod given;
mod run;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::decide::Engine;
use crate::http::{self, AppState};
use crate::policy::PolicyPack;
use crate::store::rows::{
    AccountRow, HubRow, Level, OperatorRow, RoleRow, SeatKind, SubscriptionRow, TenantRow, UserRow,
};
use crate::store::{Store, StoreError, Tx};
use crate::time::{self, Clock};

pub use answers::*;
pub use coverage::*;
use given::*;
pub use run::*;

/// The admin token scenarios use for ledger calls.
pub const TOKEN: &str = "scenario-admin-token";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(with = "time::rfc3339")]
    pub now: i64,
    #[serde(default)]
    pub given: Given,
    pub steps: Vec<Step>,
}

/// The ledger state before the first step. Times default to `now`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Given {
    #[serde(default)]
    pub accounts: Vec<GivenAccount>,
    #[serde(default)]
    pub tenants: Vec<GivenTenant>,
    #[serde(default)]
    pub subscriptions: Vec<GivenSubscription>,
    #[serde(default)]
    pub roles: Vec<GivenRole>,
    #[serde(default)]
    pub users: Vec<GivenUser>,
    #[serde(default)]
    pub operators: Vec<GivenOperator>,
    /// Entities of other packs (Cedar entity JSON).
    #[serde(default)]
    pub entities: Vec<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GivenAccount {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GivenTenant {
    pub id: String,
    pub account: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, with = "time::rfc3339_opt")]
    pub created_at: Option<i64>,
    #[serde(default)]
    pub trial_days: Option<i64>,
    /// The time its hub was created, if it has one.
    #[serde(default, with = "time::rfc3339_opt")]
    pub hub_at: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GivenSubscription {
    pub tenant: String,
    pub kind: SeatKind,
    pub quantity: i64,
    #[serde(with = "time::rfc3339")]
    pub starts_at: i64,
    #[serde(with = "time::rfc3339")]
    pub ends_at: i64,
    #[serde(default, with = "time::rfc3339_opt")]
    pub payment_due_at: Option<i64>,
    #[serde(default, with = "time::rfc3339_opt")]
    pub paid_at: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GivenRole {
    pub tenant: String,
    pub name: String,
    pub levels: std::collections::BTreeMap<String, Level>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GivenUser {
    pub id: String,
    pub tenant: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default = "default_role")]
    pub role: String,
    #[serde(default = "yes")]
    pub active: bool,
    /// When the user's named licence was assigned, if they hold one.
    #[serde(default, with = "time::rfc3339_opt")]
    pub licensed_at: Option<i64>,
    #[serde(default, with = "time::rfc3339_opt")]
    pub created_at: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GivenOperator {
    pub id: String,
    pub tenant: String,
    pub number: String,
    #[serde(default)]
    pub name: Option<String>,
    /// The user who owns it (a user operator).
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default, with = "time::rfc3339_opt")]
    pub created_at: Option<i64>,
    /// Times of its production records.
    #[serde(default)]
    pub production: Vec<String>,
}

fn default_role() -> String {
    "admin".into()
}

fn yes() -> bool {
    true
}

/// One step: what to send and what to expect.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub name: String,
    /// Moves the clock here before the step.
    #[serde(default, with = "time::rfc3339_opt")]
    pub at: Option<i64>,
    /// An AuthZEN evaluation request.
    #[serde(default)]
    pub evaluate: Option<Value>,
    /// An AuthZEN batch request.
    #[serde(default)]
    pub evaluations: Option<Value>,
    /// Any HTTP call (ledger changes and reads).
    #[serde(default)]
    pub http: Option<HttpCall>,
    /// A Cedar request asked of the pack with the entities given here, not
    /// the ledger's: `principal` and `resource` (`{type, id}`), `action` (a
    /// name), `context` and `entities` (Cedar JSON). `turnstile prove` writes
    /// its counterexamples so.
    #[serde(default)]
    pub cedar: Option<Value>,
    #[serde(default)]
    pub expect: Expect,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpCall {
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub body: Option<Value>,
}

/// What a step must answer. Everything is optional; a step with no expectation
/// fails (a case that cannot fail is worse than none).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// For `evaluate`: the decision.
    #[serde(default)]
    pub decision: Option<bool>,
    /// For `evaluations`: each item's decision, in order.
    #[serde(default)]
    pub decisions: Option<Vec<bool>>,
    /// The determining policies (sorted), exactly.
    #[serde(default)]
    pub reasons: Option<Vec<String>>,
    /// The kinds of the notices shown, exactly.
    #[serde(default)]
    pub notices: Option<Vec<String>>,
    /// The evaluation errors, exactly (`[]`: none).
    #[serde(default)]
    pub errors: Option<Vec<String>>,
    /// The HTTP status.
    #[serde(default)]
    pub status: Option<u16>,
    /// A JSON value the response body must contain (objects: these keys with
    /// these values, recursively; arrays and scalars: equal).
    #[serde(default)]
    pub body: Option<Value>,
}

/// Why a scenario could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read `{path}`: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("`{path}` is not a valid scenario: {message}")]
    Parse { path: String, message: String },
    #[error("`{path}`: the given state cannot be loaded: {message}")]
    Given { path: String, message: String },
    #[error("`{path}`: {message}")]
    Setup { path: String, message: String },
}

/// What one step answered and whether it was as expected.
#[derive(Debug, Clone, Serialize)]
pub struct CaseOutcome {
    pub name: String,
    #[serde(skip)]
    pub failures: Vec<String>,
    /// How the whole answer differs from the recorded one, one line per path.
    #[serde(skip)]
    pub changed: Vec<String>,
    /// Policies that determined this step's decisions (or refusal).
    #[serde(skip)]
    pub determining: BTreeSet<String>,
    /// For decision steps: each clause of each policy in scope, and what it
    /// evaluated to (policy id, clause index, value), for condition coverage.
    #[serde(skip)]
    pub clauses: Vec<(String, usize, bool)>,
    pub request: Value,
    pub status: u16,
    pub response: Value,
}

impl CaseOutcome {
    fn new(name: &str, request: Value, status: u16, response: Value) -> Self {
        Self {
            name: name.to_string(),
            failures: Vec::new(),
            changed: Vec::new(),
            clauses: Vec::new(),
            determining: determining(&response),
            request,
            status,
            response,
        }
    }

    pub fn passed(&self) -> bool {
        self.failures.is_empty() && self.changed.is_empty()
    }
}

/// Every case of one file.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub file: PathBuf,
    pub cases: Vec<CaseOutcome>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.cases.iter().all(CaseOutcome::passed)
    }
}

/// Reads a scenario file.
pub fn read(path: &Path) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse(&text).map_err(|message| ScenarioError::Parse {
        path: path.display().to_string(),
        message,
    })
}

/// Parses a scenario file's text: relative times, the YAML, and the checks
/// every step must pass.
pub fn parse(text: &str) -> Result<Scenario, String> {
    let text = resolve_relative_times(text)?;
    let scenario: Scenario = serde_yaml_ng::from_str(&text).map_err(|e| e.to_string())?;
    check_steps(&scenario)?;
    Ok(scenario)
}

/// A step that cannot fail is refused: a decision step must say which
/// decision it expects, an HTTP step which status, and an HTTP method must be
/// one the API has (a typo is not quietly a GET).
fn check_steps(scenario: &Scenario) -> Result<(), String> {
    for (i, step) in scenario.steps.iter().enumerate() {
        let at = format!("step {} (`{}`)", i + 1, step.name);
        if step.evaluate.is_some() && step.expect.decision.is_none() {
            return Err(format!("{at} evaluates but expects no `decision`"));
        }
        if step.cedar.is_some() && step.expect.decision.is_none() && step.expect.errors.is_none() {
            return Err(format!("{at} asks Cedar but expects no `decision` or `errors`"));
        }
        if step.evaluations.is_some() && step.expect.decisions.is_none() {
            return Err(format!("{at} sends a batch but expects no `decisions`"));
        }
        if let Some(h) = &step.http {
            let m = h.method.to_ascii_uppercase();
            if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&m.as_str()) {
                return Err(format!(
                    "{at}: `{}` is not an HTTP method of the API (GET, POST, PUT, PATCH, DELETE)",
                    h.method
                ));
            }
            if step.expect.status.is_none() && step.expect.body.is_none() && step.expect.decision.is_none() {
                return Err(format!(
                    "{at} calls `{} {}` but expects no `status` or `body`",
                    h.method, h.path
                ));
            }
        }
    }
    Ok(())
}

/// Replaces `now+10d`-style times with RFC 3339 times relative to the file's
/// top-level `now:` (line numbers are kept: each replacement stays on its line).
pub(crate) fn resolve_relative_times(text: &str) -> Result<String, String> {
    if !text.contains("now+") && !text.contains("now-") {
        return Ok(text.to_string());
    }
    let now = text
        .lines()
        .find_map(|l| l.strip_prefix("now:"))
        .map(|v| v.trim().trim_matches('"').trim_matches('\''))
        .ok_or("times relative to `now` need a top-level `now:` time")?;
    let now = time::parse(now).map_err(|e| format!("`now`: {e}"))?;
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("now") {
        let before_ok = rest[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        let after = &rest[at + 3..];
        let (offset, used) = offsets(after);
        if !before_ok || used == 0 {
            out.push_str(&rest[..at + 3]);
            rest = after;
            continue;
        }
        let next = after[used..].chars().next();
        if next.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            return Err(format!(
                "`now{}…` is not a relative time: write e.g. `now+10d`, `now-1d12h`",
                &after[..used]
            ));
        }
        let at_time = now
            .checked_add(offset)
            .ok_or_else(|| format!("`now{}` is out of range", &after[..used]))?;
        out.push_str(&rest[..at]);
        out.push_str(&time::format(at_time));
        rest = &after[used..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Reads `+10d-2h…` (or `-1d12h`: a part without a sign keeps the last one)
/// at the start of `s`: the total in seconds and the bytes used; 0 bytes when
/// `s` does not start with a signed part.
fn offsets(s: &str) -> (i64, usize) {
    let bytes = s.as_bytes();
    let (mut total, mut used, mut sign) = (0i64, 0usize, 0i64);
    let mut i = 0;
    loop {
        match bytes.get(i) {
            Some(b'+') => (sign, i) = (1, i + 1),
            Some(b'-') => (sign, i) = (-1, i + 1),
            Some(b) if b.is_ascii_digit() && sign != 0 => {}
            _ => return (total, used),
        }
        let digits = i;
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let unit = match bytes.get(i) {
            Some(b'd') => 86_400,
            Some(b'h') => 3_600,
            Some(b'm') => 60,
            Some(b's') => 1,
            _ => return (total, used),
        };
        let part = s[digits..i]
            .parse::<i64>()
            .ok()
            .and_then(|n| n.checked_mul(unit * sign))
            .and_then(|v| total.checked_add(v));
        let Some(t) = part else {
            return (total, used);
        };
        i += 1;
        total = t;
        used = i;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_difference_inside_a_list_body_names_its_path_and_both_values() {
        let want = json!([{"kind": "trial", "days_left": 10}]);
        let got = json!([{"kind": "trial", "days_left": 25}]);
        let path = mismatch(&want, &got, String::new()).unwrap();
        assert_eq!(path, "0.days_left");
        assert_eq!(
            (at(&want, &path), at(&got, &path)),
            ("10".to_string(), "25".to_string())
        );
    }

    #[test]
    fn times_relative_to_now_become_rfc3339_on_their_line() {
        let text = "now: 2026-01-01T00:00:00Z\nat: now+10d\nx: [now-1d12h, \"now+30m\"]\nnowhere: now\n";
        let out = resolve_relative_times(text).unwrap();
        assert_eq!(
            out,
            "now: 2026-01-01T00:00:00Z\nat: 2026-01-11T00:00:00Z\nx: [2025-12-30T12:00:00Z, \"2026-01-01T00:30:00Z\"]\nnowhere: now\n"
        );
        assert!(resolve_relative_times("now: 2026-01-01T00:00:00Z\nat: now+5days\n").is_err());
        assert!(
            resolve_relative_times("at: now+5d\n").is_err(),
            "no `now:` to be relative to"
        );
    }
}
