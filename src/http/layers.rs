//! layers: what every request crosses around the handlers — header bounds,
//! request ids, errors in one JSON shape, tokens, revisions asked and
//! reported, the pack's words for errors. Each is a middleware function
//! [`super::app_with`] stacks; none decides anything.

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::request_id::{MakeRequestId, RequestId};

use super::error::{ApiError, speak};
use super::{
    AppState, MAX_HEADER_BYTES, MAX_HEADER_VALUE, MAX_HEADERS, MIN_REVISION, REQUEST_ID, REVISION, openapi,
};

/// Answers every ledger or entity write with the data revision it committed:
/// the `Turnstile-Revision` header, and `data_revision` in a JSON object body.
pub(super) async fn report_revision(req: Request, next: Next) -> Response {
    let (resp, revision) = crate::store::track_revision(next.run(req)).await;
    if revision == 0 {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    if let Ok(v) = HeaderValue::from_str(&revision.to_string()) {
        parts.headers.insert(REVISION.clone(), v);
    }
    let bytes = match axum::body::to_bytes(body, 16 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => return Response::from_parts(parts, axum::body::Body::empty()),
    };
    let body = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(serde_json::Value::Object(mut o)) if parts.status.is_success() => {
            o.insert("data_revision".into(), serde_json::Value::from(revision));
            parts.headers.remove(axum::http::header::CONTENT_LENGTH);
            axum::body::Body::from(serde_json::Value::Object(o).to_string())
        }
        _ => axum::body::Body::from(bytes),
    };
    Response::from_parts(parts, body)
}

/// Holds a decision or search that asks `Turnstile-Min-Revision: R` until this
/// node has seen revision R (every change up to it is in its caches), at most
/// the configured wait; then 503.
pub(super) async fn require_min_revision(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let Some(value) = req.headers().get(&MIN_REVISION) else {
        return Ok(next.run(req).await);
    };
    let wanted: u64 = value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| {
            ApiError::invalid_field(
                "Turnstile-Min-Revision",
                "`Turnstile-Min-Revision` must be a data revision: a whole number, as `Turnstile-Revision` gave it",
            )
        })?;
    let store = state.engine().store().clone();
    let wait = state.inner.revision_wait;
    let seen = tokio::task::spawn_blocking(move || store.wait_for_revision(wanted, wait)).await??;
    if !seen {
        let has = state.engine().store().data_revision();
        return Err(ApiError::Unavailable(format!(
            "this node has seen data revision {has}, not yet {wanted} (waited {:.1} s); retry, or ask the node that made the change",
            wait.as_secs_f64()
        )));
    }
    Ok(next.run(req).await)
}

/// Speaks the pack's words: an error whose `code` the pack's message
/// catalogue (`messages.yaml`) has gets the catalogue's text in every
/// language it has, `{key}` filled from the error's fields and details
/// (`{candidates}` of `tenant_required`). A refusal by policy keeps its
/// policy's message.
pub(super) async fn pack_messages(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    if resp.status().as_u16() < 400 {
        return resp;
    }
    let pack = state.engine().pack();
    if pack.catalogue.is_empty() {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let bytes = match axum::body::to_bytes(body, 1 << 20).await {
        Ok(b) => b,
        Err(_) => return ApiError::Internal("an error body could not be read".into()).into_response(),
    };
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Response::from_parts(parts, axum::body::Body::from(bytes));
    };
    let spoken = value.get_mut("error").is_some_and(|error| speak(&pack, error));
    if !spoken {
        return Response::from_parts(parts, axum::body::Body::from(bytes));
    }
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(value.to_string()))
}

/// Refuses a decision or search request without a PEP token, when the
/// service is configured with some.
pub(super) async fn require_decision_token(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if state.decision_token_ok(req.headers()) {
        Ok(next.run(req).await)
    } else {
        Err(ApiError::DecisionUnauthorized)
    }
}

/// Refuses a request without the admin bearer token.
pub(super) async fn require_admin(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if state.token_ok(req.headers()) {
        Ok(next.run(req).await)
    } else {
        Err(ApiError::Unauthorized)
    }
}

/// Answers axum's own rejections (a path or query string that does not parse,
/// a method the route does not take, a request that timed out) in the error
/// shape of every other error: a code and a message in English and French.
pub(super) async fn json_errors(req: Request, next: Next) -> Response {
    // Kept for a 405 only (an Arc and the path: nothing is computed per request).
    let doc = req.extensions().get::<openapi::Document>().cloned();
    let path = req.uri().clone();
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    let timed_out = matches!(status.as_u16(), 408 | 503 | 504);
    // The console answers in HTML, its errors included.
    let console = path.path().starts_with("/console/") || path.path() == "/console";
    if is_json || console || !(status.is_client_error() || timed_out) {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 16 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let reason = status.canonical_reason().unwrap_or("error");
    let (code, en, fr) = match status.as_u16() {
        405 => {
            let allowed = doc.map(|d| methods_of(&d, path.path())).unwrap_or_default();
            if !allowed.is_empty()
                && let Ok(v) = HeaderValue::from_str(&allowed.join(", "))
            {
                parts.headers.insert(axum::http::header::ALLOW, v);
            }
            let list = if allowed.is_empty() {
                "another method".to_string()
            } else {
                allowed.join(", ")
            };
            (
                "method_not_allowed".to_string(),
                format!("this path does not take that method; it takes {list}"),
                format!("ce chemin n'accepte pas cette méthode ; il accepte {list}"),
            )
        }
        408 | 503 | 504 => (
            "timeout".to_string(),
            "the request took too long and was stopped; nothing was acknowledged, try again".to_string(),
            "la requête a pris trop de temps et a été interrompue ; rien n'a été confirmé, réessayez"
                .to_string(),
        ),
        413 => (
            "payload_too_large".to_string(),
            "the request body is too large".to_string(),
            "le corps de la requête est trop volumineux".to_string(),
        ),
        415 => (
            "unsupported_content_type".to_string(),
            "the body must be JSON, sent with `Content-Type: application/json`".to_string(),
            "le corps doit être du JSON, envoyé avec `Content-Type: application/json`".to_string(),
        ),
        404 => (
            "not_found".to_string(),
            if text.is_empty() {
                "not found".to_string()
            } else {
                text.clone()
            },
            "introuvable".to_string(),
        ),
        _ => (
            match status.as_u16() {
                400 => "invalid_request".to_string(),
                _ => reason.to_ascii_lowercase().replace([' ', '-'], "_"),
            },
            if text.is_empty() {
                reason.to_string()
            } else {
                text.clone()
            },
            "la requête est invalide".to_string(),
        ),
    };
    metrics::counter!("turnstile_http_errors_total", "code" => code.clone()).increment(1);
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    parts.headers.remove(axum::http::header::CONTENT_TYPE);
    let body = axum::Json(serde_json::json!({"error": {"code": code, "message": {"en": en, "fr": fr}}}));
    (parts, body).into_response()
}

/// The methods the API documents for the route `path` falls under, sorted.
fn methods_of(doc: &openapi::Document, path: &str) -> Vec<String> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let mut out: Vec<String> = Vec::new();
    for (template, item) in &doc.paths.paths {
        let t: Vec<&str> = template.split('/').collect();
        let fits = t.len() == segments.len()
            && t.iter()
                .zip(&segments)
                .all(|(a, b)| (a.starts_with('{') && a.ends_with('}') && !b.is_empty()) || a == b);
        if !fits {
            continue;
        }
        for (method, op) in [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
        ] {
            if op.is_some() && !out.iter().any(|m| m == method) {
                out.push(method.to_string());
            }
        }
    }
    out.sort();
    out
}

/// Refuses requests whose headers are too many or too large with a 431 the
/// caller can read (JSON, en + fr), below the connection's own hard limit
/// where hyper would close with an empty 431. Counted in `/metrics`.
pub(super) async fn bound_headers(req: Request, next: Next) -> Response {
    let headers = req.headers();
    let total: usize = headers.iter().map(|(k, v)| k.as_str().len() + v.len()).sum();
    if headers.len() > MAX_HEADERS
        || total > MAX_HEADER_BYTES
        || headers.values().any(|v| v.len() > MAX_HEADER_VALUE)
    {
        // Outermost, before any layer drops a header: counted here, as
        // `observe::track` would (no route was matched yet).
        metrics::histogram!(
            "http_request_duration_seconds",
            "route" => "unmatched",
            "method" => req.method().to_string(),
            "status" => "431"
        )
        .record(0.0);
        return ApiError::HeadersTooLarge.into_response();
    }
    next.run(req).await
}

/// Drops a caller's `X-Request-ID` that is too long or not plain visible
/// ASCII (a new one is made up): it is echoed in every answer and log line.
pub(super) async fn bound_request_id(mut req: Request, next: Next) -> Response {
    let bad = req.headers().get(&REQUEST_ID).is_some_and(|v| {
        let b = v.as_bytes();
        b.is_empty() || b.len() > 128 || b.iter().any(|c| !(0x21..=0x7e).contains(c))
    });
    if bad {
        req.headers_mut().remove(&REQUEST_ID);
    }
    next.run(req).await
}

/// Request ids: kept from the caller's `X-Request-ID`, else made up.
#[derive(Clone, Default)]
pub(super) struct MakeUlid;

impl MakeRequestId for MakeUlid {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&ulid::Ulid::new().to_string())
            .ok()
            .map(RequestId::new)
    }
}
