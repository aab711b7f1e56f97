//! The ledger's accounts, tenants and hubs, over HTTP.

use super::*;

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
pub(super) async fn create_account(
    State(s): State<AppState>,
    Json(b): Json<NewAccount>,
) -> Result<Response, ApiError> {
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
pub(super) async fn get_account(
    State(s): State<AppState>,
    Path(account): Path<String>,
) -> Result<Response, ApiError> {
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
pub(super) async fn create_tenant(
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
pub(super) async fn create_hub(
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
pub(super) async fn get_tenant(
    State(s): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Response, ApiError> {
    Ok(ok(s.ledger().get_tenant(tenant).await?))
}
