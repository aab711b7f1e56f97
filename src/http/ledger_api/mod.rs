//! The licence ledger's routes, all behind the admin token: the table of
//! routes below, the handlers by resource beside it (each one parses, calls
//! the ledger and shapes the answer), and what they share.

mod accounts_routes;
mod operators_routes;
mod standing_routes;
mod subscriptions_routes;
mod users_routes;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::{
    ApiError, BadRequest, Conflict, Forbidden, Internal, NotFound, PayloadTooLarge, Unauthorized,
    Unprocessable,
};
use super::json::JsonObject as Json;
use crate::ledger::LedgerError;
use crate::ledger::inputs::{
    ByOnly, LinkOperator, NewAccount, NewHub, NewOperator, NewOwnOperator, NewProduction, NewRole,
    NewSubscription, NewTenant, NewUser, OperatorChange, SubscriptionChange, UserChange,
};
use crate::ledger::ops::{HubCreated, ProductionRecorded, SubscriptionChanged, WithSeats};
use crate::ledger::reconcile::Plan;
use crate::ledger::views::{
    AccountView, OperatorView, RoleView, SeatsView, SubscriptionView, TenantView, UserView,
};
use crate::notice::Notice;

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
pub(crate) struct OptionalJson<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for OptionalJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Default,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        // Where no body is needed, an empty one (or `null`) is fine whatever
        // the content type says; a body that is there must be JSON.
        let (parts, body) = req.into_parts();
        let bytes = Bytes::from_request(axum::extract::Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::bad_request(format!("cannot read the body: {e}"))
                }
            })?;
        let text = bytes.trim_ascii();
        if text.is_empty() || text == b"null" {
            return Ok(OptionalJson(T::default()));
        }
        let req = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
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

/// The ledger routes (the caller adds the admin-token layer), each registered
/// with its documentation.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(accounts_routes::create_account))
        .routes(routes!(accounts_routes::get_account))
        .routes(routes!(accounts_routes::create_tenant))
        .routes(routes!(accounts_routes::create_hub))
        .routes(routes!(accounts_routes::get_tenant))
        .routes(routes!(
            subscriptions_routes::create_subscription,
            subscriptions_routes::list_subscriptions
        ))
        .routes(routes!(subscriptions_routes::change_subscription))
        .routes(routes!(subscriptions_routes::pay))
        .routes(routes!(users_routes::create_role, users_routes::list_roles))
        .routes(routes!(users_routes::create_user, users_routes::list_users))
        .routes(routes!(users_routes::get_user, users_routes::update_user))
        .routes(routes!(
            users_routes::assign_license,
            users_routes::revoke_license
        ))
        .routes(routes!(
            operators_routes::create_own_operator,
            operators_routes::link_operator
        ))
        .routes(routes!(
            operators_routes::add_operator,
            operators_routes::list_operators
        ))
        .routes(routes!(operators_routes::update_operator))
        .routes(routes!(operators_routes::record_production))
        .routes(routes!(standing_routes::seats))
        .routes(routes!(standing_routes::notices))
        .routes(routes!(standing_routes::reconcile))
}
