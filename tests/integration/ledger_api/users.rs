//! Users: refused inputs, duplicates, unknown ids.

use super::*;

#[tokio::test]
async fn adding_a_user_from_a_body_that_is_not_a_json_object_is_a_400_and_adds_nobody() {
    let app = plant(0, 2).await;
    let before = state_of(&app, "plant").await;
    let valid = new_user("ivy", "viewer");
    assert_body_is_checked(&app, "POST", "/v1/tenants/plant/users", &valid).await;
    for (field, value) in [
        ("role", json!(1)),
        ("email", json!(null)),
        ("id", json!({"id": "ivy"})),
    ] {
        let mut body = new_user("ivy", "viewer");
        body[field] = value;
        assert_field_error(
            &app.post("/v1/tenants/plant/users", body).await,
            StatusCode::BAD_REQUEST,
            field,
        );
    }
    assert_eq!(state_of(&app, "plant").await, before);
    assert_not_found(&app.get("/v1/users/ivy").await, "ivy");
    assert_status(
        &app.post("/v1/tenants/plant/users", valid).await,
        StatusCode::CREATED,
    );
}

#[tokio::test]
async fn a_user_with_an_unknown_role_or_a_bad_email_is_a_422_naming_the_field_and_adds_nobody() {
    let app = plant(0, 2).await;
    app.provisioned("mill", 0, 1).await;
    assert_status(
        &app.post(
            "/v1/tenants/mill/roles",
            json!({"name": "miller", "levels": {"reports": "view"}}),
        )
        .await,
        StatusCode::CREATED,
    );
    let before = state_of(&app, "plant").await;
    for (key, value, field) in [
        ("role", json!("superuser"), "role"),
        // A custom role of another tenant is not a role here.
        ("role", json!("miller"), "role"),
        ("email", json!("not-an-email"), "email"),
        ("email", json!("ivy@localhost"), "email"),
        ("name", json!(""), "name"),
        ("id", json!("i vy"), "id"),
    ] {
        let mut body = new_user("ivy", "viewer");
        body[key] = value;
        assert_field_error(
            &app.post("/v1/tenants/plant/users", body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            field,
        );
    }
    assert_eq!(state_of(&app, "plant").await, before);
    assert_not_found(&app.get("/v1/users/ivy").await, "ivy");
}

#[tokio::test]
async fn a_user_id_already_used_in_any_tenant_is_a_409_and_the_first_user_is_untouched() {
    let app = plant(0, 2).await;
    app.provisioned("mill", 0, 1).await;
    add_user(&app, "plant", "ivy", "viewer").await;
    let (plant_before, mill_before) = (state_of(&app, "plant").await, state_of(&app, "mill").await);
    for tenant in ["plant", "mill"] {
        let got = app
            .post(&format!("/v1/tenants/{tenant}/users"), new_user("ivy", "admin"))
            .await;
        let e = assert_error(&got, StatusCode::CONFLICT, "duplicate");
        assert_eq!(e["field"], "id");
    }
    assert_eq!(state_of(&app, "plant").await, plant_before);
    assert_eq!(state_of(&app, "mill").await, mill_before);
    let ivy = user(&app, "ivy").await;
    assert_eq!(
        (ivy["tenant"].clone(), ivy["role"].clone()),
        (json!("plant"), json!("viewer"))
    );
}

#[tokio::test]
async fn users_of_an_unknown_tenant_and_an_unknown_user_are_404s() {
    let app = TestApp::licensing();
    assert_not_found(
        &app.post("/v1/tenants/ghost/users", new_user("ivy", "admin"))
            .await,
        "ghost",
    );
    assert_not_found(&app.get("/v1/tenants/ghost/users").await, "ghost");
    assert_not_found(&app.get("/v1/users/ivy").await, "ivy");
}
