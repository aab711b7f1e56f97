//! Roles: refused inputs, built-in names, unknown tenants.

use super::*;

#[tokio::test]
async fn creating_a_role_from_a_body_that_is_not_a_json_object_is_a_400_and_creates_no_role() {
    let app = plant(0, 1).await;
    let before = state_of(&app, "plant").await;
    let valid = json!({"name": "lead", "levels": {"reports": "edit"}});
    assert_body_is_checked(&app, "POST", "/v1/tenants/plant/roles", &valid).await;
    assert_field_error(
        &app.post(
            "/v1/tenants/plant/roles",
            json!({"name": "lead", "levels": "all"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "levels",
    );
    assert_field_error(
        &app.post("/v1/tenants/plant/roles", json!({"name": 7, "levels": {}}))
            .await,
        StatusCode::BAD_REQUEST,
        "name",
    );
    // An unknown level is a type error of that category's entry.
    assert_field_error(
        &app.post(
            "/v1/tenants/plant/roles",
            json!({"name": "lead", "levels": {"reports": "super"}}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "levels.reports",
    );
    assert_eq!(state_of(&app, "plant").await, before);
    assert_status(
        &app.post("/v1/tenants/plant/roles", valid).await,
        StatusCode::CREATED,
    );
}

#[tokio::test]
async fn a_role_with_an_unknown_category_or_a_spaced_name_is_a_422_naming_the_field_and_not_created() {
    let app = plant(0, 1).await;
    let before = state_of(&app, "plant").await;
    assert_field_error(
        &app.post(
            "/v1/tenants/plant/roles",
            json!({"name": "lead", "levels": {"reports": "edit", "payroll": "view"}}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "levels.payroll",
    );
    assert_field_error(
        &app.post(
            "/v1/tenants/plant/roles",
            json!({"name": "shift lead", "levels": {}}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "name",
    );
    assert_eq!(state_of(&app, "plant").await, before);
    assert_eq!(before["roles"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn redefining_a_built_in_role_or_an_existing_one_is_a_409_and_keeps_its_levels() {
    let app = plant(0, 1).await;
    let path = "/v1/tenants/plant/roles";
    assert_status(
        &app.post(path, json!({"name": "lead", "levels": {"reports": "edit"}}))
            .await,
        StatusCode::CREATED,
    );
    let before = state_of(&app, "plant").await;
    let e = assert_error(
        &app.post(path, json!({"name": "manager", "levels": {"users": "approve"}}))
            .await,
        StatusCode::CONFLICT,
        "builtin_role",
    );
    assert_eq!(e["field"], "name");
    let e = assert_error(
        &app.post(path, json!({"name": "lead", "levels": {"reports": "approve"}}))
            .await,
        StatusCode::CONFLICT,
        "duplicate",
    );
    assert_eq!(e["field"], "name");
    let after = state_of(&app, "plant").await;
    assert_eq!(after, before);
    let lead = after["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "lead")
        .unwrap()
        .clone();
    assert_eq!(lead["levels"]["reports"], "edit");
}

#[tokio::test]
async fn roles_of_an_unknown_tenant_are_a_404_to_create_and_to_list() {
    let app = TestApp::licensing();
    assert_not_found(
        &app.post("/v1/tenants/ghost/roles", json!({"name": "lead", "levels": {}}))
            .await,
        "ghost",
    );
    assert_not_found(&app.get("/v1/tenants/ghost/roles").await, "ghost");
}
