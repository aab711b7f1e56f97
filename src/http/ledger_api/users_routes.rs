//! The ledger's roles, users and their licences, over HTTP.

use super::*;

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
pub(super) async fn create_role(
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
pub(super) async fn list_roles(
    State(s): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Response, ApiError> {
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
pub(super) async fn create_user(
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
pub(super) async fn list_users(
    State(s): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Response, ApiError> {
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
pub(super) async fn get_user(
    State(s): State<AppState>,
    Path(user): Path<String>,
) -> Result<Response, ApiError> {
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
pub(super) async fn update_user(
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
pub(super) async fn assign_license(
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
pub(super) async fn revoke_license(
    State(s): State<AppState>,
    Path(user): Path<String>,
    Query(q): Query<ByParam>,
    OptionalJson(b): OptionalJson<ByOnly>,
) -> Result<Response, ApiError> {
    Ok(ok(s.ledger().revoke_license(user, by(b, q)?).await?))
}
