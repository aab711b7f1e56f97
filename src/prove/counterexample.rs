//! What a failed proof shows: the concrete request and entities, the answer the pack gives, and the scenario file that replays it.

use super::*;

/// What a pack answers to a concrete request.
#[derive(Debug, Clone)]
pub struct Answer {
    pub allowed: bool,
    pub reasons: Vec<String>,
    pub errors: Vec<String>,
    pub message: Option<Messages>,
}

impl Answer {
    pub(super) fn of(pack: &PolicyPack, env: &Env) -> Answer {
        let entities = with_actions(&env.entities, &pack.schema);
        let response = Authorizer::new().is_authorized(&env.request, &pack.policies, &entities);
        let mut reasons: Vec<String> = response.diagnostics().reason().map(ToString::to_string).collect();
        reasons.sort();
        let errors: Vec<String> = response.diagnostics().errors().map(|e| e.to_string()).collect();
        let allowed = response.decision() == CedarDecision::Allow && errors.is_empty();
        let message = if allowed {
            None
        } else {
            pack.message_of(&reasons).map(|(_, meta)| meta.messages.clone())
        };
        Answer {
            allowed,
            reasons,
            errors,
            message,
        }
    }

    /// One line: the decision, the policies behind it, its message, errors.
    pub fn describe(&self) -> String {
        let mut out = if self.allowed {
            "allow".to_string()
        } else {
            "deny".to_string()
        };
        if !self.errors.is_empty() {
            out.push_str(" (a policy errored, and turnstile denies on any error)");
        } else if !self.reasons.is_empty() {
            out.push_str(&format!(" (determined by {})", self.reasons.join(", ")));
        }
        if let Some(m) = &self.message {
            for (lang, text) in &m.0 {
                out.push_str(&format!("\n  {lang}: {text}"));
            }
        }
        for e in &self.errors {
            out.push_str(&format!("\n  error: {e}"));
        }
        out
    }
}

/// The counterexample's entities with the schema's action entities (their
/// groups) added, as a served decision sees them.
pub(super) fn with_actions(entities: &Entities, schema: &Schema) -> Entities {
    let Ok(actions) = schema.action_entities() else {
        return entities.clone();
    };
    let missing: Vec<_> = actions
        .iter()
        .filter(|a| entities.get(&a.uid()).is_none())
        .cloned()
        .collect();
    entities
        .clone()
        .add_entities(missing, None)
        .unwrap_or_else(|_| entities.clone())
}

/// A request and entities for which an invariant does not hold.
#[derive(Debug, Clone)]
pub struct Counterexample {
    pub principal: (String, String),
    pub action: String,
    pub resource: (String, String),
    /// Cedar context JSON (entity references as `__entity`).
    pub context: Value,
    /// Cedar entity JSON, action entities left out.
    pub entities: Value,
    /// What the pack answers.
    pub answer: Answer,
    /// For a comparison: what the other pack answers.
    pub baseline: Option<Answer>,
    /// The solver's model, as text.
    pub shown: String,
}

impl Counterexample {
    pub(super) fn new(pack: &PolicyPack, env: &Env, baseline: Option<&PolicyPack>) -> Counterexample {
        let uid = |u: Option<&cedar_policy::EntityUid>| {
            u.map(|u| (u.type_name().to_string(), u.id().unescaped().to_string()))
                .unwrap_or_default()
        };
        let context = env
            .request
            .context()
            .map(|c| {
                let mut map = serde_json::Map::new();
                for (k, v) in c.clone() {
                    let json = CedarValueJson::from_expr(v.as_ref().as_borrowed())
                        .ok()
                        .and_then(|j| serde_json::to_value(j).ok())
                        .unwrap_or(Value::Null);
                    map.insert(k, json);
                }
                Value::Object(map)
            })
            .unwrap_or_else(|| json!({}));
        let entities = match env.entities.to_json_value() {
            Ok(Value::Array(items)) => Value::Array(
                items
                    .into_iter()
                    .filter(|e| {
                        let ty = e.pointer("/uid/type").and_then(Value::as_str).unwrap_or("");
                        ty != "Action" && !ty.ends_with("::Action")
                    })
                    .collect(),
            ),
            _ => json!([]),
        };
        Counterexample {
            principal: uid(env.request.principal()),
            action: env
                .request
                .action()
                .map(|a| a.id().unescaped().to_string())
                .unwrap_or_default(),
            resource: uid(env.request.resource()),
            context,
            entities,
            answer: Answer::of(pack, env),
            baseline: baseline.map(|b| Answer::of(b, env)),
            shown: shown(env),
        }
    }
}

/// The solver's model as text, without the action entities (the schema's,
/// the same in every model).
pub(super) fn shown(env: &Env) -> String {
    let text = env.to_string();
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        if line.trim_start().starts_with("Action::\"") && line.starts_with("  ") && !line.starts_with("   ") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// A scenario file that replays a counterexample: one `cedar` step expecting
/// what the invariant demands, so `turnstile test` fails on it until the
/// policies are fixed, and guards the fix afterwards.
pub(crate) fn scenario_yaml(verdict: &Verdict) -> Option<String> {
    let c = verdict.counterexample.as_ref()?;
    let now = c
        .context
        .get("now")
        .and_then(Value::as_i64)
        .filter(|n| crate::time::parse(&crate::time::format(*n)).is_ok())
        .unwrap_or(0);
    let what = match verdict.form.as_str() {
        "never_allows" => "the pack allowed a request the invariant says it never allows",
        "always_allows" => "the pack denied a request the invariant says it always allows",
        "never_errors" => "a policy errored on a request the invariant says never makes one error",
        "restricts" => "the candidate allowed a request the baseline denied",
        "relaxes" => "the candidate denied a request the baseline allowed",
        _ => "the two packs answered this request differently",
    };
    let description = format!(
        "Counterexample to `{}` ({}), found by `turnstile prove`: {what}. The step expects what the invariant demands: `turnstile test` fails on this file until the policies are fixed, and keeps the fix.",
        verdict.id, verdict.form
    );
    let scenario = json!({
        "description": description,
        "now": crate::time::format(now),
        "steps": [{
            "name": format!("{} holds for the solver's counterexample", verdict.id),
            "cedar": {
                "principal": {"type": c.principal.0, "id": c.principal.1},
                "action": c.action,
                "resource": {"type": c.resource.0, "id": c.resource.1},
                "context": c.context,
                "entities": c.entities,
            },
            "expect": verdict.expectation(),
        }],
    });
    serde_yaml_ng::to_string(&scenario).ok()
}

/// The file name a counterexample scenario is written to.
pub(crate) fn scenario_file_name(verdict: &Verdict) -> String {
    let safe: String = verdict
        .id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("counterexample_{safe}.yaml")
}

/// The request of a `cedar` scenario step, evaluated against a pack.
pub fn evaluate_case(pack: &PolicyPack, case: &Value) -> Result<Value, String> {
    let uid = |field: &str| -> Result<cedar_policy::EntityUid, String> {
        let v = case.get(field).ok_or(format!("`cedar.{field}` is missing"))?;
        let ty = v
            .get("type")
            .and_then(Value::as_str)
            .ok_or(format!("`cedar.{field}.type` is missing"))?;
        let id = v
            .get("id")
            .and_then(Value::as_str)
            .ok_or(format!("`cedar.{field}.id` is missing"))?;
        pack.entity_uid(ty, id)
            .ok_or(format!("`cedar.{field}.type`: `{ty}` is not an entity type name"))
    };
    let principal = uid("principal")?;
    let resource = uid("resource")?;
    let action_name = case
        .get("action")
        .and_then(Value::as_str)
        .ok_or("`cedar.action` must be an action name")?;
    let action = pack.action_uid(action_name).ok_or(format!(
        "`cedar.action`: the schema has no action `{action_name}`"
    ))?;
    let context = cedar_policy::Context::from_json_value(
        case.get("context").cloned().unwrap_or_else(|| json!({})),
        Some((&pack.schema, &action)),
    )
    .map_err(|e| format!("`cedar.context`: {e}"))?;
    let request = Request::new(principal, action, resource, context, Some(&pack.schema))
        .map_err(|e| format!("`cedar`: the request does not fit the schema: {e}"))?;
    let entities = Entities::from_json_value(
        case.get("entities").cloned().unwrap_or_else(|| json!([])),
        Some(&pack.schema),
    )
    .map_err(|e| format!("`cedar.entities`: {e}"))?;
    let env = Env { request, entities };
    let answer = Answer::of(pack, &env);
    let mut context = json!({"reasons": answer.reasons, "errors": answer.errors});
    if let Some(m) = &answer.message {
        context["message"] = json!(m.0);
    }
    Ok(json!({"decision": answer.allowed, "context": context}))
}
