//! http: the routes by surface (AuthZEN, ledger, admin, health) and the state
//! they share. Handlers parse, call into the library, and shape the answer;
//! the status codes live in [`error::ApiError`] alone.

pub mod authzen;
pub mod entities;
pub mod error;
pub mod explain;
pub mod health;
pub mod json;
pub mod ledger;
pub mod observe;
pub mod openapi;
pub mod search;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::decide::{Decision, Engine, Query};
use error::ApiError;

/// The header AuthZEN clients send and expect back.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// What every handler shares; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Arc<Engine>,
    limits: observe::Limits,
    reloader: Arc<crate::reload::Reloader>,
    ledger: crate::ledger::Ledger,
    /// SHA-256 of the admin token: compared in constant time, never logged.
    admin_token_hash: [u8; 32],
    /// The key console sessions are signed with, derived from the admin
    /// token: every node with the same token accepts the same sessions.
    console_key: [u8; 32],
    /// The scenario folder the console checks policy edits against.
    scenarios: Option<std::path::PathBuf>,
    /// SHA-256 of each PEP token allowed to ask decisions; empty: no token is
    /// asked. Distinct from the admin token, which does not open decisions.
    decision_token_hashes: Vec<[u8; 32]>,
    public_url: Option<String>,
    /// How long a request asking `Turnstile-Min-Revision` may wait for it.
    revision_wait: std::time::Duration,
}

impl AppState {
    /// `policy_dir`: where the serving pack was read from (`None` for the
    /// embedded pack, which cannot be reloaded).
    pub fn new(
        engine: Arc<Engine>,
        admin_token: &str,
        public_url: Option<String>,
        policy_dir: Option<std::path::PathBuf>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                limits: observe::Limits::default(),
                reloader: Arc::new(crate::reload::Reloader::new(engine.clone(), policy_dir)),
                ledger: crate::ledger::Ledger::new(engine.clone()),
                engine,
                admin_token_hash: Sha256::digest(admin_token.as_bytes()).into(),
                console_key: Sha256::digest(format!("turnstile console session\n{admin_token}").as_bytes())
                    .into(),
                scenarios: None,
                decision_token_hashes: Vec::new(),
                revision_wait: std::time::Duration::from_secs(2),
                public_url: public_url.map(|u| u.trim_end_matches('/').to_string()),
            }),
        }
    }

    /// The same state with other request limits (call before serving).
    pub fn with_limits(self, limits: observe::Limits) -> Self {
        self.edit(|inner| inner.limits = limits)
    }

    /// The same state asking PEPs for one of `tokens` on decision and search
    /// routes (call before serving; empty tokens are ignored).
    pub fn with_decision_tokens(self, tokens: &[String]) -> Self {
        let hashes = tokens
            .iter()
            .map(|t| t.trim())
            .filter(|t| !t.is_empty())
            .map(|t| Sha256::digest(t.as_bytes()).into())
            .collect();
        self.edit(|inner| inner.decision_token_hashes = hashes)
    }

    /// The same state waiting at most `wait` for a `Turnstile-Min-Revision`.
    pub fn with_revision_wait(self, wait: std::time::Duration) -> Self {
        self.edit(|inner| inner.revision_wait = wait)
    }

    /// The same state with the scenario folder the console checks edits against.
    pub fn with_scenarios(self, dir: Option<std::path::PathBuf>) -> Self {
        self.edit(|inner| inner.scenarios = dir)
    }

    pub fn scenarios(&self) -> Option<&std::path::Path> {
        self.inner.scenarios.as_deref()
    }

    pub(crate) fn console_key(&self) -> &[u8; 32] {
        &self.inner.console_key
    }

    /// Whether `token` is the admin token (compared in constant time).
    pub(crate) fn admin_token_is(&self, token: &str) -> bool {
        let given: [u8; 32] = Sha256::digest(token.trim().as_bytes()).into();
        given.ct_eq(&self.inner.admin_token_hash).into()
    }

    /// Whether decisions ask for a PEP token.
    pub fn decisions_need_token(&self) -> bool {
        !self.inner.decision_token_hashes.is_empty()
    }

    /// Changes the state while nobody else holds it (a shared state is kept as is).
    fn edit(self, change: impl FnOnce(&mut Inner)) -> Self {
        match Arc::try_unwrap(self.inner) {
            Ok(mut inner) => {
                change(&mut inner);
                Self {
                    inner: Arc::new(inner),
                }
            }
            Err(shared) => Self { inner: shared },
        }
    }

    pub fn limits(&self) -> observe::Limits {
        self.inner.limits
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.inner.engine
    }

    pub fn reloader(&self) -> &Arc<crate::reload::Reloader> {
        &self.inner.reloader
    }

    pub fn ledger(&self) -> &crate::ledger::Ledger {
        &self.inner.ledger
    }

    /// Decides each query. Those whose entities are all cached are decided
    /// right here (microseconds of CPU); the others, and large batches, go to the
    /// blocking pool, where SQLite is read.
    pub async fn decide(
        &self,
        queries: Vec<Query>,
    ) -> Result<Vec<(Result<Decision, ApiError>, String)>, ApiError> {
        const INLINE_MAX: usize = 16;
        let engine = self.inner.engine.clone();
        let answer = |d: Result<Decision, crate::decide::DecideError>| {
            let d = d.map_err(ApiError::from);
            let id = d.as_ref().map(|d| d.id.clone()).unwrap_or_default();
            (d, id)
        };
        if queries.len() > INLINE_MAX {
            return Ok(tokio::task::spawn_blocking(move || {
                queries
                    .iter()
                    .map(|q| answer(engine.decide(q)))
                    .collect::<Vec<_>>()
            })
            .await?);
        }
        let mut out: Vec<Option<(Result<Decision, ApiError>, String)>> = Vec::with_capacity(queries.len());
        let mut pending = Vec::new();
        for (i, q) in queries.into_iter().enumerate() {
            match engine.decide_in_memory(&q) {
                Some(d) => out.push(Some(answer(d))),
                None => {
                    out.push(None);
                    pending.push((i, q));
                }
            }
        }
        if !pending.is_empty() {
            let done = tokio::task::spawn_blocking(move || {
                pending
                    .into_iter()
                    .map(|(i, q)| (i, answer(engine.decide(&q))))
                    .collect::<Vec<_>>()
            })
            .await?;
            for (i, a) in done {
                out[i] = Some(a);
            }
        }
        Ok(out
            .into_iter()
            .map(|a| a.unwrap_or_else(|| (Err(ApiError::Internal("no decision".into())), String::new())))
            .collect())
    }

    /// The base URL this service is reached at.
    pub fn public_url(&self, headers: &HeaderMap) -> String {
        if let Some(u) = &self.inner.public_url {
            return u.clone();
        }
        let host = headers
            .get("x-forwarded-host")
            .or_else(|| headers.get(axum::http::header::HOST))
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        let scheme = headers
            .get("x-forwarded-proto")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("http");
        format!("{scheme}://{host}")
    }

    fn token_ok(&self, headers: &HeaderMap) -> bool {
        bearer_hash(headers).is_some_and(|given| given.ct_eq(&self.inner.admin_token_hash).into())
    }

    /// Whether the request carries one of the PEP tokens (or none is asked).
    /// Every token is compared, in constant time, whichever matches.
    fn decision_token_ok(&self, headers: &HeaderMap) -> bool {
        if self.inner.decision_token_hashes.is_empty() {
            return true;
        }
        let Some(given) = bearer_hash(headers) else {
            return false;
        };
        let mut ok = subtle::Choice::from(0);
        for h in &self.inner.decision_token_hashes {
            ok |= given.ct_eq(h);
        }
        ok.into()
    }
}

/// SHA-256 of the bearer token in `Authorization`, if there is one: hashes
/// have the same length whatever the token, so comparing them leaks nothing.
fn bearer_hash(headers: &HeaderMap) -> Option<[u8; 32]> {
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token)?;
    Some(Sha256::digest(given.trim().as_bytes()).into())
}

/// The header a write answers with: the data revision it committed.
pub static REVISION: HeaderName = HeaderName::from_static("turnstile-revision");
/// The header a decision may carry: evaluate on data at least this fresh.
pub static MIN_REVISION: HeaderName = HeaderName::from_static("turnstile-min-revision");

/// Answers every ledger or entity write with the data revision it committed:
/// the `Turnstile-Revision` header, and `data_revision` in a JSON object body.
async fn report_revision(req: Request, next: Next) -> Response {
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
async fn require_min_revision(
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
async fn pack_messages(State(state): State<AppState>, req: Request, next: Next) -> Response {
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

/// Gives an error (the `error` object of an answer) the pack's words: when
/// the catalogue has its `code` (and no policy refused, whose own message
/// stands), `message` becomes the catalogue's text in every language, filled.
/// Returns whether it changed.
pub(crate) fn speak(pack: &crate::policy::PolicyPack, error: &mut serde_json::Value) -> bool {
    let texts = error
        .get("code")
        .and_then(serde_json::Value::as_str)
        .filter(|_| error.get("policies").is_none())
        .and_then(|code| pack.catalogue.get(code));
    let Some(texts) = texts else {
        return false;
    };
    let filled = texts.fill(&placeholders(error));
    error["message"] = serde_json::json!(filled);
    true
}

/// What an error says to a person: its status, its message in every
/// language it has (the pack's words where the catalogue has them), and the
/// policies that refused, if a policy did. Logs what the caller is not shown.
pub(crate) fn error_words(
    pack: &crate::policy::PolicyPack,
    err: &ApiError,
) -> (axum::http::StatusCode, crate::policy::Messages, Vec<String>) {
    if let ApiError::Internal(cause) = err {
        tracing::error!(%cause, "request failed");
    }
    let mut body = err.body();
    if let Some(error) = body.get_mut("error") {
        speak(pack, error);
    }
    let messages = serde_json::from_value(body["error"]["message"].clone()).unwrap_or_default();
    let policies = serde_json::from_value(body["error"]["policies"].clone()).unwrap_or_default();
    (err.status(), messages, policies)
}

/// What a catalogue text's `{key}` may name: the error's `details.key`, else
/// its own `key` (a list as `a, b`).
fn placeholders(error: &serde_json::Value) -> Vec<(String, String)> {
    [error.get("details"), Some(error)]
        .into_iter()
        .flatten()
        .filter_map(serde_json::Value::as_object)
        .flat_map(|map| map.iter())
        .filter_map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map(str::to_string).unwrap_or_else(|| i.to_string()))
                    .collect::<Vec<_>>()
                    .join(", "),
                serde_json::Value::Number(n) => n.to_string(),
                _ => return None,
            };
            Some((k.clone(), text))
        })
        .collect()
}

/// Refuses a decision or search request without a PEP token, when the
/// service is configured with some.
async fn require_decision_token(
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
async fn require_admin(
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
async fn json_errors(req: Request, next: Next) -> Response {
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

/// Drops a caller's `X-Request-ID` that is too long or not plain visible
/// ASCII (a new one is made up): it is echoed in every answer and log line.
/// At most this many request headers (more: 431, in JSON).
pub const MAX_HEADERS: usize = 100;
/// At most this many bytes of header names and values in all.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// At most this many bytes in one header value.
pub const MAX_HEADER_VALUE: usize = 16 * 1024;

/// Refuses requests whose headers are too many or too large with a 431 the
/// caller can read (JSON, en + fr), below the connection's own hard limit
/// where hyper would close with an empty 431. Counted in `/metrics`.
async fn bound_headers(req: Request, next: Next) -> Response {
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

async fn bound_request_id(mut req: Request, next: Next) -> Response {
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
struct MakeUlid;

impl MakeRequestId for MakeUlid {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&ulid::Ulid::new().to_string())
            .ok()
            .map(RequestId::new)
    }
}

/// The HTTP API alone (no console): what the scenario runner drives.
pub fn app(state: AppState) -> Router {
    app_with(state, Router::new())
}

/// The whole HTTP API, with `pages` (the console, see [`crate::app`]) nested
/// at `/console` behind the same outer layers. Every API route is registered
/// with `routes!`, which takes the path and method from the handler's
/// `#[utoipa::path]` and adds its documentation to the OpenAPI document served
/// at `GET /openapi.json`.
pub fn app_with(state: AppState, pages: Router<AppState>) -> Router {
    let admin = OpenApiRouter::default()
        .merge(ledger::routes())
        .routes(routes!(entities::list, entities::put))
        .routes(routes!(explain::explain))
        .routes(routes!(health::reload))
        .route_layer(middleware::from_fn_with_state(state.clone(), pack_messages))
        .route_layer(middleware::from_fn(report_revision))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_admin));
    let decisions = OpenApiRouter::default()
        .routes(routes!(authzen::evaluation))
        .routes(routes!(authzen::evaluations))
        .routes(routes!(search::subject))
        .routes(routes!(search::resource))
        .routes(routes!(search::action))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            require_min_revision,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            require_decision_token,
        ));
    let (router, mut document) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(authzen::discovery))
        .merge(decisions)
        .routes(routes!(health::live))
        .routes(routes!(health::ready))
        .routes(routes!(observe::metrics))
        .routes(routes!(openapi::document))
        .merge(admin)
        .split_for_parts();
    utoipa::Modify::modify(&openapi::AtLeastOne, &mut document);
    let limits = state.limits();
    // The layers every request crosses, outermost first, as one stack: each
    // `Router::layer` call boxes every route once more, and a request clones
    // every box (with five calls, the clones were ~6 % of a decision's server
    // time in a perf profile).
    let common = tower::ServiceBuilder::new()
        .layer(middleware::from_fn(bound_headers))
        .layer(middleware::from_fn(bound_request_id))
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeUlid))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(Extension(openapi::Document::new(document)))
        .layer(middleware::from_fn(json_errors))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            limits.timeout,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(limits.max_body))
        .layer(middleware::from_fn(observe::track));
    router
        .nest("/console", pages)
        .fallback(|| async { ApiError::not_found("route") })
        .with_state(state)
        .layer(common)
}
