//! explain: why a request got its answer. For each policy that can apply to the
//! request's action: did its scope match, and each `when`/`unless` clause
//! evaluated on its own — which one failed, the part of it that failed, and the
//! values it saw. A denial reads as an answer to "why?".

use std::fmt::Write as _;
use std::str::FromStr;

use cedar_policy::pst::{self, Clause, Expr};
use cedar_policy::{Effect, EvalResult, Expression, Policy};
use serde::Serialize;
use serde_json::Value;

use crate::decide::{Engine, Prepared, PreparedRequest, Query};
use crate::policy::{Messages, PolicyPack};
use crate::slice::Source;

/// The whole answer to "why?".
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Explanation {
    pub decision: bool,
    pub reasons: Vec<String>,
    pub errors: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub message: Option<Messages>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<String>,
    pub request: ExplainedRequest,
    /// The countdowns the tenant's users see with this answer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<crate::notice::Notice>,
    pub policy_revision: String,
    /// Every policy that can apply to the action, determining ones first.
    pub policies: Vec<PolicyTrace>,
    /// The slice: every entity the decision loaded, as Cedar entity JSON
    /// (empty when the request could not be evaluated).
    #[schema(value_type = Vec<Object>)]
    pub entities: Value,
}

/// The request as Cedar saw it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExplainedRequest {
    pub principal: String,
    pub action: String,
    pub resource: String,
    #[schema(format = DateTime)]
    pub at: String,
    /// The Cedar context the policies read (`null` when the action is unknown).
    #[schema(value_type = Object, nullable = true)]
    pub context: Value,
}

/// How one policy fared.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PolicyTrace {
    pub id: String,
    /// `permit` or `forbid`.
    pub effect: &'static str,
    pub file: String,
    pub line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub description: Option<String>,
    /// `determining`, `satisfied` (held, but another policy decided), `not_applied`,
    /// `out_of_scope` or `error`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub message: Option<Messages>,
    /// The scope constraint that did not match, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub scope: Option<Check>,
    /// Each clause, evaluated on its own, in order.
    pub clauses: Vec<Check>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub error: Option<String>,
}

/// One scope constraint or clause, evaluated.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Check {
    /// `scope`, `when` or `unless`.
    pub kind: &'static str,
    pub text: String,
    /// What it evaluated to (`null`: it failed to evaluate).
    #[schema(required = true)]
    pub value: Option<bool>,
    /// Whether it let the policy apply (`when` true, `unless` false).
    pub passed: bool,
    /// For a failed clause: the part that made it fail (a conjunct of a `when`,
    /// a disjunct of an `unless`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub because: Option<String>,
    /// The values it read: attribute paths and variables, as Cedar prints them.
    pub values: Vec<(String, String)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub error: Option<String>,
}

/// Explains `q` as the engine would decide it at `now`.
pub fn explain(
    engine: &Engine,
    pack: &PolicyPack,
    source: Source<'_>,
    now: i64,
    q: &Query,
) -> Result<Explanation, crate::decide::DecideError> {
    let request = ExplainedRequest {
        principal: format!("{}::\"{}\"", q.subject.ty, q.subject.id),
        action: q.action.name.clone(),
        resource: format!("{}::\"{}\"", q.resource.ty, q.resource.id),
        at: crate::time::format(now),
        context: Value::Null,
    };
    let ready = match engine.prepare(pack, source, now, q)? {
        Prepared::Unknown(d) => {
            return Ok(Explanation {
                decision: false,
                reasons: d.reasons,
                errors: d.errors,
                message: None,
                unknown: d.unknown,
                request,
                notices: Vec::new(),
                policy_revision: pack.revision.clone(),
                policies: Vec::new(),
                entities: Value::Array(Vec::new()),
            });
        }
        Prepared::Ready(r) => r,
    };
    let d = engine.evaluate(pack, &ready);
    let mut policies: Vec<PolicyTrace> = pack
        .policies_for(&ready.action)
        .map(|set| {
            set.policies()
                .map(|p| trace(pack, p, &ready, &d.reasons, &d.errors))
                .collect()
        })
        .unwrap_or_default();
    let rank = |t: &PolicyTrace| match t.outcome {
        "determining" => 0,
        "error" => 1,
        "satisfied" => 2,
        "not_applied" => 3,
        _ => 4,
    };
    policies.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.id.cmp(&b.id)));
    let notices = engine.notices_of(pack, &ready, now);
    Ok(Explanation {
        notices,
        decision: d.allowed,
        reasons: d.reasons,
        errors: d.errors,
        message: d.message,
        unknown: d.unknown,
        request: ExplainedRequest {
            context: Value::Object(ready.context_json.clone()),
            ..request
        },
        policy_revision: pack.revision.clone(),
        policies,
        entities: ready
            .entities
            .to_json_value()
            .unwrap_or_else(|_| Value::Array(Vec::new())),
    })
}

fn trace(
    pack: &PolicyPack,
    policy: &Policy,
    ready: &PreparedRequest,
    reasons: &[String],
    errors: &[String],
) -> PolicyTrace {
    let id = policy.id().to_string();
    let meta = pack.meta.get(&id);
    let mut t = PolicyTrace {
        effect: match policy.effect() {
            Effect::Permit => "permit",
            Effect::Forbid => "forbid",
        },
        file: meta.map(|m| m.file.clone()).unwrap_or_default(),
        line: meta.map(|m| m.line).unwrap_or(0),
        description: meta.and_then(|m| m.description.clone()),
        outcome: "not_applied",
        message: meta.map(|m| m.messages.clone()).filter(|m| !m.is_empty()),
        scope: None,
        clauses: Vec::new(),
        error: errors.iter().find(|e| e.contains(&format!("`{id}`"))).cloned(),
        id,
    };
    let Ok(pst) = policy.to_pst() else {
        return t;
    };
    let body = pst.body();
    for (var, constraint) in [
        ("principal", body.principal.to_string()),
        ("resource", body.resource.to_string()),
    ] {
        if constraint.is_empty() {
            continue;
        }
        let text = format!("{var} {constraint}");
        let check = evaluate(&text, "scope", ready, None);
        if !check.passed {
            t.scope = Some(check);
            t.outcome = "out_of_scope";
            return t;
        }
    }
    let mut all_passed = true;
    for clause in body.clauses() {
        let (kind, expr) = match clause {
            Clause::When(e) => ("when", e.as_ref()),
            Clause::Unless(e) => ("unless", e.as_ref()),
        };
        let check = evaluate(&expr.to_string(), kind, ready, Some(expr));
        all_passed &= check.passed;
        t.clauses.push(check);
    }
    t.outcome = if t.error.is_some() {
        "error"
    } else if reasons.contains(&t.id) {
        "determining"
    } else if all_passed {
        "satisfied"
    } else {
        "not_applied"
    };
    t
}

fn eval(text: &str, ready: &PreparedRequest) -> Result<EvalResult, String> {
    let expr = Expression::from_str(text).map_err(|e| e.to_string())?;
    cedar_policy::eval_expression(&ready.request, &ready.entities, &expr).map_err(|e| e.to_string())
}

fn evaluate(text: &str, kind: &'static str, ready: &PreparedRequest, expr: Option<&Expr>) -> Check {
    let (value, error) = match eval(text, ready) {
        Ok(EvalResult::Bool(b)) => (Some(b), None),
        Ok(other) => (None, Some(format!("not a boolean: {other}"))),
        Err(e) => (None, Some(e)),
    };
    let passed = match (kind, value) {
        ("unless", Some(v)) => !v,
        (_, Some(v)) => v,
        _ => false,
    };
    let mut paths = Vec::new();
    if let Some(e) = expr {
        collect_paths(e, &mut paths);
        // The computed side of a comparison: the threshold it was held to.
        collect_computed_sides(e, &mut paths);
    } else if let Some((var, _)) = text.split_once(' ') {
        paths.push(var.to_string());
    }
    let values = paths
        .into_iter()
        .map(|p| {
            let v = match eval(&p, ready) {
                Ok(EvalResult::Long(n)) if looks_like_time(&p) => with_date(n),
                Ok(v) => v.to_string(),
                // An optional attribute the data does not carry (read only
                // behind a `has`, or the clause would have failed on it).
                Err(e) if e.contains("does not have the attribute") => "(absent)".to_string(),
                Err(e) => format!("<error: {e}>"),
            };
            (p, v)
        })
        .collect();
    let because = match (expr, passed) {
        (Some(e), false) if value.is_some() => culprit(e, kind, ready),
        _ => None,
    };
    Check {
        kind,
        text: text.to_string(),
        value,
        passed,
        because,
        values,
        error,
    }
}

/// The conjunct of a failed `when` that is false, or the disjunct of a failed
/// `unless` that is true.
fn culprit(e: &Expr, kind: &str, ready: &PreparedRequest) -> Option<String> {
    let (op, want) = match kind {
        "when" => (pst::BinaryOp::And, false),
        _ => (pst::BinaryOp::Or, true),
    };
    let mut parts = Vec::new();
    flatten(e, op, &mut parts);
    if parts.len() < 2 {
        return None;
    }
    parts
        .into_iter()
        .map(|p| p.to_string())
        .find(|p| matches!(eval(p, ready), Ok(EvalResult::Bool(b)) if b == want))
}

fn flatten<'e>(e: &'e Expr, op: pst::BinaryOp, out: &mut Vec<&'e Expr>) {
    match e {
        Expr::BinaryOp { op: o, left, right } if *o == op => {
            flatten(left, op, out);
            flatten(right, op, out);
        }
        other => out.push(other),
    }
}

/// Attribute paths (`principal.role.name`, `context.tenant has trial_days`) and
/// bare variables an expression reads, in order, without repeats.
fn collect_paths(e: &Expr, out: &mut Vec<String>) {
    let mut push = |s: String| {
        if !out.contains(&s) {
            out.push(s);
        }
    };
    match e {
        Expr::GetAttr { .. } if rooted(e) => push(e.to_string()),
        Expr::HasAttr { expr, .. } if rooted(expr) => {
            push(e.to_string());
            if !matches!(expr.as_ref(), Expr::Var(_)) {
                push(expr.to_string());
            }
        }
        Expr::Var(_) => push(e.to_string()),
        Expr::GetAttr { expr, .. } | Expr::HasAttr { expr, .. } | Expr::Like { expr, .. } => {
            collect_paths(expr, out)
        }
        Expr::Is { expr, in_expr, .. } => {
            collect_paths(expr, out);
            if let Some(i) = in_expr {
                collect_paths(i, out);
            }
        }
        Expr::UnaryOp { expr, .. } => collect_paths(expr, out),
        Expr::BinaryOp { left, right, .. } => {
            collect_paths(left, out);
            collect_paths(right, out);
        }
        Expr::IfThenElse {
            cond,
            then_expr,
            else_expr,
        } => {
            collect_paths(cond, out);
            collect_paths(then_expr, out);
            collect_paths(else_expr, out);
        }
        Expr::Set(items) => items.iter().for_each(|i| collect_paths(i, out)),
        Expr::Record(fields) => fields.values().for_each(|i| collect_paths(i, out)),
        _ => {}
    }
}

/// The sides of comparisons that are computed (`created_at + 30 * 86400`),
/// not a plain path or a literal: what a time or count was compared with.
fn collect_computed_sides(e: &Expr, out: &mut Vec<String>) {
    use pst::BinaryOp as B;
    match e {
        Expr::BinaryOp {
            op: B::Eq | B::NotEq | B::Less | B::LessEq | B::Greater | B::GreaterEq,
            left,
            right,
        } => {
            for side in [left, right] {
                if matches!(side.as_ref(), Expr::BinaryOp { .. } | Expr::IfThenElse { .. }) {
                    let text = side.to_string();
                    if !out.contains(&text) {
                        out.push(text);
                    }
                }
            }
        }
        Expr::BinaryOp { left, right, .. } => {
            collect_computed_sides(left, out);
            collect_computed_sides(right, out);
        }
        Expr::UnaryOp { expr, .. } => collect_computed_sides(expr, out),
        Expr::IfThenElse {
            cond,
            then_expr,
            else_expr,
        } => {
            collect_computed_sides(cond, out);
            collect_computed_sides(then_expr, out);
            collect_computed_sides(else_expr, out);
        }
        _ => {}
    }
}

/// Whether an expression reads a time: `context.now`, `…_at`, or arithmetic on one.
fn looks_like_time(text: &str) -> bool {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .any(|word| word.ends_with(".now") || word == "now" || word.ends_with("_at"))
}

/// A Unix time with its date: `1795495107 (2026-11-24T04:38:27Z)`.
fn with_date(n: i64) -> String {
    if (-62_135_596_800..=253_402_300_799).contains(&n) {
        format!("{n} ({})", crate::time::format(n))
    } else {
        n.to_string()
    }
}

/// A chain of attribute accesses starting at a variable.
fn rooted(e: &Expr) -> bool {
    match e {
        Expr::Var(_) => true,
        Expr::GetAttr { expr, .. } => rooted(expr),
        _ => false,
    }
}

/// The explanation as a person reads it.
pub fn render(x: &Explanation) -> String {
    let mut out = String::new();
    let verdict = if x.decision { "ALLOW" } else { "DENY" };
    let _ = writeln!(
        out,
        "{verdict}  {} {} {}  at {}  (policies {})",
        x.request.principal, x.request.action, x.request.resource, x.request.at, x.policy_revision
    );
    for u in &x.unknown {
        let _ = writeln!(out, "  not evaluated: {u}");
    }
    if let Some(m) = &x.message {
        for (lang, text) in &m.0 {
            let _ = writeln!(out, "  message [{lang}]: {text}");
        }
    }
    for e in &x.errors {
        let _ = writeln!(out, "  error (denies): {e}");
    }
    for n in &x.notices {
        let _ = writeln!(
            out,
            "  notice {}: {} day{} left, until {} (policy {})",
            n.kind,
            n.days_left,
            if n.days_left == 1 { "" } else { "s" },
            n.until,
            n.policy
        );
        for (lang, text) in &n.message.0 {
            let _ = writeln!(out, "    [{lang}] {text}");
        }
    }
    let section = |out: &mut String, title: &str, outcome: &str| {
        let items: Vec<&PolicyTrace> = x.policies.iter().filter(|p| p.outcome == outcome).collect();
        if items.is_empty() {
            return;
        }
        let _ = writeln!(out, "\n{title}");
        for p in items {
            let _ = writeln!(out, "  {} {}  ({}:{})", p.effect, p.id, p.file, p.line);
            if let Some(d) = &p.description {
                let _ = writeln!(out, "      {d}");
            }
            if let Some(s) = &p.scope {
                let _ = writeln!(out, "      scope does not match: {}", s.text);
                for (k, v) in &s.values {
                    let _ = writeln!(out, "        {k} = {v}");
                }
            }
            if let Some(e) = &p.error {
                let _ = writeln!(out, "      error: {e}");
            }
            for c in &p.clauses {
                let mark = if c.passed { "holds" } else { "FAILS" };
                let _ = writeln!(out, "      {mark}  {} {{ {} }}", c.kind, c.text);
                if let Some(b) = &c.because {
                    let _ = writeln!(out, "             because: {b}");
                }
                if let Some(e) = &c.error {
                    let _ = writeln!(out, "             error: {e}");
                }
                for (k, v) in &c.values {
                    let _ = writeln!(out, "             {k} = {v}");
                }
            }
        }
    };
    let determining = if x.decision { "allowed by" } else { "denied by" };
    section(&mut out, determining, "determining");
    section(&mut out, "failed to evaluate (each error denies)", "error");
    section(&mut out, "held, but did not decide", "satisfied");
    section(&mut out, "did not apply", "not_applied");
    section(&mut out, "out of scope", "out_of_scope");
    if !x.decision && !x.policies.iter().any(|p| p.outcome == "determining") && x.unknown.is_empty() {
        let _ = writeln!(out, "\nno permit applied: denied by default");
    }
    out
}
