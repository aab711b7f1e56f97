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

use std::sync::Arc;

use serde::Serialize;

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
    pub flips: Vec<Flip>,
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
        flips: Vec::new(),
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
        if was.allowed != will.allowed {
            let policies = if will.allowed {
                // Now allowed: what denied it before no longer does.
                was.reasons.clone()
            } else {
                will.reasons.clone()
            };
            report.flips.push(Flip {
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
        "replayed {} decisions: baseline {} → candidate {} ({} skipped, {} drifted since logged)",
        r.replayed, r.baseline_revision, r.candidate_revision, r.skipped, r.drifted
    );
    if r.flips.is_empty() {
        let _ = writeln!(out, "no decision flips");
        return out;
    }
    let _ = writeln!(
        out,
        "{} decision{} flip:",
        r.flips.len(),
        if r.flips.len() == 1 { "" } else { "s" }
    );
    let word = |b: bool| if b { "allow" } else { "deny" };
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
    }
    out
}
