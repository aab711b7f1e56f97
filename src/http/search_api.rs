//! AuthZEN search over HTTP: `POST /access/v1/search/{subject,resource,action}`.
//!
//! The searched-for entity carries its `type` (an `id`, if any, is ignored);
//! every input entity must be fully identified (400 otherwise). Unknown types,
//! ids or actions give `200` with no results. Pages are keyset cursors wrapped
//! in an opaque token; `next_token` is `""` on the last page.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::AppState;
use super::authzen::{as_object, properties, required_string};
use super::error::{ApiError, BadRequest, DecisionUnauthorized, Internal, PayloadTooLarge};
use super::json::Json;
use super::openapi::{
    ActionSearchRequest, ActionSearchResponse, EntitySearchResponse, ResourceSearchRequest,
    SubjectSearchRequest,
};
use crate::decide::{ActionTarget, Query, Target};
use crate::search::{DEFAULT_LIMIT, MAX_LIMIT, Search, Searched};

/// `POST /access/v1/search/subject`
#[utoipa::path(
    post,
    path = "/access/v1/search/subject",
    tag = "authzen",
    summary = "Which subjects of a type may do the action on the resource (AuthZEN Subject Search)",
    description = "Results are the stored entities of `subject.type` for which the same evaluation would \
        allow, in id order; `subject.properties`, `action.properties` and `context` apply to every \
        candidate as in an evaluation. For a type built by the ledger, candidates are those of the \
        resource's tenant (or account).",
    request_body = SubjectSearchRequest,
    responses(
        (status = 200, description = "One page of results", body = EntitySearchResponse),
        (status = 400, response = BadRequest),
        (status = 401, response = DecisionUnauthorized),
        (status = 413, response = PayloadTooLarge),
        (status = 500, response = Internal),
    ),
    security((), ("decision_token" = [])),
)]
pub async fn subject(State(state): State<AppState>, Json(body): Json<Value>) -> Result<Response, ApiError> {
    run(state, Searched::Subject, &body).await
}

/// `POST /access/v1/search/resource`
#[utoipa::path(
    post,
    path = "/access/v1/search/resource",
    tag = "authzen",
    summary = "Which resources of a type the subject may do the action on (AuthZEN Resource Search)",
    description = "Results are the stored entities of `resource.type` for which the same evaluation would \
        allow, in id order. For a type built by the ledger, candidates are those of the subject's \
        tenant (or account).",
    request_body = ResourceSearchRequest,
    responses(
        (status = 200, description = "One page of results", body = EntitySearchResponse),
        (status = 400, response = BadRequest),
        (status = 401, response = DecisionUnauthorized),
        (status = 413, response = PayloadTooLarge),
        (status = 500, response = Internal),
    ),
    security((), ("decision_token" = [])),
)]
pub async fn resource(State(state): State<AppState>, Json(body): Json<Value>) -> Result<Response, ApiError> {
    run(state, Searched::Resource, &body).await
}

/// `POST /access/v1/search/action`
#[utoipa::path(
    post,
    path = "/access/v1/search/action",
    tag = "authzen",
    summary = "Which actions the subject may do on the resource (AuthZEN Action Search)",
    description = "Results are the schema's actions that apply to the subject's and resource's types and \
        that the same evaluation would allow, in name order.",
    request_body = ActionSearchRequest,
    responses(
        (status = 200, description = "One page of results", body = ActionSearchResponse),
        (status = 400, response = BadRequest),
        (status = 401, response = DecisionUnauthorized),
        (status = 413, response = PayloadTooLarge),
        (status = 500, response = Internal),
    ),
    security((), ("decision_token" = [])),
)]
pub async fn action(State(state): State<AppState>, Json(body): Json<Value>) -> Result<Response, ApiError> {
    run(state, Searched::Action, &body).await
}

async fn run(state: AppState, searched: Searched, body: &Value) -> Result<Response, ApiError> {
    let search = parse(searched, as_object(body, "the body")?)?;
    let engine = state.engine().clone();
    let page = tokio::task::spawn_blocking(move || engine.search(&search).map(|p| (search, p))).await?;
    let (search, page) = page?;
    let results: Vec<Value> = match searched {
        Searched::Action => page.results.iter().map(|name| json!({"name": name})).collect(),
        Searched::Subject => page
            .results
            .iter()
            .map(|id| json!({"type": search.query.subject.ty, "id": id}))
            .collect(),
        Searched::Resource => page
            .results
            .iter()
            .map(|id| json!({"type": search.query.resource.ty, "id": id}))
            .collect(),
    };
    let count = results.len();
    Ok(axum::Json(json!({
        "results": results,
        "page": {"next_token": page.next.as_deref().map(token).unwrap_or_default(), "count": count},
    }))
    .into_response())
}

/// Parses a search request for the given endpoint.
pub fn parse(searched: Searched, obj: &Map<String, Value>) -> Result<Search, ApiError> {
    let entity = |key: &str, is_searched: bool| -> Result<Target, ApiError> {
        let o = match obj.get(key) {
            None | Some(Value::Null) => {
                return Err(ApiError::invalid_field(key, format!("`{key}` is required")));
            }
            Some(Value::Object(o)) => o,
            Some(_) => return Err(ApiError::invalid_field(key, format!("`{key}` must be an object"))),
        };
        Ok(Target {
            ty: required_string(o, "type", key)?,
            // The searched entity's id is what the search resolves: ignored.
            id: if is_searched {
                String::new()
            } else {
                required_string(o, "id", key)?
            },
            properties: properties(o, key)?,
        })
    };
    let subject = entity("subject", searched == Searched::Subject)?;
    let resource = entity("resource", searched == Searched::Resource)?;
    let action = if searched == Searched::Action {
        ActionTarget {
            name: String::new(),
            properties: None,
        }
    } else {
        match obj.get("action") {
            None | Some(Value::Null) => {
                return Err(ApiError::invalid_field("action", "`action` is required"));
            }
            Some(Value::Object(a)) => ActionTarget {
                name: required_string(a, "name", "action")?,
                properties: properties(a, "action")?,
            },
            Some(_) => return Err(ApiError::invalid_field("action", "`action` must be an object")),
        }
    };
    let context = match obj.get("context") {
        None | Some(Value::Null) => None,
        Some(Value::Object(c)) => Some(c.clone()),
        Some(_) => return Err(ApiError::invalid_field("context", "`context` must be an object")),
    };
    let (limit, after) = page(obj.get("page"))?;
    Ok(Search {
        searched,
        query: Query {
            subject,
            action,
            resource,
            context,
        },
        limit,
        after,
    })
}

fn page(v: Option<&Value>) -> Result<(usize, Option<String>), ApiError> {
    let o = match v {
        None | Some(Value::Null) => return Ok((DEFAULT_LIMIT, None)),
        Some(Value::Object(o)) => o,
        Some(_) => return Err(ApiError::invalid_field("page", "`page` must be an object")),
    };
    let limit = match o.get("limit") {
        None | Some(Value::Null) => DEFAULT_LIMIT,
        Some(Value::Number(n)) => match n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                .map(|f| f as u64)
        }) {
            Some(0) | None => {
                return Err(ApiError::invalid_field(
                    "page.limit",
                    "`page.limit` must be a whole number of at least 1",
                ));
            }
            Some(n) => usize::try_from(n).unwrap_or(MAX_LIMIT).min(MAX_LIMIT),
        },
        Some(_) => {
            return Err(ApiError::invalid_field(
                "page.limit",
                "`page.limit` must be a whole number of at least 1",
            ));
        }
    };
    let after = match o.get("token") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) if t.is_empty() => None,
        Some(Value::String(t)) => Some(cursor(t).ok_or_else(|| {
            ApiError::invalid_field("page.token", "`page.token` is not a token this service gave")
        })?),
        Some(_) => {
            return Err(ApiError::invalid_field(
                "page.token",
                "`page.token` must be a string",
            ));
        }
    };
    Ok((limit, after))
}

/// The opaque token for a cursor: `c1` and the cursor's bytes in hex (a
/// token is then plain ASCII, whatever the ids hold).
fn token(cursor: &str) -> String {
    let mut t = String::with_capacity(2 + cursor.len() * 2);
    t.push_str("c1");
    for b in cursor.bytes() {
        t.push_str(&format!("{b:02x}"));
    }
    t
}

fn cursor(token: &str) -> Option<String> {
    let hex = token.strip_prefix("c1")?;
    if hex.len() % 2 != 0 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_gives_back_its_cursor_and_a_forged_one_is_refused() {
        for c in ["alice", "", "ünïcode \"quoted\"", "42"] {
            assert_eq!(cursor(&token(c)).as_deref(), Some(c));
        }
        for forged in ["alice", "c1z", "c1abc", "c1ff"] {
            assert_eq!(cursor(forged), None, "{forged}");
        }
    }
}
