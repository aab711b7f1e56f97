//! The ledger's operators and production records, over HTTP.

use super::*;

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
pub(super) async fn add_operator(
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
pub(super) async fn list_operators(
    State(s): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Response, ApiError> {
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
pub(super) async fn update_operator(
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
pub(super) async fn create_own_operator(
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
pub(super) async fn link_operator(
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
pub(super) async fn record_production(
    State(s): State<AppState>,
    Path(op): Path<String>,
    OptionalJson(b): OptionalJson<NewProduction>,
) -> Result<Response, ApiError> {
    Ok(created(s.ledger().record_production(op, b).await?))
}
