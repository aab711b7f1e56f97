//! replay: which logged decisions would a candidate policy set flip?
//!
//! Each logged request is decided again at the time it was logged, on the
//! current data, twice: with the baseline pack (what serves today) and with the
//! candidate. Where the two answers differ, the candidate flips the decision;
//! the policies responsible are those that determine the new answer (for a new
//! deny) or those that determined the old one (for a new allow). Comparing
//! baseline to baseline isolates the policy change from any change in the data
//! since the log was written; decisions whose baseline answer differs from the
//! logged one are counted as drifted.
//!
//! The whole answer is compared, not only allow and deny: a countdown that
//! moves (`notices.0.days_left: 10 → 25`), a message, the determining
//! policies. A logged decision that the candidate itself answered (its
//! `policy_revision` is the candidate's, after a hot reload) is not a change
//! the candidate would make: it is counted, not compared.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Value, json};

use crate::decide::{Decision, Engine};
use crate::decision_log::Entry;
use crate::http::authzen::parse_evaluation;
use crate::policy::{PackError, PolicyPack};
use crate::slice::Source;
use crate::store::Store;
use crate::time::{self, Clock};

/// One decision the candidate would change.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Flip {
    pub decision_id: String,
    pub time: String,
    pub principal: String,
    pub action: String,
    pub resource: String,
    /// The answer the baseline gives (and, unless drifted, the one logged).
    pub was: bool,
    /// The answer the candidate gives.
    pub now: bool,
    /// The policies responsible for the change.
    pub policies: Vec<String>,
    pub was_reasons: Vec<String>,
    pub now_reasons: Vec<String>,
    /// Every difference between the two answers, by path.
    pub changes: Vec<Change>,
}

/// One difference between two answers: at `path`, `was` became `now`
/// (`null` where a side has nothing).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    pub was: Value,
    pub now: Value,
}

impl std::fmt::Display for Change {
    /// `path: was → now`, nothing shown as `—`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let side = |v: &Value| match v {
            Value::Null => "—".to_string(),
            other => other.to_string(),
        };
        write!(f, "{}: {} → {}", self.path, side(&self.was), side(&self.now))
    }
}

/// The parts of an answer a person sees: decision, determining policies,
/// message and notices (countdowns).
fn answer(d: &Decision) -> Value {
    json!({
        "decision": d.allowed,
        "reasons": d.reasons,
        "message": d.message,
        "notices": d.notices.iter().map(|n| json!({
            "kind": n.kind,
            "days_left": n.days_left,
            "until": n.until,
            "message": n.message,
        })).collect::<Vec<_>>(),
    })
}

/// The differences between two answers, path by path.
pub fn changes(was: &Value, now: &Value) -> Vec<Change> {
    fn walk(path: String, a: &Value, b: &Value, out: &mut Vec<Change>) {
        let join = |k: &str| {
            if path.is_empty() {
                k.to_string()
            } else {
                format!("{path}.{k}")
            }
        };
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
                for k in keys {
                    walk(
                        join(k),
                        x.get(k).unwrap_or(&Value::Null),
                        y.get(k).unwrap_or(&Value::Null),
                        out,
                    );
                }
            }
            // Lists of objects (notices) compare item by item; lists of ids whole.
            (Value::Array(x), Value::Array(y)) if x.iter().chain(y).any(Value::is_object) => {
                for i in 0..x.len().max(y.len()) {
                    walk(
                        join(&i.to_string()),
                        x.get(i).unwrap_or(&Value::Null),
                        y.get(i).unwrap_or(&Value::Null),
                        out,
                    );
                }
            }
            (a, b) if a != b => out.push(Change {
                path,
                was: a.clone(),
                now: b.clone(),
            }),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(String::new(), was, now, &mut out);
    out
}

/// What a replay found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub baseline_revision: String,
    pub candidate_revision: String,
    pub replayed: usize,
    /// Entries not replayed: other sources, unreadable lines or requests.
    pub skipped: usize,
    /// Decisions whose baseline answer today differs from the logged one.
    pub drifted: usize,
    /// Logged decisions the candidate itself answered (its revision is in
    /// the log line): not compared.
    pub served_by_candidate: usize,
    /// Decisions the candidate turns from allow to deny or back.
    pub flips: Vec<Flip>,
    /// Decisions that keep their allow or deny but whose answer changes
    /// (a countdown, a message, the determining policies).
    pub changed: Vec<Flip>,
}

/// Why a replay could not run.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("the {which} policies cannot load:\n{error}")]
    Pack { which: &'static str, error: PackError },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Replays `entries` (those from `source`, usually `authzen`) against both packs.
pub fn replay(
    store: &Store,
    baseline: PolicyPack,
    candidate: PolicyPack,
    entries: &[Result<Entry, String>],
    source: &str,
) -> Result<Report, ReplayError> {
    let clock = Clock::fixed(0);
    let base = Arc::new(
        Engine::new(baseline, store.clone(), clock.clone()).map_err(|error| ReplayError::Pack {
            which: "baseline",
            error,
        })?,
    );
    let cand = Arc::new(
        Engine::new(candidate, store.clone(), clock).map_err(|error| ReplayError::Pack {
            which: "candidate",
            error,
        })?,
    );
    let (base_pack, cand_pack) = (base.pack(), cand.pack());
    let mut report = Report {
        baseline_revision: base_pack.revision.clone(),
        candidate_revision: cand_pack.revision.clone(),
        replayed: 0,
        skipped: 0,
        drifted: 0,
        served_by_candidate: 0,
        flips: Vec::new(),
        changed: Vec::new(),
    };
    for entry in entries {
        let Ok(entry) = entry else {
            report.skipped += 1;
            continue;
        };
        if entry.source != source {
            report.skipped += 1;
            continue;
        }
        if entry.policy_revision == cand_pack.revision && cand_pack.revision != base_pack.revision {
            // Answered by the candidate already (after a reload): what was
            // answered is what the candidate answers.
            report.served_by_candidate += 1;
            continue;
        }
        let (Ok(q), Ok(now)) = (parse_evaluation(&entry.request), time::parse(&entry.time)) else {
            report.skipped += 1;
            continue;
        };
        let decide = |engine: &Engine, pack: &PolicyPack| -> Option<Decision> {
            engine
                .decide_with(pack, Source::Store(engine.store()), now, &q)
                .ok()
        };
        let (Some(was), Some(will)) = (decide(&base, &base_pack), decide(&cand, &cand_pack)) else {
            report.skipped += 1;
            continue;
        };
        report.replayed += 1;
        if was.allowed != entry.decision {
            report.drifted += 1;
        }
        let diff = changes(&answer(&was), &answer(&will));
        if !diff.is_empty() {
            let policies = if will.allowed {
                // Now allowed: what denied it before no longer does.
                was.reasons.clone()
            } else {
                will.reasons.clone()
            };
            let flipped = was.allowed != will.allowed;
            let list = if flipped {
                &mut report.flips
            } else {
                &mut report.changed
            };
            list.push(Flip {
                decision_id: entry.decision_id.clone(),
                time: entry.time.clone(),
                principal: format!("{}::\"{}\"", q.subject.ty, q.subject.id),
                action: q.action.name.clone(),
                resource: format!("{}::\"{}\"", q.resource.ty, q.resource.id),
                was: was.allowed,
                now: will.allowed,
                policies,
                was_reasons: was.reasons,
                now_reasons: will.reasons,
                changes: diff,
            });
        }
    }
    Ok(report)
}

/// The report as a person reads it.
pub fn render(r: &Report) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "replayed {} decisions: baseline {} → candidate {} ({} skipped, {} drifted since logged{})",
        r.replayed,
        r.baseline_revision,
        r.candidate_revision,
        r.skipped,
        r.drifted,
        if r.served_by_candidate > 0 {
            format!(", {} already answered by the candidate", r.served_by_candidate)
        } else {
            String::new()
        }
    );
    if r.flips.is_empty() && r.changed.is_empty() {
        let _ = writeln!(out, "no decision flips and no answer changes");
        return out;
    }
    if r.flips.is_empty() {
        let _ = writeln!(out, "no decision flips");
    } else {
        let _ = writeln!(
            out,
            "{} decision{} flip:",
            r.flips.len(),
            if r.flips.len() == 1 { "" } else { "s" }
        );
    }
    let word = |b: bool| if b { "allow" } else { "deny" };
    let show_changes = |out: &mut String, f: &Flip| {
        for c in f.changes.iter().filter(|c| c.path != "decision") {
            let _ = writeln!(out, "      {c}");
        }
    };
    for f in &r.flips {
        let _ = writeln!(
            out,
            "  {}  {}  {} {} {}  {} → {}  by {}",
            f.decision_id,
            f.time,
            f.principal,
            f.action,
            f.resource,
            word(f.was),
            word(f.now),
            if f.policies.is_empty() {
                "default deny".to_string()
            } else {
                f.policies.join(", ")
            }
        );
        show_changes(&mut out, f);
    }
    if !r.changed.is_empty() {
        let _ = writeln!(
            out,
            "{} answer{} change without flipping:",
            r.changed.len(),
            if r.changed.len() == 1 { "" } else { "s" }
        );
        for f in &r.changed {
            let _ = writeln!(
                out,
                "  {}  {}  {} {} {}  {}",
                f.decision_id,
                f.time,
                f.principal,
                f.action,
                f.resource,
                word(f.now)
            );
            show_changes(&mut out, f);
        }
    }
    out
}
