//! The ledger's seats, notices and reconciliation, over HTTP.

use super::*;

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
pub(super) async fn seats(
    State(s): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Response, ApiError> {
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
pub(super) async fn notices(
    State(s): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Response, ApiError> {
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
pub(super) async fn reconcile(
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
