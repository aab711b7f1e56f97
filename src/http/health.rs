//! Liveness and readiness.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;

/// `GET /health/live`: the process answers.
pub async fn live() -> Json<Value> {
    Json(json!({"status": "live"}))
}

/// `GET /health/ready`: policies loaded and the database readable.
pub async fn ready(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let engine = state.engine().clone();
    let store_ok = tokio::task::spawn_blocking(move || {
        engine
            .store()
            .read(|c| Ok(c.query_row("SELECT 1", [], |_| Ok(()))?))
    })
    .await?;
    if let Err(e) = store_ok {
        return Err(ApiError::Unavailable(format!("the database cannot be read: {e}")));
    }
    let pack = state.engine().pack();
    Ok(Json(json!({
        "status": "ready",
        "policy_revision": pack.revision,
        "policies": pack.policies.num_of_policies(),
        "entity_level": pack.level,
        "data_revision": state.engine().store().data_revision(),
    })))
}

/// `POST /v1/admin/reload`: reads, validates and swaps in the policy directory.
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
