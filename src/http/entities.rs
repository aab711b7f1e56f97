//! `PUT /v1/entities` and `GET /v1/entities`: entities of other packs.

use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, BadRequest, Conflict, Internal, PayloadTooLarge, Unauthorized, Unprocessable};
use super::json::Json;
use super::openapi::{CedarEntity, EntitiesStored, EntityPage};
use crate::import::{self, ImportError};

/// `PUT /v1/entities`: upserts an array of Cedar entities, all or nothing.
#[utoipa::path(
    put,
    path = "/v1/entities",
    tag = "admin",
    operation_id = "put_entities",
    summary = "Upsert entities of other packs",
    description = "Upserts an array of Cedar entities (Cedar's entity JSON format), validated against \
        the pack's schema, all or nothing. Entities of the ledger's own types are refused (409 \
        `ledger_type`); invalid ones are a 422 `invalid_entities`.",
    security(("admin_token" = [])),
    request_body = Vec<CedarEntity>,
    responses(
        (status = 200, description = "How many were stored", body = EntitiesStored),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
        (status = 500, response = Internal),
    ),
)]
pub(crate) async fn put(
    State(state): State<AppState>,
    Json(body): Json<Value>,
) -> Result<axum::Json<Value>, ApiError> {
    let pack = state.engine().pack();
    let rows = import::check(&pack, &body).map_err(|e| match e {
        ImportError::LedgerType { .. } => ApiError::conflict("ledger_type", e.to_string()),
        ImportError::Store(e) => e.into(),
        other => ApiError::unprocessable("invalid_entities", other.to_string()),
    })?;
    let store = state.engine().store().clone();
    let stored = store.write(move |tx| import::store_rows(tx, &rows)).await?;
    Ok(axum::Json(json!({
        "stored": stored,
        "data_revision": state.engine().store().data_revision(),
    })))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only entities of this Cedar type.
    #[serde(rename = "type")]
    ty: Option<String>,
    /// Start after this entity (with `after_id`; the previous page's `next`).
    after_type: Option<String>,
    after_id: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: Option<usize>,
}

/// `GET /v1/entities?type=T&limit=N&after_type=..&after_id=..`: one page.
#[utoipa::path(
    get,
    path = "/v1/entities",
    tag = "admin",
    operation_id = "list_entities",
    summary = "List stored entities, one page at a time",
    security(("admin_token" = [])),
    params(ListParams),
    responses(
        (status = 200, description = "One page, sorted by type then id", body = EntityPage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 500, response = Internal),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    Query(p): Query<ListParams>,
) -> Result<axum::Json<Value>, ApiError> {
    let limit = p.limit.unwrap_or(100);
    if limit == 0 || limit > 1000 {
        return Err(ApiError::invalid_field(
            "limit",
            "`limit` must be between 1 and 1000",
        ));
    }
    let store = state.engine().store().clone();
    let rows = tokio::task::spawn_blocking(move || {
        let after_type = p.after_type.clone().or(p.ty.clone()).unwrap_or_default();
        let after = p
            .after_id
            .as_deref()
            .map(|id| (after_type.clone(), id.to_string()));
        store.read(|c| {
            c.entities_page(
                p.ty.as_deref(),
                after.as_ref().map(|(t, i)| (t.as_str(), i.as_str())),
                limit,
            )
        })
    })
    .await??;
    let next = if rows.len() == limit {
        rows.last()
            .map(|(t, i, _)| json!({"after_type": t, "after_id": i}))
    } else {
        None
    };
    let entities: Vec<Value> = rows
        .into_iter()
        .filter_map(|(_, _, j)| serde_json::from_str(&j).ok())
        .collect();
    Ok(axum::Json(json!({ "entities": entities, "next": next })))
}
