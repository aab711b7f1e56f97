//! Liveness and readiness.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, Conflict, Internal, Unauthorized, Unavailable, Unprocessable};
use super::openapi::{Live, Ready};
use crate::reload::Reloaded;

/// `GET /health/live`: the process answers.
#[utoipa::path(
    get,
    path = "/health/live",
    tag = "health",
    summary = "Liveness",
    responses((status = 200, description = "The process answers", body = Live)),
)]
pub async fn live() -> Json<Value> {
    Json(json!({"status": "live"}))
}

/// `GET /health/ready`: policies loaded and the database readable.
#[utoipa::path(
    get,
    path = "/health/ready",
    tag = "health",
    summary = "Readiness",
    description = "Ready when the policies are loaded, the database answers, and (PostgreSQL) the \
        database has confirmed this node's cached data within `--max-staleness`. Says which node, \
        backend and data revision this is, and how far its caches lag.",
    responses(
        (status = 200, description = "Policies loaded and the database readable", body = Ready),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn ready(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let engine = state.engine().clone();
    let store_ok = tokio::task::spawn_blocking(move || engine.store().read(|c| c.ping())).await?;
    if let Err(e) = store_ok {
        return Err(ApiError::Unavailable(format!("the database cannot be read: {e}")));
    }
    if !state.engine().store().writable() {
        return Err(ApiError::Unavailable(
            "the database writer has stopped: this node cannot change the ledger".into(),
        ));
    }
    let engine = state.engine();
    let status = engine.store().status();
    if status.staleness_ms > engine.max_staleness_ms() {
        return Err(ApiError::Unavailable(format!(
            "the database has not confirmed this node's data for {:.1} s (the limit is {:.1} s)",
            status.staleness_ms as f64 / 1000.0,
            engine.max_staleness_ms() as f64 / 1000.0
        )));
    }
    let pack = engine.pack();
    let on_disk = match state.reloader().refused() {
        Some(r) => json!({"state": "refused", "since": r.since, "problems": r.problems}),
        None => json!({"state": "serving"}),
    };
    Ok(Json(json!({
        "status": "ready",
        "policy_revision": pack.revision,
        "policies_on_disk": on_disk,
        "policies": pack.policies.num_of_policies(),
        "entity_level": pack.level,
        "data_revision": status.data_revision,
        "node": engine.node(),
        "backend": status.backend,
        "store": {
            "location": status.location,
            "staleness_ms": status.staleness_ms,
            "listening": status.listening,
        },
    })))
}

/// `POST /v1/admin/reload`: reads, validates and swaps in the policy directory.
#[utoipa::path(
    post,
    path = "/v1/admin/reload",
    tag = "admin",
    summary = "Reload the policy directory",
    description = "Reads, validates and swaps in the policy directory. A set with problems is \
        refused (422 `invalid_policies`, every problem in `details.problems`) and the previous one \
        keeps serving; a service running the built-in pack cannot reload (409 `embedded_pack`).",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The revision serving now (`changed`: whether anything changed)",
            body = Reloaded),
        (status = 401, response = Unauthorized),
        (status = 409, response = Conflict),
        (status = 422, response = Unprocessable),
        (status = 500, response = Internal),
    ),
)]
pub async fn reload(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    match state.reloader().reload("api").await {
        Ok(r) => Ok(Json(json!(r))),
        Err(e @ crate::reload::ReloadError::Embedded) => {
            Err(ApiError::conflict("embedded_pack", e.to_string()))
        }
        Err(crate::reload::ReloadError::Invalid(e)) => Err(ApiError::Unprocessable {
            code: "invalid_policies",
            message: format!(
                "the new policies were refused ({} problem{}); the previous ones keep serving",
                e.problems.len(),
                if e.problems.len() == 1 { "" } else { "s" }
            ),
            field: None,
            details: Some(Box::new(json!({ "problems": e.problems }))),
        }),
        Err(e) => Err(ApiError::Internal(e.to_string())),
    }
}
