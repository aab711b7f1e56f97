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
pub fn resolve_relative_times(text: &str) -> Result<String, String> {
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

/// Where the recorded answers of a scenario file live: `answers/<file>` beside it.
pub fn answers_path(file: &Path) -> PathBuf {
    let name = file.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    file.parent().unwrap_or(Path::new(".")).join("answers").join(name)
}

/// One recorded answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Recorded {
    pub name: String,
    pub status: u16,
    pub response: Value,
}

/// The answers as they would be recorded.
pub fn recorded(outcome: &Outcome) -> Vec<Recorded> {
    outcome
        .cases
        .iter()
        .map(|c| Recorded {
            name: c.name.clone(),
            status: c.status,
            response: c.response.clone(),
        })
        .collect()
}

/// Reads the recorded answers of `file`, if it has any.
pub fn read_answers(file: &Path) -> Result<Option<Vec<Recorded>>, String> {
    let path = answers_path(file);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_yaml_ng::from_str(&text)
            .map(Some)
            .map_err(|e| format!("`{}` is not a file of recorded answers: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read `{}`: {e}", path.display())),
    }
}

/// Writes the answers of `outcome` as the recorded ones.
pub fn write_answers(outcome: &Outcome) -> Result<PathBuf, String> {
    let path = answers_path(&outcome.file);
    let header = format!(
        "# The whole answers of `{}`, recorded by `turnstile test --accept`:\n# every run compares each step's answer with these. Do not edit by hand.\n",
        outcome
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    let body = serde_yaml_ng::to_string(&recorded(outcome)).map_err(|e| e.to_string())?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    }
    std::fs::write(&path, format!("{header}{body}"))
        .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
    Ok(path)
}

/// How the answers of a run differ from the recorded ones, per case
/// (index, lines); empty when they are the same.
pub fn answer_changes(outcome: &Outcome, recorded: &[Recorded]) -> Vec<(Option<usize>, Vec<String>)> {
    let mut out = Vec::new();
    if recorded.len() != outcome.cases.len() {
        out.push((
            None,
            vec![format!(
                "the file has {} steps, the recorded answers {}",
                outcome.cases.len(),
                recorded.len()
            )],
        ));
    }
    for (i, (case, rec)) in outcome.cases.iter().zip(recorded).enumerate() {
        let mut lines = Vec::new();
        if case.name != rec.name {
            lines.push(format!("recorded as step `{}`", rec.name));
        }
        if case.status != rec.status {
            lines.push(format!("status: {} → {}", rec.status, case.status));
        }
        for c in crate::replay::changes(&rec.response, &case.response) {
            lines.push(c.to_string());
        }
        if !lines.is_empty() {
            out.push((Some(i), lines));
        }
    }
    out
}

/// Adds to each case a failure for every difference from the recorded answers.
fn check_answers(outcome: &mut Outcome) {
    let recorded = match read_answers(&outcome.file) {
        Ok(Some(r)) => r,
        Ok(None) => return,
        Err(e) => {
            if let Some(first) = outcome.cases.first_mut() {
                first.changed.push(e);
            }
            return;
        }
    };
    for (index, lines) in answer_changes(outcome, &recorded) {
        let case = match index {
            Some(i) => outcome.cases.get_mut(i),
            None => outcome.cases.last_mut(),
        };
        if let Some(case) = case {
            case.changed.extend(lines);
        }
    }
}

/// The scenario files of a directory, sorted.
pub fn files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    out.sort();
    Ok(out)
}

/// Runs one scenario file against `pack`, in a fresh database.
pub async fn run_file(path: &Path, pack: PolicyPack) -> Result<Outcome, ScenarioError> {
    let scenario = read(path)?;
    let setup = |message: String| ScenarioError::Setup {
        path: path.display().to_string(),
        message,
    };
    let dir = tempfile::tempdir().map_err(|e| setup(e.to_string()))?;
    let store = Store::open(&dir.path().join("scenario.db")).map_err(|e| setup(e.to_string()))?;
    run_on(path, scenario, pack, store).await
}

/// [`run_file`] on a store of the caller's (empty; any backend): the suite
/// runs the same scenarios on SQLite and on PostgreSQL.
pub async fn run_file_on(path: &Path, pack: PolicyPack, store: Store) -> Result<Outcome, ScenarioError> {
    let scenario = read(path)?;
    run_on(path, scenario, pack, store).await
}

async fn run_on(
    path: &Path,
    scenario: Scenario,
    pack: PolicyPack,
    store: Store,
) -> Result<Outcome, ScenarioError> {
    let (cases, _) = run_until(path, &scenario, pack, store.clone(), None).await?;
    store.close();
    let mut outcome = Outcome {
        file: path.to_path_buf(),
        cases,
    };
    check_answers(&mut outcome);
    Ok(outcome)
}

/// A scenario's service at the moment of one of its steps, before it runs.
struct Paused {
    engine: Arc<Engine>,
    step: Step,
}

/// Loads the given state and runs the steps, stopping before the first
/// whose name contains `stop` (with the clock moved to its time) if asked.
async fn run_until(
    path: &Path,
    scenario: &Scenario,
    pack: PolicyPack,
    store: Store,
    stop: Option<&str>,
) -> Result<(Vec<CaseOutcome>, Option<Paused>), ScenarioError> {
    let setup = |message: String| ScenarioError::Setup {
        path: path.display().to_string(),
        message,
    };
    let clock = Clock::fixed(scenario.now);
    let engine = Arc::new(Engine::new(pack, store.clone(), clock.clone()).map_err(|e| setup(e.to_string()))?);
    let given = scenario.given.clone();
    let now = scenario.now;
    let pack_for_given = engine.pack();
    store
        .write(move |tx| load_given(tx, &given, now, &pack_for_given))
        .await
        .map_err(|GivenError(message)| ScenarioError::Given {
            path: path.display().to_string(),
            message,
        })?;
    let state = AppState::new(engine.clone(), TOKEN, Some("http://turnstile.test".into()), None);
    let router = http::app(state.clone());
    // Start the subscription-end sweep at `now`, as a server started then would.
    state.ledger().sweep().await.map_err(|e| setup(e.to_string()))?;

    let mut cases = Vec::with_capacity(scenario.steps.len());
    for step in &scenario.steps {
        if let Some(at) = step.at {
            clock.set(at);
            // Time passing ends subscriptions: reconcile as the server's sweep would.
            state.ledger().sweep().await.map_err(|e| setup(e.to_string()))?;
        }
        if stop.is_some_and(|name| step.name.contains(name)) {
            return Ok((
                cases,
                Some(Paused {
                    engine: engine.clone(),
                    step: step.clone(),
                }),
            ));
        }
        let mut case = match &step.cedar {
            Some(case) => run_cedar_step(&engine.pack(), step, case),
            None => run_step(&router, step).await,
        };
        case.clauses = clause_values(&engine, step).await;
        cases.push(case);
    }
    Ok((cases, None))
}

/// What each clause of each in-scope policy evaluated to for the decisions
/// of an `evaluate` or `evaluations` step (explain, at the step's time).
async fn clause_values(engine: &Arc<Engine>, step: &Step) -> Vec<(String, usize, bool)> {
    let mut requests = Vec::new();
    if let Some(r) = &step.evaluate {
        requests.push(r.clone());
    }
    if let Some(batch) = &step.evaluations {
        let defaults = |k: &str| batch.get(k).cloned();
        for item in batch
            .get("evaluations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let mut r = serde_json::Map::new();
            for k in ["subject", "action", "resource", "context"] {
                if let Some(v) = item.get(k).cloned().or_else(|| defaults(k)) {
                    r.insert(k.to_string(), v);
                }
            }
            requests.push(Value::Object(r));
        }
    }
    if requests.is_empty() {
        return Vec::new();
    }
    let engine = engine.clone();
    tokio::task::spawn_blocking(move || {
        let pack = engine.pack();
        let now = engine.clock().now();
        let mut out = Vec::new();
        for r in &requests {
            let Ok(q) = crate::http::authzen::parse_evaluation(r) else {
                continue;
            };
            let Ok(x) = crate::explain::explain(
                &engine,
                &pack,
                crate::slice::Source::Store(engine.store()),
                now,
                &q,
            ) else {
                continue;
            };
            for p in x.policies.iter().filter(|p| p.outcome != "out_of_scope") {
                for (i, c) in p.clauses.iter().enumerate() {
                    if let Some(v) = c.value {
                        out.push((p.id.clone(), i, v));
                    }
                }
            }
        }
        out
    })
    .await
    .unwrap_or_default()
}

/// Explains the `evaluate` step of `path` whose name contains `case`, as the
/// scenario's service decides it at that step (every earlier step has run).
pub async fn explain_case(
    path: &Path,
    pack: PolicyPack,
    case: &str,
) -> Result<crate::explain::Explanation, String> {
    let scenario = read(path).map_err(|e| e.to_string())?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let store = Store::open(&dir.path().join("scenario.db")).map_err(|e| e.to_string())?;
    let (_, paused) = run_until(path, &scenario, pack, store.clone(), Some(case))
        .await
        .map_err(|e| e.to_string())?;
    let Some(Paused { engine, step }) = paused else {
        store.close();
        return Err(format!(
            "`{}` has no step whose name contains `{case}`",
            path.display()
        ));
    };
    let Some(request) = &step.evaluate else {
        store.close();
        return Err(format!(
            "step `{}` is not an `evaluate` step: nothing to explain",
            step.name
        ));
    };
    let q =
        crate::http::authzen::parse_evaluation(request).map_err(|e| format!("step `{}`: {e}", step.name))?;
    let now = engine.clock().now();
    let pack = engine.pack();
    let explained = tokio::task::spawn_blocking(move || {
        crate::explain::explain(
            &engine,
            &pack,
            crate::slice::Source::Store(engine.store()),
            now,
            &q,
        )
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string());
    store.close();
    explained
}

/// A `cedar` step: the pack asked directly, with the step's own entities.
fn run_cedar_step(pack: &PolicyPack, step: &Step, case: &Value) -> CaseOutcome {
    let (status, response) = match crate::prove::evaluate_case(pack, case) {
        Ok(answer) => (200, answer),
        Err(message) => (400, json!({"error": {"message": {"en": message}}})),
    };
    let mut outcome = CaseOutcome::new(&step.name, json!({"cedar": case}), status, response);
    if step.evaluate.is_some() || step.evaluations.is_some() || step.http.is_some() {
        outcome
            .failures
            .push("a `cedar` step cannot also `evaluate`, send `evaluations` or call `http`".into());
    } else {
        check(step, &mut outcome);
    }
    outcome
}

async fn run_step(router: &axum::Router, step: &Step) -> CaseOutcome {
    let (method, path, body) = match (&step.evaluate, &step.evaluations, &step.http) {
        (Some(b), None, None) => (Method::POST, "/access/v1/evaluation".to_string(), Some(b.clone())),
        (None, Some(b), None) => (
            Method::POST,
            "/access/v1/evaluations".to_string(),
            Some(b.clone()),
        ),
        (None, None, Some(h)) => (
            // Checked when the file was read: one of the API's methods.
            Method::from_bytes(h.method.to_ascii_uppercase().as_bytes()).unwrap_or(Method::OPTIONS),
            h.path.clone(),
            h.body.clone(),
        ),
        _ => {
            return CaseOutcome {
                name: step.name.clone(),
                failures: vec!["a step needs exactly one of `evaluate`, `evaluations` or `http`".into()],
                changed: Vec::new(),
                clauses: Vec::new(),
                determining: BTreeSet::new(),
                request: Value::Null,
                status: 0,
                response: Value::Null,
            };
        }
    };
    let mut req = Request::builder()
        .method(method.clone())
        .uri(&path)
        .header("authorization", format!("Bearer {TOKEN}"));
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let request_value = json!({"method": method.as_str(), "path": path, "body": body});
    let req = req.body(match &body {
        Some(b) => Body::from(b.to_string()),
        None => Body::empty(),
    });
    let (status, response) = match req {
        Ok(req) => match router.clone().oneshot(req).await {
            Ok(resp) => {
                let status = resp.status();
                let bytes = resp
                    .into_body()
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                let value = serde_json::from_slice(&bytes)
                    .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
                (status, value)
            }
            Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, json!(e.to_string())),
        },
        Err(e) => (StatusCode::BAD_REQUEST, json!(e.to_string())),
    };
    let mut outcome = CaseOutcome::new(&step.name, request_value, status.as_u16(), redact(response));
    check(step, &mut outcome);
    outcome
}

/// Policy ids that determined the answer: AuthZEN reasons or a refusal's policies.
fn determining(response: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut add = |v: Option<&Value>| {
        if let Some(Value::Array(ids)) = v {
            out.extend(ids.iter().filter_map(Value::as_str).map(str::to_string));
        }
    };
    add(response.pointer("/context/reasons"));
    add(response.pointer("/error/policies"));
    if let Some(Value::Array(items)) = response.get("evaluations") {
        for i in items {
            if let Some(Value::Array(ids)) = i.pointer("/context/reasons") {
                out.extend(ids.iter().filter_map(Value::as_str).map(str::to_string));
            }
        }
    }
    out
}

fn redact(mut v: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(o) => {
                for (k, val) in o.iter_mut() {
                    match k.as_str() {
                        "decision_id" => *val = json!("[decision_id]"),
                        "policy_revision" => *val = json!("[policy_revision]"),
                        "data_revision" => *val = json!("[data_revision]"),
                        _ => walk(val),
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    v
}

fn check(step: &Step, out: &mut CaseOutcome) {
    let e = &step.expect;
    let r = &out.response;
    let mut failures = Vec::new();
    let mut expectations = 0;
    if let Some(want) = e.status {
        expectations += 1;
        if out.status != want {
            failures.push(format!(
                "expected status {want}, got {} ({})",
                out.status,
                short(r)
            ));
        }
    }
    if let Some(want) = e.decision {
        expectations += 1;
        match r.get("decision").and_then(Value::as_bool) {
            Some(got) if got == want => {}
            Some(got) => failures.push(format!(
                "expected {}, got {} (reasons {})",
                allow(want),
                allow(got),
                r.pointer("/context/reasons")
                    .map(Value::to_string)
                    .unwrap_or_default()
            )),
            None => failures.push(format!(
                "expected a decision, got status {} ({})",
                out.status,
                short(r)
            )),
        }
    }
    if let Some(want) = &e.decisions {
        expectations += 1;
        let got: Option<Vec<bool>> = r.get("evaluations").and_then(Value::as_array).map(|a| {
            a.iter()
                .filter_map(|i| i.get("decision").and_then(Value::as_bool))
                .collect()
        });
        if got.as_ref() != Some(want) {
            failures.push(format!("expected decisions {want:?}, got {got:?}"));
        }
    }
    if let Some(want) = &e.reasons {
        expectations += 1;
        let got: Vec<String> = out.determining.iter().cloned().collect();
        if &got != want {
            failures.push(format!("expected reasons {want:?}, got {got:?}"));
        }
    }
    if let Some(want) = &e.notices {
        expectations += 1;
        let got: Vec<String> = r
            .pointer("/context/notices")
            .or_else(|| r.get("notices"))
            .or(Some(r))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|n| n.get("kind").and_then(Value::as_str))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        if &got != want {
            failures.push(format!("expected notices {want:?}, got {got:?}"));
        }
    }
    if let Some(want) = &e.errors {
        expectations += 1;
        let got: Vec<String> = r
            .pointer("/context/errors")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        if &got != want {
            failures.push(format!("expected errors {want:?}, got {got:?}"));
        }
    }
    if let Some(want) = &e.body {
        expectations += 1;
        if let Some(path) = mismatch(want, r, String::new()) {
            failures.push(format!(
                "the body differs at `{path}`: expected {}, got {}",
                at(want, &path),
                at(r, &path)
            ));
        }
    }
    if expectations == 0 {
        failures.push("the step expects nothing; say what it must answer".into());
    }
    out.failures = failures;
}

fn allow(b: bool) -> &'static str {
    if b { "allow" } else { "deny" }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 200 {
        format!(
            "{}…",
            &s[..s.char_indices().nth(200).map(|(i, _)| i).unwrap_or(s.len())]
        )
    } else {
        s
    }
}

fn at(v: &Value, path: &str) -> String {
    let ptr = if path.is_empty() {
        String::new()
    } else {
        format!("/{}", path.replace('.', "/"))
    };
    v.pointer(&ptr).map(short).unwrap_or_else(|| "nothing".into())
}

/// The first place where `got` does not contain `want`.
fn mismatch(want: &Value, got: &Value, path: String) -> Option<String> {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => w.iter().find_map(|(k, wv)| {
            let p = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            match g.get(k) {
                Some(gv) => mismatch(wv, gv, p),
                None => Some(p),
            }
        }),
        (Value::Array(w), Value::Array(g)) if w.len() == g.len() => {
            w.iter().zip(g).enumerate().find_map(|(i, (wv, gv))| {
                let p = if path.is_empty() {
                    i.to_string()
                } else {
                    format!("{path}.{i}")
                };
                mismatch(wv, gv, p)
            })
        }
        (w, g) if w == g => None,
        _ => Some(path),
    }
}

/// Writes the given state straight into the ledger tables.
fn load_given(tx: &mut Tx<'_>, g: &Given, now: i64, pack: &PolicyPack) -> Result<(), GivenError> {
    let e = |what: &str, id: &str, err: StoreError| format!("{what} `{id}`: {err}");
    for a in &g.accounts {
        tx.insert_account(&AccountRow {
            id: a.id.clone(),
            name: a.name.clone().unwrap_or_else(|| a.id.clone()),
            created_at: now,
        })
        .map_err(|err| e("account", &a.id, err))?;
    }
    for t in &g.tenants {
        let created_at = t.created_at.unwrap_or(now);
        tx.insert_tenant(&TenantRow {
            id: t.id.clone(),
            account_id: t.account.clone(),
            name: t.name.clone().unwrap_or_else(|| t.id.clone()),
            created_at,
            trial_days: t.trial_days,
            hub: None,
        })
        .map_err(|err| e("tenant", &t.id, err))?;
        if let Some(at) = t.hub_at {
            tx.insert_hub(
                &t.id,
                &HubRow {
                    name: format!("{} hub", t.id),
                    created_at: at,
                },
            )
            .map_err(|err| e("hub of tenant", &t.id, err))?;
        }
    }
    for s in &g.subscriptions {
        tx.insert_subscription(&SubscriptionRow {
            number: 0,
            tenant_id: s.tenant.clone(),
            kind: s.kind,
            quantity: s.quantity,
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            payment_due_at: s.payment_due_at,
            paid_at: s.paid_at,
            created_at: s.starts_at.min(now),
        })
        .map_err(|err| e("subscription of tenant", &s.tenant, err))?;
    }
    for r in &g.roles {
        tx.insert_role(
            &r.tenant,
            &RoleRow {
                tenant_id: Some(r.tenant.clone()),
                name: r.name.clone(),
                levels: r.levels.clone(),
            },
        )
        .map_err(|err| e("role", &r.name, err))?;
    }
    for u in &g.users {
        tx.insert_user(&UserRow {
            id: u.id.clone(),
            tenant_id: u.tenant.clone(),
            name: u.name.clone().unwrap_or_else(|| u.id.clone()),
            email: u.email.clone().unwrap_or_else(|| format!("{}@example.com", u.id)),
            role: u.role.clone(),
            active: u.active,
            licensed_at: u.licensed_at,
            created_at: u.created_at.unwrap_or(now),
            own_operator: None,
        })
        .map_err(|err| e("user", &u.id, err))?;
    }
    for o in &g.operators {
        tx.insert_operator(&OperatorRow {
            id: o.id.clone(),
            tenant_id: o.tenant.clone(),
            number: o.number.clone(),
            name: o.name.clone().unwrap_or_else(|| o.id.clone()),
            owner_user_id: o.owner.clone(),
            active: o.active,
            created_at: o.created_at.unwrap_or(now),
            latest_production_at: None,
            deactivation: None,
        })
        .map_err(|err| e("operator", &o.id, err))?;
        for p in &o.production {
            let at = time::parse(p)?;
            tx.insert_production(&o.id, at)
                .map_err(|err| e("production of operator", &o.id, err))?;
        }
    }
    if !g.entities.is_empty() {
        let rows =
            crate::import::check(pack, &Value::Array(g.entities.clone())).map_err(|err| err.to_string())?;
        crate::import::store_rows(tx, &rows).map_err(|err| err.to_string())?;
    }
    Ok(())
}

/// Why the given state could not be written.
#[derive(Debug)]
struct GivenError(String);

impl From<StoreError> for GivenError {
    fn from(e: StoreError) -> Self {
        GivenError(e.to_string())
    }
}

impl From<String> for GivenError {
    fn from(e: String) -> Self {
        GivenError(e)
    }
}

/// Which policies determined at least one decision.
#[derive(Debug, Clone)]
pub struct Coverage {
    pub covered: Vec<String>,
    pub uncovered: Vec<String>,
    /// Every clause outcome (policy, clause, true or false) no decision saw,
    /// with the clause as written: `payment.locked when#2 never false`.
    pub conditions_unseen: Vec<String>,
    /// Clause outcomes seen, of all there are (two per clause).
    pub conditions_seen: usize,
    pub conditions_total: usize,
}

impl Coverage {
    pub fn total(&self) -> usize {
        self.covered.len() + self.uncovered.len()
    }

    pub fn percent(&self) -> f64 {
        if self.total() == 0 {
            100.0
        } else {
            self.covered.len() as f64 * 100.0 / self.total() as f64
        }
    }
}

/// Splits the pack's policies into those in `determining` and the others, and
/// lists the clause outcomes never seen among `clauses`.
pub fn coverage(
    pack: &PolicyPack,
    determining: &BTreeSet<String>,
    clauses: &BTreeSet<(String, usize, bool)>,
) -> Coverage {
    let (covered, uncovered) = pack.meta.keys().cloned().partition(|id| determining.contains(id));
    let mut unseen = Vec::new();
    let (mut seen, mut total) = (0, 0);
    for policy in pack.policies.policies() {
        let id = policy.id().to_string();
        let Ok(pst) = policy.to_pst() else { continue };
        for (i, clause) in pst.body().clauses().iter().enumerate() {
            let (kind, text) = match clause {
                cedar_policy::pst::Clause::When(e) => ("when", e.to_string()),
                cedar_policy::pst::Clause::Unless(e) => ("unless", e.to_string()),
            };
            for value in [true, false] {
                total += 1;
                if clauses.contains(&(id.clone(), i, value)) {
                    seen += 1;
                } else {
                    let place = pack
                        .meta
                        .get(&id)
                        .map(|m| format!("{}:{}", m.file, m.line))
                        .unwrap_or_default();
                    unseen.push(format!(
                        "{id} {kind}#{} never {value}: {kind} {{ {text} }}  ({place})",
                        i + 1
                    ));
                }
            }
        }
    }
    Coverage {
        covered,
        uncovered,
        conditions_unseen: unseen,
        conditions_seen: seen,
        conditions_total: total,
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
