//! The licence ledger's routes, all behind the admin token.

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
pub struct OptionalJson<T>(pub T);

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
        .routes(routes!(create_account))
        .routes(routes!(get_account))
        .routes(routes!(create_tenant))
        .routes(routes!(create_hub))
        .routes(routes!(get_tenant))
        .routes(routes!(create_subscription, list_subscriptions))
        .routes(routes!(change_subscription))
        .routes(routes!(pay))
        .routes(routes!(create_role, list_roles))
        .routes(routes!(create_user, list_users))
        .routes(routes!(get_user, update_user))
        .routes(routes!(assign_license, revoke_license))
        .routes(routes!(create_own_operator, link_operator))
        .routes(routes!(add_operator, list_operators))
        .routes(routes!(update_operator))
        .routes(routes!(record_production))
        .routes(routes!(seats))
        .routes(routes!(notices))
        .routes(routes!(reconcile))
}

#[utoipa::path(
    post,
    path = "/v1/accounts",
    tag = "ledger",
    summary = "Create an account",
    security(("admin_token" = [])),
    request_body = NewAccount,
    responses(
        (status = 201, description = "The account", body = AccountView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
        (status = 500, response = Internal),
    ),
)]
async fn create_account(State(s): State<AppState>, Json(b): Json<NewAccount>) -> Result<Response, ApiError> {
    Ok(created(s.ledger().create_account(b).await?))
}

#[utoipa::path(
    get,
    path = "/v1/accounts/{account}",
    tag = "ledger",
    summary = "An account and its tenants",
    security(("admin_token" = [])),
    params(("account" = String, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The account", body = AccountView),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 500, response = Internal),
    ),
)]
async fn get_account(State(s): State<AppState>, Path(account): Path<String>) -> Result<Response, ApiError> {
    Ok(ok(s.ledger().get_account(account).await?))
}

#[utoipa::path(
    post,
    path = "/v1/accounts/{account}/tenants",
    tag = "ledger",
    summary = "Create a tenant, in trial",
    security(("admin_token" = [])),
    params(("account" = String, Path, description = "The account's id")),
    request_body = NewTenant,
    responses(
        (status = 201, description = "The tenant, in trial", body = TenantView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
        (status = 500, response = Internal),
    ),
)]
async fn create_tenant(
    State(s): State<AppState>,
    Path(account): Path<String>,
    Json(b): Json<NewTenant>,
) -> Result<Response, ApiError> {
    Ok(created(s.ledger().create_tenant(account, b).await?))
}

#[utoipa::path(
    post,
    path = "/v1/accounts/{account}/hubs",
    tag = "ledger",
    summary = "Create a tenant's hub (R1)",
    description = "Creates the hub of one of the account's tenants, ending its trial, and reconciles its \
        seats (R9) in the same transaction. An account with several tenants must name one in `tenant` (422 \
        `tenant_required`, listing them in `details.candidates`); one with none is a 409 `no_tenant`.",
    security(("admin_token" = [])),
    params(("account" = String, Path, description = "The account's id")),
    request_body = NewHub,
    responses(
        (status = 201, description = "The tenant, provisioned, and the R9 reconciliation (operators \
            deactivated, in order)", body = HubCreated),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
        (status = 500, response = Internal),
    ),
)]
async fn create_hub(
    State(s): State<AppState>,
    Path(account): Path<String>,
    Json(b): Json<NewHub>,
) -> Result<Response, ApiError> {
    Ok(created(s.ledger().create_hub(account, b).await?))
}

#[utoipa::path(
    get,
    path = "/v1/tenants/{tenant}",
    tag = "ledger",
    summary = "A tenant's state: trial or provisioned, trial end, hub",
    security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "The tenant's id")),
    responses(
        (status = 200, description = "The tenant", body = TenantView),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 500, response = Internal),
    ),
)]
async fn get_tenant(State(s): State<AppState>, Path(tenant): Path<String>) -> Result<Response, ApiError> {
    Ok(ok(s.ledger().get_tenant(tenant).await?))
}

#[utoipa::path(
    post,
    path = "/v1/tenants/{tenant}/subscriptions",
    tag = "ledger",
    summary = "Buy a subscription (R7)",
    description = "Every purchase is a new subscription with a new number.",
    security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "The tenant's id")),
    request_body = NewSubscription,
    responses(
        (status = 201, description = "The subscription", body = SubscriptionView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
        (status = 500, response = Internal),
    ),
)]
async fn create_subscription(
    State(s): State<AppState>,
    Path(tenant): Path<String>,
    Json(b): Json<NewSubscription>,
) -> Result<Response, ApiError> {
    Ok(created(s.ledger().create_subscription(tenant, b).await?))
}

#[utoipa::path(
    get,
    path = "/v1/tenants/{tenant}/subscriptions",
    tag = "ledger",
    summary = "A tenant's subscriptions and their states",
    security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "The tenant's id")),
    responses(
        (status = 200, description = "The subscriptions", body = Vec<SubscriptionView>),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 500, response = Internal),
    ),
)]
async fn list_subscriptions(
    State(s): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Response, ApiError> {
    Ok(ok(s.ledger().list_subscriptions(tenant).await?))
}

#[utoipa::path(
    patch,
    path = "/v1/tenants/{tenant}/subscriptions/{number}",
    tag = "ledger",
    summary = "Lower a subscription",
    description = "Lowers the quantity or brings the end forward, and reconciles (R9). Raising a quantity is \
        refused by policy (403, R7): buying more is a new subscription.",
    security(("admin_token" = [])),
    params(
        ("tenant" = String, Path, description = "The tenant's id"),
        ("number" = i64, Path, description = "The subscription's number (one that is not a number names \
            nothing: 404)"),
    ),
    request_body = SubscriptionChange,
    responses(
        (status = 200, description = "The subscription and the R9 reconciliation",
            body = SubscriptionChanged),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
        (status = 500, response = Internal),
    ),
)]
async fn change_subscription(
    State(s): State<AppState>,
    Path((tenant, n)): Path<(String, String)>,
    Json(b): Json<SubscriptionChange>,
) -> Result<Response, ApiError> {
    Ok(ok(s.ledger().change_subscription(tenant, number(&n)?, b).await?))
}

#[utoipa::path(
    post,
    path = "/v1/tenants/{tenant}/subscriptions/{number}/payment",
    tag = "ledger",
    summary = "Mark a subscription paid (R8)",
    description = "Records the payment (once); a lock lifts at once.",
    security(("admin_token" = [])),
    params(
        ("tenant" = String, Path, description = "The tenant's id"),
        ("number" = i64, Path, description = "The subscription's number (one that is not a number names \
            nothing: 404)"),
    ),
    responses(
        (status = 200, description = "The subscription, paid", body = SubscriptionView),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 500, response = Internal),
    ),
)]
async fn pay(
    State(s): State<AppState>,
    Path((tenant, n)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(ok(s.ledger().pay(tenant, number(&n)?).await?))
}

#[utoipa::path(
    post,
    path = "/v1/tenants/{tenant}/roles",
    tag = "ledger",
    summary = "Create a tenant role (R4)",
    description = "A built-in role name (`admin`, `manager`, `viewer`) is a 409 `builtin_role`.",
    security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "The tenant's id")),
    request_body = NewRole,
    responses(
        (status = 201, description = "The role", body = RoleView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
        (status = 500, response = Internal),
    ),
)]
async fn create_role(
    State(s): State<AppState>,
    Path(tenant): Path<String>,
    Json(b): Json<NewRole>,
) -> Result<Response, ApiError> {
    Ok(created(s.ledger().create_role(tenant, b).await?))
}

#[utoipa::path(
    get,
    path = "/v1/tenants/{tenant}/roles",
    tag = "ledger",
    summary = "The roles a tenant's users can have: built-in and the tenant's",
    security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "The tenant's id")),
    responses(
        (status = 200, description = "The roles", body = Vec<RoleView>),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 500, response = Internal),
    ),
)]
async fn list_roles(State(s): State<AppState>, Path(tenant): Path<String>) -> Result<Response, ApiError> {
    Ok(ok(s.ledger().list_roles(tenant).await?))
}

#[utoipa::path(
    post,
    path = "/v1/tenants/{tenant}/users",
    tag = "ledger",
    summary = "Add a user",
    security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "The tenant's id")),
    request_body = NewUser,
    responses(
        (status = 201, description = "The user, and the tenant's seats after the change (R3)",
            body = WithSeats<UserView>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
        (status = 500, response = Internal),
    ),
)]
async fn create_user(
    State(s): State<AppState>,
    Path(tenant): Path<String>,
    Json(b): Json<NewUser>,
) -> Result<Response, ApiError> {
    Ok(created(s.ledger().create_user(tenant, b).await?))
}

#[utoipa::path(
    get,
    path = "/v1/tenants/{tenant}/users",
    tag = "ledger",
    summary = "A tenant's users",
    security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "The tenant's id")),
    responses(
        (status = 200, description = "The users", body = Vec<UserView>),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 500, response = Internal),
    ),
)]
async fn list_users(State(s): State<AppState>, Path(tenant): Path<String>) -> Result<Response, ApiError> {
    Ok(ok(s.ledger().list_users(tenant).await?))
}

#[utoipa::path(
    get,
    path = "/v1/users/{user}",
    tag = "ledger",
    summary = "A user",
    security(("admin_token" = [])),
    params(("user" = String, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The user", body = UserView),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 500, response = Internal),
    ),
)]
async fn get_user(State(s): State<AppState>, Path(user): Path<String>) -> Result<Response, ApiError> {
    Ok(ok(s.ledger().get_user(user).await?))
}

#[utoipa::path(
    patch,
    path = "/v1/users/{user}",
    tag = "ledger",
    summary = "Activate, deactivate or change the role of a user",
    description = "Each change is decided by the policies (R10: the last active admin stays; R6: a user \
        operator cannot work while its user is inactive).",
    security(("admin_token" = [])),
    params(("user" = String, Path, description = "The user's id")),
    request_body = UserChange,
    responses(
        (status = 200, description = "The user", body = UserView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
        (status = 500, response = Internal),
    ),
)]
async fn update_user(
    State(s): State<AppState>,
    Path(user): Path<String>,
    Json(b): Json<UserChange>,
) -> Result<Response, ApiError> {
    Ok(ok(s.ledger().update_user(user, b).await?))
}

/// Who acts: `by` from the body, else from the query. Both are checked: an
/// invalid one is refused even where the other would be used.
fn by(body: ByOnly, q: ByParam) -> Result<ByOnly, ApiError> {
    if let (Some(_), Some(query)) = (&body.by, &q.by) {
        crate::ledger::inputs::id("by", query)?;
    }
    Ok(ByOnly { by: body.by.or(q.by) })
}

#[utoipa::path(
    put,
    path = "/v1/users/{user}/license",
    tag = "ledger",
    summary = "Assign the user's named licence (R3)",
    description = "Takes a free user seat. The body may be absent; `by` may also be given as a query \
        parameter.",
    security(("admin_token" = [])),
    params(
        ("user" = String, Path, description = "The user's id"),
        ("by" = Option<crate::ledger::views::names::Id>, Query, description = "The user on whose behalf the change is made, when the \
            body does not name one"),
    ),
    request_body = Option<ByOnly>,
    responses(
        (status = 200, description = "The user, and the seats after the change", body = WithSeats<UserView>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
        (status = 500, response = Internal),
    ),
)]
async fn assign_license(
    State(s): State<AppState>,
    Path(user): Path<String>,
    Query(q): Query<ByParam>,
    OptionalJson(b): OptionalJson<ByOnly>,
) -> Result<Response, ApiError> {
    Ok(ok(s.ledger().assign_license(user, by(b, q)?).await?))
}

#[utoipa::path(
    delete,
    path = "/v1/users/{user}/license",
    tag = "ledger",
    summary = "Revoke the user's named licence (R3)",
    description = "The body may be absent; `by` may also be given as a query parameter.",
    security(("admin_token" = [])),
    params(
        ("user" = String, Path, description = "The user's id"),
        ("by" = Option<crate::ledger::views::names::Id>, Query, description = "The user on whose behalf the change is made, when the \
            body does not name one"),
    ),
    request_body = Option<ByOnly>,
    responses(
        (status = 200, description = "The user, and the seats after the change", body = WithSeats<UserView>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
        (status = 500, response = Internal),
    ),
)]
async fn revoke_license(
    State(s): State<AppState>,
    Path(user): Path<String>,
    Query(q): Query<ByParam>,
    OptionalJson(b): OptionalJson<ByOnly>,
) -> Result<Response, ApiError> {
    Ok(ok(s.ledger().revoke_license(user, by(b, q)?).await?))
}

#[utoipa::path(
    post,
    path = "/v1/tenants/{tenant}/operators",
    tag = "ledger",
    summary = "Add a seat operator (R5)",
    description = "Takes a shop-floor seat; refused by policy (403, with the seats-exhausted message) when \
        every seat is taken.",
    security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "The tenant's id")),
    request_body = NewOperator,
    responses(
        (status = 201, description = "The operator, and the seats after the change",
            body = WithSeats<OperatorView>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
        (status = 500, response = Internal),
    ),
)]
async fn add_operator(
    State(s): State<AppState>,
    Path(tenant): Path<String>,
    Json(b): Json<NewOperator>,
) -> Result<Response, ApiError> {
    Ok(created(s.ledger().add_operator(tenant, b).await?))
}

#[utoipa::path(
    get,
    path = "/v1/tenants/{tenant}/operators",
    tag = "ledger",
    summary = "A tenant's operators, with their latest production",
    security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "The tenant's id")),
    responses(
        (status = 200, description = "The operators", body = Vec<OperatorView>),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 500, response = Internal),
    ),
)]
async fn list_operators(State(s): State<AppState>, Path(tenant): Path<String>) -> Result<Response, ApiError> {
    Ok(ok(s.ledger().list_operators(tenant).await?))
}

#[utoipa::path(
    patch,
    path = "/v1/operators/{operator}",
    tag = "ledger",
    summary = "Activate or deactivate an operator",
    description = "Re-activation takes a seat (R5).",
    security(("admin_token" = [])),
    params(("operator" = String, Path, description = "The operator's id")),
    request_body = OperatorChange,
    responses(
        (status = 200, description = "The operator", body = OperatorView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
        (status = 500, response = Internal),
    ),
)]
async fn update_operator(
    State(s): State<AppState>,
    Path(op): Path<String>,
    Json(b): Json<OperatorChange>,
) -> Result<Response, ApiError> {
    Ok(ok(s.ledger().update_operator(op, b).await?))
}

#[utoipa::path(
    post,
    path = "/v1/users/{user}/operator",
    tag = "ledger",
    summary = "Create the user's own operator (R6)",
    description = "Named after the user; it takes no seat.",
    security(("admin_token" = [])),
    params(("user" = String, Path, description = "The user's id")),
    request_body = NewOwnOperator,
    responses(
        (status = 201, description = "The operator", body = OperatorView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
        (status = 500, response = Internal),
    ),
)]
async fn create_own_operator(
    State(s): State<AppState>,
    Path(user): Path<String>,
    Json(b): Json<NewOwnOperator>,
) -> Result<Response, ApiError> {
    Ok(created(s.ledger().create_own_operator(user, b).await?))
}

#[utoipa::path(
    put,
    path = "/v1/users/{user}/operator",
    tag = "ledger",
    summary = "Link an existing seat operator to the user (R6)",
    description = "For good: it is renamed after the user and frees its seat.",
    security(("admin_token" = [])),
    params(("user" = String, Path, description = "The user's id")),
    request_body = LinkOperator,
    responses(
        (status = 200, description = "The operator", body = OperatorView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
        (status = 500, response = Internal),
    ),
)]
async fn link_operator(
    State(s): State<AppState>,
    Path(user): Path<String>,
    Json(b): Json<LinkOperator>,
) -> Result<Response, ApiError> {
    Ok(ok(s.ledger().link_operator(user, b).await?))
}

#[utoipa::path(
    post,
    path = "/v1/operators/{operator}/production",
    tag = "ledger",
    summary = "Record production by an operator",
    description = "If the policies let it work (R2, R5, R6, R8). The body may be absent.",
    security(("admin_token" = [])),
    params(("operator" = String, Path, description = "The operator's id")),
    request_body = Option<NewProduction>,
    responses(
        (status = 201, description = "The production record", body = ProductionRecorded),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
        (status = 500, response = Internal),
    ),
)]
async fn record_production(
    State(s): State<AppState>,
    Path(op): Path<String>,
    OptionalJson(b): OptionalJson<NewProduction>,
) -> Result<Response, ApiError> {
    Ok(created(s.ledger().record_production(op, b).await?))
}

#[utoipa::path(
    get,
    path = "/v1/tenants/{tenant}/seats",
    tag = "ledger",
    summary = "A tenant's seats per kind (R5)",
    description = "`shop_floor` is absent when the tenant has no shop-floor subscription.",
    security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "The tenant's id")),
    responses(
        (status = 200, description = "The seats", body = SeatsView),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 500, response = Internal),
    ),
)]
async fn seats(State(s): State<AppState>, Path(tenant): Path<String>) -> Result<Response, ApiError> {
    Ok(ok(s.ledger().seats(tenant).await?))
}

#[utoipa::path(
    get,
    path = "/v1/tenants/{tenant}/notices",
    tag = "ledger",
    summary = "The notices the tenant's users see now (R2, R8)",
    security(("admin_token" = [])),
    params(("tenant" = String, Path, description = "The tenant's id")),
    responses(
        (status = 200, description = "The notices", body = Vec<Notice>),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 500, response = Internal),
    ),
)]
async fn notices(State(s): State<AppState>, Path(tenant): Path<String>) -> Result<Response, ApiError> {
    Ok(ok(s.ledger().notices(tenant).await?))
}

#[utoipa::path(
    post,
    path = "/v1/tenants/{tenant}/reconcile",
    tag = "ledger",
    summary = "Reconcile a tenant's seats (R9)",
    description = "Deactivates the operators (and revokes the licences) beyond capacity, in order, with why. \
        Whether it may be carried out is the pack's (R9): a tenant still in trial is refused (403 `in_trial`) \
        but can be previewed with `?dry_run=true`.",
    security(("admin_token" = [])),
    params(
        ("tenant" = String, Path, description = "The tenant's id"),
        ("dry_run" = Option<String>, Query, pattern = "^(true|false|1|0)?$", description = "Only plan, change nothing (`true`, `1` or empty; \
            `false` or `0`); on a tenant still in trial, previews what creating its hub would do"),
    ),
    responses(
        (status = 200, description = "The plan, carried out unless a dry run", body = Plan),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = Internal),
    ),
)]
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
