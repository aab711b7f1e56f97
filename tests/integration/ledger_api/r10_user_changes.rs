//! R6 and R10, changing a user: the last active admin stays.

use super::*;

#[tokio::test]
async fn changing_a_user_with_a_body_that_is_not_a_json_object_is_a_400_and_changes_nothing() {
    let app = plant(0, 2).await;
    add_user(&app, "plant", "ivy", "manager").await;
    let before = state_of(&app, "plant").await;
    let valid = json!({"role": "viewer"});
    assert_body_is_checked(&app, "PATCH", "/v1/users/ivy", &valid).await;
    for (field, value) in [("active", json!("no")), ("role", json!(1)), ("by", json!(true))] {
        let mut body = json!({});
        body[field] = value;
        assert_field_error(
            &app.call("PATCH", "/v1/users/ivy", Some(body)).await,
            StatusCode::BAD_REQUEST,
            field,
        );
    }
    assert_eq!(state_of(&app, "plant").await, before);
    let (s, b) = app.call("PATCH", "/v1/users/ivy", Some(valid)).await;
    assert_eq!((s, b["role"].clone()), (StatusCode::OK, json!("viewer")), "{b}");
}

#[tokio::test]
async fn changing_a_user_to_nothing_or_to_an_unknown_role_is_a_422_naming_the_field_and_changes_nothing() {
    let app = plant(0, 2).await;
    app.provisioned("mill", 0, 1).await;
    assert_status(
        &app.post("/v1/tenants/mill/roles", json!({"name": "miller", "levels": {}}))
            .await,
        StatusCode::CREATED,
    );
    add_user(&app, "plant", "ivy", "manager").await;
    let before = state_of(&app, "plant").await;
    assert_field_error(
        &app.call("PATCH", "/v1/users/ivy", Some(json!({}))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "active",
    );
    assert_field_error(
        &app.call("PATCH", "/v1/users/ivy", Some(json!({"by": "plant-admin"})))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "active",
    );
    for role in ["superuser", "miller", ""] {
        assert_field_error(
            &app.call(
                "PATCH",
                "/v1/users/ivy",
                Some(json!({"role": role, "active": false})),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "role",
        );
    }
    assert_eq!(state_of(&app, "plant").await, before);
    let ivy = user(&app, "ivy").await;
    assert_eq!(
        (ivy["role"].clone(), ivy["active"].clone()),
        (json!("manager"), json!(true))
    );
}

#[tokio::test]
async fn changing_an_unknown_user_or_on_behalf_of_an_unknown_user_is_a_404_and_changes_nothing() {
    let app = plant(0, 2).await;
    add_user(&app, "plant", "ivy", "manager").await;
    let before = state_of(&app, "plant").await;
    assert_not_found(
        &app.call("PATCH", "/v1/users/ghost", Some(json!({"active": false})))
            .await,
        "ghost",
    );
    assert_not_found(
        &app.call(
            "PATCH",
            "/v1/users/ivy",
            Some(json!({"active": false, "by": "ghost"})),
        )
        .await,
        "ghost",
    );
    assert_eq!(state_of(&app, "plant").await, before);
}

#[tokio::test]
async fn deactivating_the_last_active_admin_is_refused_by_policy_and_the_admin_stays_active() {
    let app = plant(0, 2).await;
    add_user(&app, "plant", "ivy", "manager").await;
    let before = state_of(&app, "plant").await;
    for body in [
        json!({"active": false}),
        json!({"active": false, "by": "plant-admin"}),
    ] {
        let got = app.call("PATCH", "/v1/users/plant-admin", Some(body)).await;
        let e = assert_refused(&got, "last_admin", "admins.last_admin");
        assert_eq!(e["message"]["en"], "A tenant must keep at least one active admin");
        assert_eq!(
            e["message"]["fr"],
            "Un tenant doit conserver au moins un administrateur actif"
        );
    }
    assert_eq!(state_of(&app, "plant").await, before);
    assert_eq!(user(&app, "plant-admin").await["active"], true);
}

#[tokio::test]
async fn demoting_the_last_active_admin_is_refused_by_policy_and_the_admin_keeps_the_role() {
    let app = plant(0, 2).await;
    let before = state_of(&app, "plant").await;
    for role in ["manager", "viewer"] {
        let got = app
            .call("PATCH", "/v1/users/plant-admin", Some(json!({"role": role})))
            .await;
        assert_refused(&got, "last_admin", "admins.last_admin");
    }
    assert_eq!(state_of(&app, "plant").await, before);
    assert_eq!(user(&app, "plant-admin").await["role"], "admin");
}

#[tokio::test]
async fn a_refused_deactivation_also_undoes_the_role_change_asked_in_the_same_request() {
    let app = TestApp::licensing();
    add_account(&app, "acme").await;
    add_tenant(&app, "acme", "works").await;
    add_user(&app, "works", "max", "manager").await;
    let before = state_of(&app, "works").await;
    // Promoting is allowed on its own; deactivating the then only admin is not.
    let got = app
        .call(
            "PATCH",
            "/v1/users/max",
            Some(json!({"role": "admin", "active": false})),
        )
        .await;
    assert_refused(&got, "last_admin", "admins.last_admin");
    assert_eq!(state_of(&app, "works").await, before);
    let max = user(&app, "max").await;
    assert_eq!(
        (max["role"].clone(), max["active"].clone()),
        (json!("manager"), json!(true))
    );
}

#[tokio::test]
async fn changing_a_user_on_behalf_of_someone_who_cannot_manage_users_is_refused_and_changes_nothing() {
    let app = plant(0, 3).await;
    app.provisioned("mill", 0, 1).await;
    add_user(&app, "plant", "ivy", "viewer").await;
    add_user(&app, "plant", "max", "manager").await;
    license(&app, "ivy").await;
    license(&app, "max").await;
    let before = state_of(&app, "plant").await;
    // A viewer and a manager only view users; an admin of another tenant has no say here.
    for by in ["ivy", "max", "mill-admin"] {
        let got = app
            .call("PATCH", "/v1/users/ivy", Some(json!({"role": "admin", "by": by})))
            .await;
        assert_not_permitted(&got);
    }
    assert_eq!(state_of(&app, "plant").await, before);
    assert_eq!(user(&app, "ivy").await["role"], "viewer");
}
