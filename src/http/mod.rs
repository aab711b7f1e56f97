//! http: the routes by surface (AuthZEN, ledger, admin, health) and the state
//! they share. Handlers parse, call into the library, and shape the answer;
//! the status codes live in [`error::ApiError`] alone.

pub mod authzen;
pub mod entities;
pub mod error;
pub mod explain_api;
pub mod health;
pub mod json;
pub mod layers;
pub mod ledger_api;
pub mod observe;
pub mod openapi;
pub mod search_api;

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderName};
use axum::middleware;
use axum::{Extension, Router};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::decide::{Decision, Engine, Query};
use error::ApiError;

/// The header AuthZEN clients send and expect back.
pub(crate) static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

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
    pub(crate) fn with_revision_wait(self, wait: std::time::Duration) -> Self {
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
    pub(crate) fn decisions_need_token(&self) -> bool {
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

    pub(crate) fn reloader(&self) -> &Arc<crate::reload::Reloader> {
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
    pub(crate) fn public_url(&self, headers: &HeaderMap) -> String {
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
pub(crate) static REVISION: HeaderName = HeaderName::from_static("turnstile-revision");
/// The header a decision may carry: evaluate on data at least this fresh.
pub(crate) static MIN_REVISION: HeaderName = HeaderName::from_static("turnstile-min-revision");

/// At most this many request headers (more: 431, in JSON).
pub(crate) const MAX_HEADERS: usize = 100;
/// At most this many bytes of header names and values in all.
pub(crate) const MAX_HEADER_BYTES: usize = 64 * 1024;
/// At most this many bytes in one header value.
pub(crate) const MAX_HEADER_VALUE: usize = 16 * 1024;

/// The HTTP API alone (no console): what the scenario runner drives.
pub fn app(state: AppState) -> Router {
    app_with(state, Router::new())
}

/// The whole HTTP API, with `pages` (the console, see [`crate::app`]) nested
/// at `/console` behind the same outer layers. Every API route is registered
/// with `routes!`, which takes the path and method from the handler's
/// `#[utoipa::path]` and adds its documentation to the OpenAPI document served
/// at `GET /openapi.json`.
pub(crate) fn app_with(state: AppState, pages: Router<AppState>) -> Router {
    let admin = OpenApiRouter::default()
        .merge(ledger_api::routes())
        .routes(routes!(entities::list, entities::put))
        .routes(routes!(explain_api::explain))
        .routes(routes!(health::reload))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            layers::pack_messages,
        ))
        .route_layer(middleware::from_fn(layers::report_revision))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            layers::require_admin,
        ));
    let decisions = OpenApiRouter::default()
        .routes(routes!(authzen::evaluation))
        .routes(routes!(authzen::evaluations))
        .routes(routes!(search_api::subject))
        .routes(routes!(search_api::resource))
        .routes(routes!(search_api::action))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            layers::require_min_revision,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            layers::require_decision_token,
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
        .layer(middleware::from_fn(layers::bound_headers))
        .layer(middleware::from_fn(layers::bound_request_id))
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), layers::MakeUlid))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(Extension(openapi::Document::new(document)))
        .layer(middleware::from_fn(layers::json_errors))
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
