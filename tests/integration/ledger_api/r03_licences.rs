//! R3 and R4, named licences: seats, trials, who may change them.

use super::*;

#[tokio::test]
async fn assigning_a_licence_with_a_bad_body_or_by_is_a_400_or_422_and_assigns_nothing() {
    let app = plant(0, 3).await;
    add_user(&app, "plant", "ivy", "viewer").await;
    let before = state_of(&app, "plant").await;
    let path = "/v1/users/ivy/license";
    let got = app
        .call_raw("PUT", path, Some("application/json"), "{\"by\": ")
        .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "malformed_json");
    let got = app.call_raw("PUT", path, Some("text/plain"), "{}").await;
    assert_error(&got, StatusCode::BAD_REQUEST, "unsupported_content_type");
    let got = app.call_raw("PUT", path, None, "{}").await;
    assert_error(&got, StatusCode::BAD_REQUEST, "unsupported_content_type");
    assert_field_error(
        &app.call("PUT", path, Some(json!({"seats": 1}))).await,
        StatusCode::BAD_REQUEST,
        "seats",
    );
    let got = app.call("PUT", path, Some(json!(["plant-admin"]))).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_request");
    assert_field_error(
        &app.call("PUT", path, Some(json!({"by": 5}))).await,
        StatusCode::BAD_REQUEST,
        "by",
    );
    assert_field_error(
        &app.call("PUT", path, Some(json!({"by": ""}))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "by",
    );
    assert_field_error(
        &app.call("PUT", "/v1/users/ivy/license?by=", None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "by",
    );
    // `by` in the body wins, but an invalid one in the query is still refused.
    assert_field_error(
        &app.call(
            "PUT",
            "/v1/users/ivy/license?by=%C2%9D",
            Some(json!({"by": "plant-admin"})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "by",
    );
    assert_eq!(state_of(&app, "plant").await, before);
    assert_eq!(user(&app, "ivy").await["licensed"], false);
    // The same call with no body at all assigns it.
    let (s, b) = app.call("PUT", path, None).await;
    assert_eq!((s, b["licensed"].clone()), (StatusCode::OK, json!(true)), "{b}");
}

#[tokio::test]
async fn assigning_a_licence_with_no_free_user_seat_is_refused_by_policy_and_takes_no_seat() {
    let app = plant(0, 1).await;
    add_user(&app, "plant", "ivy", "viewer").await;
    let before = state_of(&app, "plant").await;
    assert_eq!(before["seats"]["user"], json!({"total": 1, "used": 1, "free": 0}));
    let got = app.call("PUT", "/v1/users/ivy/license", None).await;
    let e = assert_refused(&got, "user_seats_exhausted", "licenses.exhausted");
    assert_eq!(
        e["message"]["en"],
        "All user licenses are in use. Please purchase more to assign one."
    );
    assert_eq!(state_of(&app, "plant").await, before);
    assert_eq!(user(&app, "ivy").await["licensed"], false);
}

#[tokio::test]
async fn assigning_a_licence_in_a_trial_tenant_without_user_seats_is_refused_by_policy() {
    let app = TestApp::licensing();
    add_account(&app, "acme").await;
    add_tenant(&app, "acme", "works").await;
    add_user(&app, "works", "ivy", "admin").await;
    let before = state_of(&app, "works").await;
    let got = app.call("PUT", "/v1/users/ivy/license", None).await;
    assert_refused(&got, "user_seats_exhausted", "licenses.exhausted");
    assert_eq!(state_of(&app, "works").await, before);
}

#[tokio::test]
async fn assigning_a_licence_on_behalf_of_a_user_is_refused_as_a_licence_change_in_the_product() {
    let app = plant(0, 3).await;
    add_user(&app, "plant", "ivy", "viewer").await;
    let before = state_of(&app, "plant").await;
    for got in [
        app.call("PUT", "/v1/users/ivy/license", Some(json!({"by": "plant-admin"})))
            .await,
        app.call("PUT", "/v1/users/ivy/license?by=plant-admin", None)
            .await,
    ] {
        let e = assert_refused(&got, "license_change_in_product", "management.license_change");
        assert_eq!(
            e["message"]["en"],
            "Please contact Fusion Operations for license changes"
        );
        assert_eq!(
            e["message"]["fr"],
            "Veuillez contacter Fusion Operations pour les modifications de licence"
        );
    }
    assert_eq!(state_of(&app, "plant").await, before);
    assert_eq!(user(&app, "ivy").await["licensed"], false);
}

#[tokio::test]
async fn revoking_a_licence_on_behalf_of_a_user_is_refused_and_the_licence_stays() {
    let app = plant(0, 3).await;
    add_user(&app, "plant", "ivy", "viewer").await;
    license(&app, "ivy").await;
    let before = state_of(&app, "plant").await;
    for got in [
        app.call(
            "DELETE",
            "/v1/users/ivy/license",
            Some(json!({"by": "plant-admin"})),
        )
        .await,
        app.call("DELETE", "/v1/users/ivy/license?by=ivy", None).await,
    ] {
        assert_refused(&got, "license_change_in_product", "management.license_change");
    }
    let after = state_of(&app, "plant").await;
    assert_eq!(after, before);
    assert_eq!(after["seats"]["user"]["used"], 2);
    assert_eq!(user(&app, "ivy").await["licensed"], true);
}

#[tokio::test]
async fn revoking_a_licence_with_a_bad_body_is_a_400_and_the_licence_stays() {
    let app = plant(0, 3).await;
    add_user(&app, "plant", "ivy", "viewer").await;
    license(&app, "ivy").await;
    let before = state_of(&app, "plant").await;
    let path = "/v1/users/ivy/license";
    let got = app
        .call_raw("DELETE", path, Some("application/json"), "nope")
        .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "malformed_json");
    let got = app.call_raw("DELETE", path, None, "{\"by\": null}").await;
    assert_error(&got, StatusCode::BAD_REQUEST, "unsupported_content_type");
    assert_field_error(
        &app.call("DELETE", path, Some(json!({"reason": "left"}))).await,
        StatusCode::BAD_REQUEST,
        "reason",
    );
    assert_field_error(
        &app.call("DELETE", path, Some(json!({"by": ["ivy"]}))).await,
        StatusCode::BAD_REQUEST,
        "by",
    );
    assert_eq!(state_of(&app, "plant").await, before);
    let (s, b) = app.call("DELETE", path, None).await;
    assert_eq!((s, b["licensed"].clone()), (StatusCode::OK, json!(false)), "{b}");
}

#[tokio::test]
async fn a_licence_for_an_unknown_user_or_by_an_unknown_user_is_a_404_and_changes_nothing() {
    let app = plant(0, 3).await;
    add_user(&app, "plant", "ivy", "viewer").await;
    let before = state_of(&app, "plant").await;
    for method in ["PUT", "DELETE"] {
        assert_not_found(&app.call(method, "/v1/users/ghost/license", None).await, "ghost");
    }
    assert_not_found(
        &app.call("PUT", "/v1/users/ivy/license", Some(json!({"by": "ghost"})))
            .await,
        "ghost",
    );
    assert_not_found(
        &app.call("DELETE", "/v1/users/plant-admin/license?by=ghost", None)
            .await,
        "ghost",
    );
    assert_eq!(state_of(&app, "plant").await, before);
}
