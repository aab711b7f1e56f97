//! OpenID AuthZEN Authorization API 1.0: discovery, evaluation, evaluations
//! (search is in [`super::search_api`]).
//!
//! Parsing is strict where the spec says 400 (missing or mistyped required
//! fields, bad content type, malformed or empty JSON) and lenient where it says
//! to ignore (unknown fields). Inside a batch, a broken item is a
//! `"decision": false` with its error, not a failed batch.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::AppState;
use super::error::{ApiError, BadRequest, DecisionUnauthorized, Internal, PayloadTooLarge};
use super::json::Json;
use super::openapi::{
    Discovery, EvaluationRequest, EvaluationResponse, EvaluationsAnswer, EvaluationsRequest,
};
use crate::decide::{ActionTarget, Decision, Query, Target};

/// The most evaluations one batch may carry.
pub(crate) const MAX_BATCH: usize = 1000;

/// `GET /.well-known/authzen-configuration`
#[utoipa::path(
    get,
    path = "/.well-known/authzen-configuration",
    tag = "authzen",
    summary = "The PDP's metadata (AuthZEN Discovery)",
    responses((status = 200, description = "The endpoints of this PDP", body = Discovery)),
)]
pub async fn discovery(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let base = state.public_url(&headers);
    axum::Json(json!({
        "policy_decision_point": base,
        "access_evaluation_endpoint": format!("{base}/access/v1/evaluation"),
        "access_evaluations_endpoint": format!("{base}/access/v1/evaluations"),
        "search_subject_endpoint": format!("{base}/access/v1/search/subject"),
        "search_resource_endpoint": format!("{base}/access/v1/search/resource"),
        "search_action_endpoint": format!("{base}/access/v1/search/action"),
    }))
    .into_response()
}

/// `POST /access/v1/evaluation`
#[utoipa::path(
    post,
    path = "/access/v1/evaluation",
    tag = "authzen",
    summary = "One decision (AuthZEN Access Evaluation)",
    description = "`properties` in the request overlay the stored entity's attributes for this one \
        decision. A subject or resource that is not stored is evaluated from its request properties \
        alone; with none that satisfy the schema it is unknown, and the answer is a deny (200), not \
        an error. Keys the schema does not declare are ignored; a declared key of the wrong type is a 400.",
    request_body = EvaluationRequest,
    responses(
        (status = 200, description = "The decision, with its context; a deny is a 200 too",
            body = EvaluationResponse),
        (status = 400, response = BadRequest),
        (status = 401, response = DecisionUnauthorized),
        (status = 413, response = PayloadTooLarge),
        (status = 500, response = Internal),
    ),
    security((), ("decision_token" = [])),
)]
pub async fn evaluation(
    State(state): State<AppState>,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let obj = as_object(&body, "the body")?;
    let query = query_from(obj, None)?;
    let answered = state.decide(vec![query]).await?;
    let (decision, id) = answered
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::Internal("no decision".into()))?;
    let decision = decision?;
    Ok(axum::Json(decision_json(&decision, &id, true)).into_response())
}

/// How a batch is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Semantic {
    ExecuteAll,
    DenyOnFirstDeny,
    PermitOnFirstPermit,
}

/// `POST /access/v1/evaluations`
#[utoipa::path(
    post,
    path = "/access/v1/evaluations",
    tag = "authzen",
    summary = "A batch of decisions (AuthZEN Access Evaluations)",
    description = "Top-level `subject`, `action`, `resource` and `context` are defaults for the items \
        that lack them. `options.evaluations_semantic` is `execute_all` (default), `deny_on_first_deny` \
        or `permit_on_first_permit`. An item that cannot be evaluated is a deny carrying its error, \
        not a failed batch.",
    request_body = EvaluationsRequest,
    responses(
        (status = 200, description = "One decision per item, in order (items carry no `context` \
            unless `options.include_context`); a single decision when the request has no `evaluations`",
            body = EvaluationsAnswer),
        (status = 400, response = BadRequest),
        (status = 401, response = DecisionUnauthorized),
        (status = 413, response = PayloadTooLarge),
        (status = 500, response = Internal),
    ),
    security((), ("decision_token" = [])),
)]
pub async fn evaluations(
    State(state): State<AppState>,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let obj = as_object(&body, "the body")?;
    let options = match obj.get("options") {
        None | Some(Value::Null) => None,
        Some(Value::Object(o)) => Some(o),
        Some(_) => return Err(ApiError::invalid_field("options", "`options` must be an object")),
    };
    let semantic = match options.and_then(|o| o.get("evaluations_semantic")) {
        None | Some(Value::Null) => Semantic::ExecuteAll,
        Some(Value::String(s)) if s == "execute_all" => Semantic::ExecuteAll,
        Some(Value::String(s)) if s == "deny_on_first_deny" => Semantic::DenyOnFirstDeny,
        Some(Value::String(s)) if s == "permit_on_first_permit" => Semantic::PermitOnFirstPermit,
        Some(_) => {
            return Err(ApiError::invalid_field(
                "options.evaluations_semantic",
                "`options.evaluations_semantic` must be `execute_all`, `deny_on_first_deny` or `permit_on_first_permit`",
            ));
        }
    };
    let include_context = options
        .and_then(|o| o.get("include_context"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let items = match obj.get("evaluations") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) if a.is_empty() => None,
        Some(Value::Array(a)) => Some(a),
        Some(_) => {
            return Err(ApiError::invalid_field(
                "evaluations",
                "`evaluations` must be an array",
            ));
        }
    };
    // Without items the endpoint answers like the single evaluation.
    let Some(items) = items else {
        let query = query_from(obj, None)?;
        let (decision, id) = state
            .decide(vec![query])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::Internal("no decision".into()))?;
        return Ok(axum::Json(decision_json(&decision?, &id, true)).into_response());
    };
    if items.len() > MAX_BATCH {
        return Err(ApiError::invalid_field(
            "evaluations",
            format!(
                "a batch holds at most {MAX_BATCH} evaluations, this one has {}",
                items.len()
            ),
        ));
    }
    // Top-level values are defaults; each must be well-typed if present.
    for key in ["subject", "action", "resource", "context"] {
        if let Some(v) = obj.get(key)
            && !v.is_object()
            && !v.is_null()
        {
            return Err(ApiError::invalid_field(key, format!("`{key}` must be an object")));
        }
    }
    let parsed: Vec<Result<Query, ApiError>> = items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::Object(item) => query_from(item, Some(obj)),
            _ => Err(ApiError::invalid_field(
                format!("evaluations[{i}]"),
                "each evaluation must be an object",
            )),
        })
        .collect();

    let mut out = Vec::with_capacity(parsed.len());
    // Short-circuiting batches are decided one by one; the rest in one go.
    if semantic == Semantic::ExecuteAll {
        let (ok_idx, queries): (Vec<usize>, Vec<Query>) = parsed
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.as_ref().ok().map(|q| (i, q.clone())))
            .unzip();
        let mut answers = state.decide(queries).await?.into_iter();
        let mut next_ok = ok_idx.into_iter().peekable();
        for (i, p) in parsed.into_iter().enumerate() {
            match p {
                Err(e) => out.push(item_error(&e)),
                Ok(_) => {
                    let _ = next_ok.next();
                    let (d, id) = answers
                        .next()
                        .ok_or_else(|| ApiError::Internal(format!("no decision for item {i}")))?;
                    out.push(match d {
                        Ok(d) => decision_json(&d, &id, include_context),
                        Err(e) => item_error(&e),
                    });
                }
            }
        }
    } else {
        for p in parsed {
            let (item, allowed) = match p {
                Err(e) => (item_error(&e), false),
                Ok(q) => {
                    let (d, id) = state
                        .decide(vec![q])
                        .await?
                        .into_iter()
                        .next()
                        .ok_or_else(|| ApiError::Internal("no decision".into()))?;
                    match d {
                        Ok(d) => (decision_json(&d, &id, include_context), d.allowed),
                        Err(e) => (item_error(&e), false),
                    }
                }
            };
            out.push(item);
            let stop = match semantic {
                Semantic::DenyOnFirstDeny => !allowed,
                Semantic::PermitOnFirstPermit => allowed,
                Semantic::ExecuteAll => false,
            };
            if stop {
                break;
            }
        }
    }
    Ok(axum::Json(json!({ "evaluations": out })).into_response())
}

/// Parses one evaluation request (as `POST /access/v1/evaluation` takes it).
pub fn parse_evaluation(body: &Value) -> Result<Query, ApiError> {
    query_from(as_object(body, "the body")?, None)
}

pub(super) fn as_object<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>, ApiError> {
    v.as_object()
        .ok_or_else(|| ApiError::bad_request(format!("{what} must be a JSON object")))
}

/// One query from a request object; a batch item takes the top-level value of
/// each key it does not carry itself (whole objects, never merged).
fn query_from(item: &Map<String, Value>, defaults: Option<&Map<String, Value>>) -> Result<Query, ApiError> {
    let pick = |key: &str| -> Option<&Value> {
        match item.get(key) {
            Some(Value::Null) | None => defaults.and_then(|d| d.get(key)).filter(|v| !v.is_null()),
            Some(v) => Some(v),
        }
    };
    let subject = target(pick("subject"), "subject")?;
    let resource = target(pick("resource"), "resource")?;
    let action = match pick("action") {
        None => return Err(ApiError::invalid_field("action", "`action` is required")),
        Some(Value::Object(a)) => ActionTarget {
            name: required_string(a, "name", "action")?,
            properties: properties(a, "action")?,
        },
        Some(_) => return Err(ApiError::invalid_field("action", "`action` must be an object")),
    };
    let context = match pick("context") {
        None => None,
        Some(Value::Object(c)) => Some(c.clone()),
        Some(_) => return Err(ApiError::invalid_field("context", "`context` must be an object")),
    };
    Ok(Query {
        subject,
        action,
        resource,
        context,
    })
}

fn target(v: Option<&Value>, key: &str) -> Result<Target, ApiError> {
    match v {
        None => Err(ApiError::invalid_field(key, format!("`{key}` is required"))),
        Some(Value::Object(o)) => Ok(Target {
            ty: required_string(o, "type", key)?,
            id: required_string(o, "id", key)?,
            properties: properties(o, key)?,
        }),
        Some(_) => Err(ApiError::invalid_field(key, format!("`{key}` must be an object"))),
    }
}

pub(super) fn required_string(o: &Map<String, Value>, field: &str, parent: &str) -> Result<String, ApiError> {
    let path = format!("{parent}.{field}");
    match o.get(field) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(Value::String(_)) => Err(ApiError::invalid_field(
            &path,
            format!("`{path}` must not be empty"),
        )),
        None | Some(Value::Null) => Err(ApiError::invalid_field(&path, format!("`{path}` is required"))),
        Some(_) => Err(ApiError::invalid_field(
            &path,
            format!("`{path}` must be a string"),
        )),
    }
}

pub(super) fn properties(
    o: &Map<String, Value>,
    parent: &str,
) -> Result<Option<Map<String, Value>>, ApiError> {
    match o.get("properties") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(p)) => Ok(Some(p.clone())),
        Some(_) => Err(ApiError::invalid_field(
            format!("{parent}.properties"),
            format!("`{parent}.properties` must be an object"),
        )),
    }
}

/// A decision as AuthZEN answers it.
pub(crate) fn decision_json(d: &Decision, id: &str, with_context: bool) -> Value {
    let mut out = json!({ "decision": d.allowed });
    if with_context {
        out["context"] = decision_context(d, id);
    }
    out
}

/// The `context` of an answer: why, in the policies' own words.
pub(crate) fn decision_context(d: &Decision, id: &str) -> Value {
    let mut ctx = json!({
        "decision_id": id,
        "reasons": d.reasons,
        "notices": d.notices,
        "policy_revision": d.policy_revision,
        "data_revision": d.data_revision,
    });
    if let Some(m) = &d.message {
        ctx["message"] = json!(m);
    }
    if let Some(c) = &d.code {
        ctx["code"] = json!(c);
    }
    if !d.errors.is_empty() {
        ctx["errors"] = json!(d.errors);
    }
    if !d.unknown.is_empty() {
        ctx["unknown"] = json!(d.unknown);
    }
    ctx
}

fn item_error(e: &ApiError) -> Value {
    let (status, message) = match e {
        ApiError::BadRequest { message, .. } => (400, message.clone()),
        other => (other.status().as_u16(), other.to_string()),
    };
    json!({
        "decision": false,
        "context": { "error": { "status": status, "message": message } },
    })
}
