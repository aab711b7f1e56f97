//! Condition coverage: which clause of which policy the scenarios made true and false.

use super::*;

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
