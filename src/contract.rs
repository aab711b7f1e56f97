//! contract: what the licence ledger asks of a policy pack before the service
//! serves it (at start-up, on every reload, in `turnstile validate` and in the
//! console's impact check; an engine alone, as the scenario runner makes,
//! asks only that the entity types fit): the entity types it builds fit the schema, the
//! notice policies it reads dates from exist, and the message catalogue words
//! R9's reasons. Both the decision side and the ledger read their names here,
//! so neither depends on the other for them. It checks; it decides nothing.

use std::collections::HashSet;

use cedar_policy::Entities;

use crate::policy::{PackError, PolicyPack, Problem};

/// The notice kind whose policy ends the trial (R2).
pub(crate) const TRIAL: &str = "trial";
/// The notice kind whose policy locks a tenant for late payment (R8).
pub(crate) const PAYMENT: &str = "payment_overdue";
/// The codes of the pack's catalogue that word R9's reasons.
pub(crate) const REASONS: [&str; 3] = [
    "reconciliation_no_record",
    "reconciliation_idle",
    "reconciliation_licence",
];

/// Every check a pack must pass before an engine serves it, beyond the
/// loader's own: `turnstile validate` runs it too, so that what validates serves.
pub fn check(pack: &PolicyPack) -> Result<(), PackError> {
    check_types(pack)?;
    check_ledger_notices(pack)
}

/// The ledger reads two dates from notice policies: the trial's end (R2) and
/// a subscription's lock (R8), and the words of R9's reasons from the message
/// catalogue. A pack the ledger serves must have them all, so a renamed
/// `@notice` or catalogue entry is an error, not a view without a trial end.
fn check_ledger_notices(pack: &PolicyPack) -> Result<(), PackError> {
    if !pack.ledger_types.contains("Tenant") {
        return Ok(());
    }
    let problems: Vec<Problem> = [
        (TRIAL, "when a tenant's trial ends (R2)"),
        (PAYMENT, "when an unpaid subscription locks its tenant (R8)"),
    ]
    .into_iter()
    .filter(|(kind, _)| pack.notice(kind).is_none())
    .map(|(kind, what)| {
        let known: Vec<&str> = pack.notices.iter().map(|n| n.kind.as_str()).collect();
        problem(format!(
            "no policy declares `@notice(\"{kind}\")`: the ledger reads {what} from it (the pack declares {})",
            if known.is_empty() { "no notice".to_string() } else { format!("`{}`", known.join("`, `")) }
        ))
    })
    .collect();
    let mut problems = problems;
    // And the words of R9's reasons, from the pack's message catalogue.
    for code in REASONS {
        if !pack.catalogue.contains_key(code) {
            problems.push(problem(format!(
                "`{}` has no `{code}`: the ledger words R9's reasons with it",
                crate::policy::MESSAGES_FILE
            )));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(PackError { problems })
    }
}

/// Refuses a pack that marks entity types `@source("ledger")` the ledger cannot
/// build, or whose schema does not fit the entities the ledger builds.
pub(crate) fn check_types(pack: &PolicyPack) -> Result<(), PackError> {
    let known: HashSet<&str> = crate::facts::TYPES.into_iter().collect();
    let mut problems = Vec::new();
    for t in &pack.ledger_types {
        if !known.contains(t.as_str()) {
            problems.push(problem(format!(
                "entity type `{t}` is marked @source(\"ledger\") but the ledger builds only {}",
                crate::facts::TYPES.join(", ")
            )));
        }
    }
    if problems.is_empty() {
        for sample in crate::facts::samples() {
            if !pack.ledger_types.contains(&sample.uid().type_name().to_string()) {
                continue;
            }
            let uid = sample.uid();
            if let Err(e) = Entities::from_entities([sample], Some(&pack.schema)) {
                problems.push(problem(format!(
                    "the ledger's `{}` entities do not fit the schema: {}",
                    uid.type_name(),
                    crate::import::cause_chain(&e)
                )));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(PackError { problems })
    }
}

fn problem(message: String) -> Problem {
    Problem {
        file: Some(crate::policy::SCHEMA_FILE.into()),
        line: None,
        column: None,
        policy: None,
        rendered: format!("  × {}: {message}\n", crate::policy::SCHEMA_FILE),
        message,
    }
}
