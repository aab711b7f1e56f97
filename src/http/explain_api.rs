//! `POST /v1/explain`: why a request gets its answer (admin only: it shows
//! policy internals and the values they read).

use axum::extract::State;
use serde_json::Value;

use super::AppState;
use super::authzen::parse_evaluation;
use super::error::{ApiError, BadRequest, Internal, PayloadTooLarge, Unauthorized};
use super::json::Json;
use crate::explain::{self, Explanation};
use crate::slice::Source;

/// Body: an AuthZEN evaluation request, plus an optional `at` (RFC 3339) to
/// explain the answer at another time than now.
#[utoipa::path(
    post,
    path = "/v1/explain",
    tag = "admin",
    summary = "Why a request gets its answer",
    description = "For each policy that can apply to the action: did its scope match, and each \
        `when`/`unless` clause evaluated on its own, with the values it read.",
    security(("admin_token" = [])),
    request_body = super::openapi::ExplainRequest,
    responses(
        (status = 200, description = "The explanation", body = Explanation),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = PayloadTooLarge),
        (status = 500, response = Internal),
    ),
)]
pub async fn explain(
    State(state): State<AppState>,
    Json(body): Json<Value>,
) -> Result<axum::Json<Explanation>, ApiError> {
    let query = parse_evaluation(&body)?;
    let at = match body.get("at") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            Some(crate::time::parse(s).map_err(|m| ApiError::invalid_field("at", format!("`at`: {m}")))?)
        }
        Some(_) => return Err(ApiError::invalid_field("at", "`at` must be an RFC 3339 string")),
    };
    let engine = state.engine().clone();
    let x = tokio::task::spawn_blocking(move || {
        let pack = engine.pack();
        let now = at.unwrap_or_else(|| engine.clock().now());
        explain::explain(&engine, &pack, Source::Store(engine.store()), now, &query)
    })
    .await??;
    Ok(axum::Json(x))
}
