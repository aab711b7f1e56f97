//! The ledger's subscriptions and their payment, over HTTP.

use super::*;

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
pub(super) async fn create_subscription(
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
pub(super) async fn list_subscriptions(
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
pub(super) async fn change_subscription(
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
pub(super) async fn pay(
    State(s): State<AppState>,
    Path((tenant, n)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(ok(s.ledger().pay(tenant, number(&n)?).await?))
}
