//! prove: invariants of a policy pack checked for every request the schema
//! allows, not sampled.
//!
//! Cedar's symbolic compiler (`cedar-policy-symcc`) turns a question about a
//! pack into SMT and asks the cvc5 solver. An author writes the invariants
//! next to the policies (`invariants.yaml` in the pack directory):
//!
//! ```yaml
//! invariants:
//!   - id: nobody_changes_a_license_in_product
//!     description: licences change in the vendor account only
//!     never_allows:
//!       actions: [change_license]
//! ```
//!
//! Three forms, each over a request *shape* (`actions`, which may name action
//! groups, `principals` and `resources`, each defaulting to everything) and
//! an optional `when`, a Cedar expression over `principal`, `action`,
//! `resource` and `context`:
//!
//! - `never_allows`: no request of the shape is allowed while `when` holds
//!   (the pack and `permit … when { <when> }` are disjoint);
//! - `always_allows`: every request of the shape is allowed while `when`
//!   holds (`permit … when { <when> }` implies the pack);
//! - `never_errors`: no policy errors on a request of the shape while `when`
//!   holds (each policy, guarded by `when`, never errors). Here `when` states
//!   what the data can be: the ranges the ledger keeps times and counts in.
//!
//! [`compare`] proves a relation between two packs (`--against`): the
//! candidate only restricts, only relaxes, or is equivalent.
//!
//! A failed proof comes with a concrete request and entities, which
//! [`scenario_yaml`] writes as a scenario file `turnstile test` runs.

mod counterexample;
mod invariants;

pub use counterexample::*;
pub use invariants::*;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cedar_policy::{
    Authorizer, Decision as CedarDecision, Entities, Policy, PolicyId, PolicySet, Request, RequestEnv, Schema,
};
use cedar_policy_core::entities::json::CedarValueJson;
use cedar_policy_symcc::solver::LocalSolver;
use cedar_policy_symcc::{CedarSymCompiler, CompiledPolicy, CompiledPolicySet, Env};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::policy::{Messages, PolicyPack};

/// Where a pack keeps its invariants, in its directory.
pub(crate) const INVARIANTS_FILE: &str = "invariants.yaml";

/// How to get a solver, said whenever there is none.
pub(crate) const INSTALL_HINT: &str = "`turnstile prove` needs the cvc5 SMT solver: install it (Debian or Ubuntu: `apt-get install cvc5`; others: https://cvc5.github.io/downloads.html) or set CVC5 to the path of its executable";

/// The solver executable: `CVC5` if set, else `cvc5` on the `PATH`.
pub fn solver_path() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("CVC5") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!(
                "CVC5 is set to `{}`, which is not a file. {INSTALL_HINT}",
                p.display()
            ))
        };
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join("cvc5"))
        .find(|p| p.is_file())
        .ok_or_else(|| format!("no `cvc5` on the PATH. {INSTALL_HINT}"))
}

/// The solver's own version line, for reports.
pub(crate) fn solver_version(path: &Path) -> String {
    std::process::Command::new(path)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| {
            s.lines()
                .next()
                .map(|l| l.trim_start_matches("This is ").to_string())
        })
        .unwrap_or_else(|| "cvc5 (version unknown)".into())
}

/// A fresh solver whose time limit applies to each query, not to its life
/// (`--tlimit` would count idle time too).
fn solver(path: &Path, timeout: Duration) -> Result<CedarSymCompiler<LocalSolver>, String> {
    let mut cmd = tokio::process::Command::new(path);
    cmd.args(["--lang", "smt"])
        .arg(format!("--tlimit-per={}", timeout.as_millis().max(1)))
        .kill_on_drop(true);
    let local = LocalSolver::from_command(&mut cmd)
        .map_err(|e| format!("cannot start `{}`: {e}. {INSTALL_HINT}", path.display()))?;
    CedarSymCompiler::new(local).map_err(|e| e.to_string())
}

/// The outcome of one invariant or comparison.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub id: String,
    pub description: Option<String>,
    pub form: String,
    /// How many request shapes (principal type, action, resource type) were proved.
    pub shapes: usize,
    pub elapsed: Duration,
    pub counterexample: Option<Counterexample>,
    /// The proof could not be attempted or finished (bad condition, solver).
    pub problem: Option<String>,
}

impl Verdict {
    pub fn proved(&self) -> bool {
        self.counterexample.is_none() && self.problem.is_none()
    }

    /// What a scenario reproducing the counterexample must expect.
    fn expectation(&self) -> Value {
        match self.form.as_str() {
            "never_allows" | "restricts" => json!({"decision": false}),
            "always_allows" => json!({"decision": true}),
            "never_errors" => json!({"errors": []}),
            // relaxes / equivalent: what the baseline answered.
            _ => match self.counterexample.as_ref().and_then(|c| c.baseline.as_ref()) {
                Some(b) => json!({"decision": b.allowed}),
                None => json!({"errors": []}),
            },
        }
    }
}

/// The request shapes of the schema an invariant's shape covers.
fn envs_of(pack: &PolicyPack, shape: &Shape) -> Vec<RequestEnv> {
    pack.schema
        .request_envs()
        .filter(|env| {
            let action = env.action();
            let action_ok = shape.actions.is_empty()
                || shape.actions.iter().any(|name| {
                    action.id().unescaped() == name.as_str()
                        || pack
                            .action_entity(action)
                            .is_some_and(|e| e.ancestors().any(|g| g.eid().as_ref() == name.as_str()))
                });
            let principal_ok = shape.principals.is_empty()
                || shape.principals.iter().any(|t| env.principal().to_string() == *t);
            let resource_ok = shape.resources.is_empty()
                || shape.resources.iter().any(|t| env.resource().to_string() == *t);
            action_ok && principal_ok && resource_ok
        })
        .collect()
}

fn describe_env(env: &RequestEnv) -> String {
    format!(
        "{} {} on {}",
        env.principal(),
        env.action().id().unescaped(),
        env.resource()
    )
}

/// `(assume) && (when)`, either or both.
fn both(assume: Option<&str>, when: Option<&str>) -> Option<String> {
    match (assume, when) {
        (Some(a), Some(w)) => Some(format!("({a}) && ({w})")),
        (Some(a), None) => Some(a.to_string()),
        (None, Some(w)) => Some(w.to_string()),
        (None, None) => None,
    }
}

/// `policies` with `forbid(principal, action, resource) unless { <assume> };`
/// added: it allows only where the assumption holds.
fn within(policies: &PolicySet, assume: Option<&str>) -> Result<PolicySet, String> {
    let Some(assume) = assume else {
        return Ok(policies.clone());
    };
    let forbid = Policy::parse(
        Some(PolicyId::new("turnstile.assume")),
        format!("forbid(principal, action, resource) unless {{ {assume} }};"),
    )
    .map_err(|e| format!("`assume` is not a Cedar condition: {e}"))?;
    let mut out = policies.clone();
    out.add(forbid).map_err(|e| e.to_string())?;
    Ok(out)
}

/// `permit(principal, action, resource) when { <when> };`
fn condition_policy(when: Option<&str>) -> Result<PolicySet, String> {
    let text = match when {
        Some(w) => format!("permit(principal, action, resource) when {{ {w} }};"),
        None => "permit(principal, action, resource);".to_string(),
    };
    let policy = Policy::parse(Some(PolicyId::new("invariant.when")), &text)
        .map_err(|e| format!("`when` is not a Cedar condition: {e}"))?;
    PolicySet::from_policies([policy]).map_err(|e| e.to_string())
}

/// `policy` with `when` as its first condition: it errors only where `when`
/// holds (Cedar's `&&` stops at a false left side).
fn guarded(policy: &Policy, when: Option<&str>) -> Result<Policy, String> {
    let Some(when) = when else {
        return Ok(policy.clone());
    };
    let guard = Policy::parse(
        None,
        format!("permit(principal, action, resource) when {{ {when} }};"),
    )
    .map_err(|e| format!("`when` is not a Cedar condition: {e}"))?;
    let guard_json = guard.to_json().map_err(|e| e.to_string())?;
    let mut json = policy.to_json().map_err(|e| e.to_string())?;
    let first = guard_json
        .pointer("/conditions/0")
        .cloned()
        .ok_or("the `when` guard has no condition")?;
    match json.get_mut("conditions").and_then(Value::as_array_mut) {
        Some(conditions) => conditions.insert(0, first),
        None => return Err("a policy without conditions in its JSON form".into()),
    }
    Policy::from_json(Some(policy.id().clone()), json).map_err(|e| e.to_string())
}

fn type_error(what: &str, env: &RequestEnv, e: impl std::fmt::Display) -> String {
    format!(
        "{what} does not type-check for {}: {e} (narrow `principals`, `actions` or `resources`, or test with `has`)",
        describe_env(env)
    )
}

/// Proves one invariant of `pack`, shape by shape, stopping at the first
/// counterexample.
pub async fn prove(
    pack: &PolicyPack,
    inv: &Invariant,
    assume: Option<&str>,
    solver_path: &Path,
    timeout: Duration,
) -> Verdict {
    let started = Instant::now();
    let (form, shape) = inv.form();
    let mut verdict = Verdict {
        id: inv.id.clone(),
        description: inv.description.clone(),
        form: form.name().to_string(),
        shapes: 0,
        elapsed: Duration::ZERO,
        counterexample: None,
        problem: None,
    };
    let condition = both(assume, shape.when.as_deref());
    let result = prove_shapes(
        pack,
        form,
        shape,
        condition.as_deref(),
        solver_path,
        timeout,
        &mut verdict,
    )
    .await;
    if let Err(problem) = result {
        verdict.problem = Some(problem);
    }
    verdict.elapsed = started.elapsed();
    verdict
}

async fn prove_shapes(
    pack: &PolicyPack,
    form: Form,
    shape: &Shape,
    when: Option<&str>,
    solver_path: &Path,
    timeout: Duration,
    verdict: &mut Verdict,
) -> Result<(), String> {
    let envs = envs_of(pack, shape);
    if envs.is_empty() {
        return Err("its shape matches no request the schema allows".into());
    }
    let mut compiler = solver(solver_path, timeout)?;
    let solver_error = |env: &RequestEnv, e: cedar_policy_symcc::err::Error| {
        format!("the solver failed on {}: {e}", describe_env(env))
    };
    let condition = condition_policy(when)?;
    // A condition that no request satisfies proves anything: say so.
    let mut satisfiable = form == Form::NeverErrors;
    for env in &envs {
        let found = match form {
            Form::NeverAllows | Form::AlwaysAllows => {
                let policies = CompiledPolicySet::compile(&pack.policies, env, &pack.schema)
                    .map_err(|e| type_error("the pack", env, e))?;
                let cond = CompiledPolicySet::compile(&condition, env, &pack.schema)
                    .map_err(|e| type_error("`when`", env, e))?;
                if !satisfiable {
                    satisfiable = !compiler
                        .check_always_denies_opt(&cond)
                        .await
                        .map_err(|e| solver_error(env, e))?;
                }
                if form == Form::NeverAllows {
                    compiler
                        .check_disjoint_with_counterexample_opt(&policies, &cond)
                        .await
                } else {
                    compiler
                        .check_implies_with_counterexample_opt(&cond, &policies)
                        .await
                }
                .map_err(|e| solver_error(env, e))?
            }
            Form::NeverErrors => {
                let mut found = None;
                // Only the policies whose scope can match this shape (the
                // index decisions are served from): the others cannot error.
                let candidates = pack
                    .policies_for_request(
                        env.action(),
                        &env.principal().to_string(),
                        &env.resource().to_string(),
                    )
                    .unwrap_or(&pack.policies);
                for policy in candidates.policies() {
                    let policy = guarded(policy, when)?;
                    let compiled = CompiledPolicy::compile(&policy, env, &pack.schema)
                        .map_err(|e| type_error(&format!("policy `{}`", policy.id()), env, e))?;
                    found = compiler
                        .check_never_errors_with_counterexample_opt(&compiled)
                        .await
                        .map_err(|e| solver_error(env, e))?;
                    if found.is_some() {
                        break;
                    }
                }
                found
            }
        };
        if let Some(env) = found {
            verdict.counterexample = Some(Counterexample::new(pack, &env, None));
            return Ok(());
        }
        verdict.shapes += 1;
    }
    if !satisfiable {
        return Err(
            "no request of its shape satisfies `assume` and `when`: it would hold vacuously (check the condition)"
                .into(),
        );
    }
    Ok(())
}

/// How a candidate pack must relate to a baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Relation {
    /// The candidate allows nothing the baseline denies.
    Restricts,
    /// The candidate denies nothing the baseline allows.
    Relaxes,
    /// Both allow exactly the same requests.
    Equivalent,
}

impl Relation {
    pub fn name(self) -> &'static str {
        match self {
            Relation::Restricts => "restricts",
            Relation::Relaxes => "relaxes",
            Relation::Equivalent => "equivalent",
        }
    }
}

/// Proves that `candidate` relates to `baseline` as `relation` says, on every
/// request shape of the candidate's schema.
pub async fn compare(
    candidate: &PolicyPack,
    baseline: &PolicyPack,
    relation: Relation,
    assume: Option<&str>,
    solver_path: &Path,
    timeout: Duration,
) -> Verdict {
    let started = Instant::now();
    let mut verdict = Verdict {
        id: format!(
            "{} {} {}",
            candidate.dir.display(),
            relation.name(),
            baseline.dir.display()
        ),
        description: None,
        form: relation.name().to_string(),
        shapes: 0,
        elapsed: Duration::ZERO,
        counterexample: None,
        problem: None,
    };
    let run = async {
        let mut compiler = solver(solver_path, timeout)?;
        let schema = &candidate.schema;
        let candidate_set = within(&candidate.policies, assume)?;
        let baseline_set = within(&baseline.policies, assume)?;
        for env in schema.request_envs() {
            let new = CompiledPolicySet::compile(&candidate_set, &env, schema)
                .map_err(|e| type_error("the candidate", &env, e))?;
            let old = CompiledPolicySet::compile(&baseline_set, &env, schema)
                .map_err(|e| type_error("the baseline (under the candidate's schema)", &env, e))?;
            let found = match relation {
                Relation::Restricts => compiler.check_implies_with_counterexample_opt(&new, &old).await,
                Relation::Relaxes => compiler.check_implies_with_counterexample_opt(&old, &new).await,
                Relation::Equivalent => {
                    compiler
                        .check_equivalent_with_counterexample_opt(&new, &old)
                        .await
                }
            }
            .map_err(|e| format!("the solver failed on {}: {e}", describe_env(&env)))?;
            if let Some(env) = found {
                verdict.counterexample = Some(Counterexample::new(candidate, &env, Some(baseline)));
                return Ok(());
            }
            verdict.shapes += 1;
        }
        Ok::<(), String>(())
    };
    if let Err(problem) = run.await {
        verdict.problem = Some(problem);
    }
    verdict.elapsed = started.elapsed();
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack() -> PolicyPack {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
        PolicyPack::load(&dir).unwrap_or_else(|e| unreachable!("{e}"))
    }

    #[test]
    fn a_guard_becomes_the_first_condition() {
        let p = Policy::parse(
            Some(PolicyId::new("p")),
            "permit(principal, action, resource) when { principal.x > 1 };",
        )
        .unwrap_or_else(|e| unreachable!("{e}"));
        let g = guarded(&p, Some("context.ok")).unwrap_or_else(|e| unreachable!("{e}"));
        let text = g.to_string();
        let guard = text.find("context.ok").unwrap_or(usize::MAX);
        let body = text.find("principal.x").unwrap_or(0);
        assert!(guard < body, "{text}");
        assert_eq!(g.id().to_string(), "p");
    }

    #[test]
    fn shapes_follow_action_groups_and_types() {
        let pack = pack();
        let shape = Shape {
            actions: vec!["in_product".into()],
            principals: vec!["Operator".into()],
            ..Shape::default()
        };
        let envs: Vec<String> = envs_of(&pack, &shape).iter().map(describe_env).collect();
        assert_eq!(envs, vec!["Operator record_production on Tenant".to_string()]);
        let all = envs_of(&pack, &Shape::default()).len();
        assert!(all > 10, "{all}");
    }

    #[test]
    fn an_invariant_file_with_two_forms_or_unknown_names_is_refused() {
        let pack = pack();
        let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
        let path = dir.path().join("invariants.yaml");
        std::fs::write(
            &path,
            "invariants:\n  - id: a\n    never_allows: {actions: [fly]}\n    never_errors: {}\n  - id: b\n    never_allows: {principals: [Robot]}\n  - id: b\n    never_errors: {}\n",
        )
        .unwrap_or_else(|e| unreachable!("{e}"));
        let err = read_invariants(&path, &pack).map(|_| ()).unwrap_err();
        assert!(err.contains("exactly one of"), "{err}");
        assert!(err.contains("`Robot`"), "{err}");
        assert!(err.contains("`b` is written twice"), "{err}");
        std::fs::write(&path, "invariants:\n  - id: a\n    never_alows: {}\n")
            .unwrap_or_else(|e| unreachable!("{e}"));
        let err = read_invariants(&path, &pack).map(|_| ()).unwrap_err();
        assert!(err.contains("never_alows"), "{err}");
    }

    #[test]
    fn a_cedar_case_is_evaluated_with_the_action_groups() {
        let pack = pack();
        let case = json!({
            "principal": {"type": "User", "id": "u"},
            "action": "change_license",
            "resource": {"type": "Tenant", "id": "t"},
            "context": {"now": 0, "tenant": {"__entity": {"type": "Tenant", "id": "t"}}},
            "entities": [],
        });
        let answer = evaluate_case(&pack, &case).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(answer["decision"], json!(false), "{answer}");
        assert_eq!(
            answer["context"]["reasons"],
            json!(["management.license_change"]),
            "{answer}"
        );
        assert!(answer["context"]["message"]["fr"].as_str().is_some(), "{answer}");
    }
}
