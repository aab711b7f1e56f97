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
