//! The licence ledger's routes, all behind the admin token.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::AppState;
use super::error::ApiError;
use super::json::JsonObject as Json;
use crate::ledger::LedgerError;
use crate::ledger::inputs::{
    ByOnly, LinkOperator, NewAccount, NewHub, NewOperator, NewOwnOperator, NewProduction, NewRole,
    NewSubscription, NewTenant, NewUser, OperatorChange, SubscriptionChange, UserChange,
};

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::NotFound(what) => ApiError::NotFound(what),
            LedgerError::Invalid { field, message } => ApiError::Unprocessable {
                code: "invalid_field",
                message,
                field: Some(field),
                details: None,
            },
            LedgerError::Conflict { code, field, message } => ApiError::Conflict { code, message, field },
            LedgerError::TenantRequired { candidates } => ApiError::Unprocessable {
                code: "tenant_required",
                message: format!(
                    "the account has {} tenants: name the one to create the hub for in `tenant` ({})",
                    candidates.len(),
                    candidates.join(", ")
                ),
                field: Some("tenant".into()),
                details: Some(Box::new(json!({ "candidates": candidates }))),
            },
            LedgerError::Refused(d) => ApiError::Forbidden(d),
            LedgerError::Store(e) => e.into(),
            LedgerError::Decide(m) => ApiError::Internal(m),
        }
    }
}

/// A body that may be absent (then `T::default()`), else JSON like any other.
pub struct OptionalJson<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for OptionalJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Default,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let has_type = req.headers().contains_key(axum::http::header::CONTENT_TYPE);
        if !has_type {
            let bytes = Bytes::from_request(req, state)
                .await
                .map_err(|e| ApiError::bad_request(format!("cannot read the body: {e}")))?;
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Ok(OptionalJson(T::default()));
            }
            return Err(ApiError::BadRequest {
                code: "unsupported_content_type",
                message: "the body must be JSON, sent with `Content-Type: application/json`".into(),
                field: None,
            });
        }
        let Json(v) = Json::<T>::from_request(req, state).await?;
        Ok(OptionalJson(v))
    }
}

fn created<T: serde::Serialize>(v: T) -> Response {
    (StatusCode::CREATED, axum::Json(v)).into_response()
}

fn ok<T: serde::Serialize>(v: T) -> Response {
    axum::Json(v).into_response()
}

fn number(s: &str) -> Result<i64, ApiError> {
    s.parse::<i64>()
        .map_err(|_| ApiError::not_found(format!("subscription `{s}`")))
}

#[derive(Debug, Deserialize)]
struct DryRun {
    #[serde(default)]
    dry_run: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ByParam {
    #[serde(default)]
    by: Option<String>,
}

/// The ledger routes (the caller adds the admin-token layer).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/accounts", post(create_account))
        .route("/v1/accounts/{account}", get(get_account))
        .route("/v1/accounts/{account}/tenants", post(create_tenant))
        .route("/v1/accounts/{account}/hubs", post(create_hub))
        .route("/v1/tenants/{tenant}", get(get_tenant))
        .route(
            "/v1/tenants/{tenant}/subscriptions",
            post(create_subscription).get(list_subscriptions),
        )
        .route(
            "/v1/tenants/{tenant}/subscriptions/{number}",
            patch(change_subscription),
        )
        .route("/v1/tenants/{tenant}/subscriptions/{number}/payment", post(pay))
        .route("/v1/tenants/{tenant}/roles", post(create_role).get(list_roles))
        .route("/v1/tenants/{tenant}/users", post(create_user).get(list_users))
        .route("/v1/users/{user}", get(get_user).patch(update_user))
        .route(
            "/v1/users/{user}/license",
            put(assign_license).delete(revoke_license),
        )
        .route(
            "/v1/users/{user}/operator",
            post(create_own_operator).put(link_operator),
        )
        .route(
            "/v1/tenants/{tenant}/operators",
            post(add_operator).get(list_operators),
        )
        .route("/v1/operators/{operator}", patch(update_operator))
        .route("/v1/operators/{operator}/production", post(record_production))
        .route("/v1/tenants/{tenant}/seats", get(seats))
        .route("/v1/tenants/{tenant}/notices", get(notices))
        .route("/v1/tenants/{tenant}/reconcile", post(reconcile))
}

async fn create_account(State(s): State<AppState>, Json(b): Json<NewAccount>) -> Result<Response, ApiError> {
    Ok(created(s.ledger().create_account(b).await?))
}

async fn get_account(State(s): State<AppState>, Path(account): Path<String>) -> Result<Response, ApiError> {
    Ok(ok(s.ledger().get_account(account).await?))
}

async fn create_tenant(
    State(s): State<AppState>,
    Path(account): Path<String>,
    Json(b): Json<NewTenant>,
) -> Result<Response, ApiError> {
    Ok(created(s.ledger().create_tenant(account, b).await?))
}

async fn create_hub(
    State(s): State<AppState>,
    Path(account): Path<String>,
    Json(b): Json<NewHub>,
) -> Result<Response, ApiError> {
    Ok(created(s.ledger().create_hub(account, b).await?))
}

async fn get_tenant(State(s): State<AppState>, Path(tenant): Path<String>) -> Result<Response, ApiError> {
    Ok(ok(s.ledger().get_tenant(tenant).await?))
}

async fn create_subscription(
    State(s): State<AppState>,
    Path(tenant): Path<String>,
    Json(b): Json<NewSubscription>,
) -> Result<Response, ApiError> {
    Ok(created(s.ledger().create_subscription(tenant, b).await?))
}

async fn list_subscriptions(
    State(s): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Response, ApiError> {
    Ok(ok(s.ledger().list_subscriptions(tenant).await?))
}

async fn change_subscription(
    State(s): State<AppState>,
    Path((tenant, n)): Path<(String, String)>,
    Json(b): Json<SubscriptionChange>,
) -> Result<Response, ApiError> {
    Ok(ok(s.ledger().change_subscription(tenant, number(&n)?, b).await?))
}

async fn pay(
    State(s): State<AppState>,
    Path((tenant, n)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(ok(s.ledger().pay(tenant, number(&n)?).await?))
}

async fn create_role(
    State(s): State<AppState>,
    Path(tenant): Path<String>,
    Json(b): Json<NewRole>,
) -> Result<Response, ApiError> {
    Ok(created(s.ledger().create_role(tenant, b).await?))
}

async fn list_roles(State(s): State<AppState>, Path(tenant): Path<String>) -> Result<Response, ApiError> {
    Ok(ok(s.ledger().list_roles(tenant).await?))
}

async fn create_user(
    State(s): State<AppState>,
    Path(tenant): Path<String>,
    Json(b): Json<NewUser>,
) -> Result<Response, ApiError> {
    Ok(created(s.ledger().create_user(tenant, b).await?))
}

async fn list_users(State(s): State<AppState>, Path(tenant): Path<String>) -> Result<Response, ApiError> {
    Ok(ok(s.ledger().list_users(tenant).await?))
}

async fn get_user(State(s): State<AppState>, Path(user): Path<String>) -> Result<Response, ApiError> {
    Ok(ok(s.ledger().get_user(user).await?))
}

async fn update_user(
    State(s): State<AppState>,
    Path(user): Path<String>,
    Json(b): Json<UserChange>,
) -> Result<Response, ApiError> {
    Ok(ok(s.ledger().update_user(user, b).await?))
}

fn by(body: ByOnly, q: ByParam) -> ByOnly {
    ByOnly { by: body.by.or(q.by) }
}

async fn assign_license(
    State(s): State<AppState>,
    Path(user): Path<String>,
    Query(q): Query<ByParam>,
    OptionalJson(b): OptionalJson<ByOnly>,
) -> Result<Response, ApiError> {
    Ok(ok(s.ledger().assign_license(user, by(b, q)).await?))
}

async fn revoke_license(
    State(s): State<AppState>,
    Path(user): Path<String>,
    Query(q): Query<ByParam>,
    OptionalJson(b): OptionalJson<ByOnly>,
) -> Result<Response, ApiError> {
    Ok(ok(s.ledger().revoke_license(user, by(b, q)).await?))
}

async fn add_operator(
    State(s): State<AppState>,
    Path(tenant): Path<String>,
    Json(b): Json<NewOperator>,
) -> Result<Response, ApiError> {
    Ok(created(s.ledger().add_operator(tenant, b).await?))
}

async fn list_operators(State(s): State<AppState>, Path(tenant): Path<String>) -> Result<Response, ApiError> {
    Ok(ok(s.ledger().list_operators(tenant).await?))
}

async fn update_operator(
    State(s): State<AppState>,
    Path(op): Path<String>,
    Json(b): Json<OperatorChange>,
) -> Result<Response, ApiError> {
    Ok(ok(s.ledger().update_operator(op, b).await?))
}

async fn create_own_operator(
    State(s): State<AppState>,
    Path(user): Path<String>,
    Json(b): Json<NewOwnOperator>,
) -> Result<Response, ApiError> {
    Ok(created(s.ledger().create_own_operator(user, b).await?))
}

async fn link_operator(
    State(s): State<AppState>,
    Path(user): Path<String>,
    Json(b): Json<LinkOperator>,
) -> Result<Response, ApiError> {
    Ok(ok(s.ledger().link_operator(user, b).await?))
}

async fn record_production(
    State(s): State<AppState>,
    Path(op): Path<String>,
    OptionalJson(b): OptionalJson<NewProduction>,
) -> Result<Response, ApiError> {
    Ok(created(s.ledger().record_production(op, b).await?))
}

async fn seats(State(s): State<AppState>, Path(tenant): Path<String>) -> Result<Response, ApiError> {
    Ok(ok(s.ledger().seats(tenant).await?))
}

async fn notices(State(s): State<AppState>, Path(tenant): Path<String>) -> Result<Response, ApiError> {
    Ok(ok(s.ledger().notices(tenant).await?))
}

async fn reconcile(
    State(s): State<AppState>,
    Path(tenant): Path<String>,
    Query(q): Query<DryRun>,
) -> Result<Response, ApiError> {
    let dry_run = match q.dry_run.as_deref() {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") | Some("") => true,
        Some(other) => {
            return Err(ApiError::invalid_field(
                "dry_run",
                format!("`dry_run` must be `true` or `false`, not `{other}`"),
            ));
        }
    };
    Ok(ok(s.ledger().reconcile(tenant, dry_run).await?))
}
