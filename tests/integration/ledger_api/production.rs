//! Production records.

use super::*;

#[tokio::test]
async fn recording_production_with_a_bad_body_or_time_is_refused_and_records_nothing() {
    let app = plant(1, 1).await;
    add_operator(&app, "plant", "op-1", 1).await;
    let before = state_of(&app, "plant").await;
    let path = "/v1/operators/op-1/production";
    let got = app
        .call_raw("POST", path, Some("application/json"), "{\"at\"")
        .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "malformed_json");
    let got = app.call_raw("POST", path, Some("text/plain"), "{}").await;
    assert_error(&got, StatusCode::BAD_REQUEST, "unsupported_content_type");
    let got = app
        .call_raw("POST", path, None, "{\"at\": \"2025-12-31T00:00:00Z\"}")
        .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "unsupported_content_type");
    assert_field_error(
        &app.post(path, json!({"quantity": 3})).await,
        StatusCode::BAD_REQUEST,
        "quantity",
    );
    let got = app.post(path, json!(["2025-12-31T00:00:00Z"])).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_request");
    assert_field_error(
        &app.post(path, json!({"at": 1767225600})).await,
        StatusCode::BAD_REQUEST,
        "at",
    );
    for at in ["yesterday", "2025-12-31"] {
        assert_field_error(
            &app.post(path, json!({"at": at})).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "at",
        );
    }
    // How far ahead of the clock a record may be is the pack's: a 403 naming it.
    let ahead = app.post(path, json!({"at": "2026-01-02T00:00:00Z"})).await;
    let e = assert_error(&ahead, StatusCode::FORBIDDEN, "production_in_future");
    assert_eq!(e["policies"], json!(["operators.production_in_future"]), "{e}");
    assert_eq!(state_of(&app, "plant").await, before);
    assert_eq!(
        operator(&app, "plant", "op-1").await["latest_production"],
        Value::Null
    );
    let (s, b) = app.post(path, json!({"at": "2025-12-31T00:00:00Z"})).await;
    assert_eq!(
        (s, b["at"].clone()),
        (StatusCode::CREATED, json!("2025-12-31T00:00:00Z")),
        "{b}"
    );
}

#[tokio::test]
async fn production_by_a_deactivated_operator_is_refused_by_policy_and_records_nothing() {
    let app = plant(1, 1).await;
    add_operator(&app, "plant", "op-1", 1).await;
    set_operator_active(&app, "op-1", false).await;
    let before = state_of(&app, "plant").await;
    let got = app.call("POST", "/v1/operators/op-1/production", None).await;
    let e = assert_refused(&got, "no_license", "operators.inactive");
    assert_eq!(
        e["message"]["en"],
        "You don't have a valid license, please acquire one."
    );
    assert_eq!(
        e["message"]["fr"],
        "Vous n'avez pas de licence valide, veuillez en acquérir une."
    );
    assert_eq!(state_of(&app, "plant").await, before);
    assert_eq!(
        operator(&app, "plant", "op-1").await["latest_production"],
        Value::Null
    );
}

#[tokio::test]
async fn production_by_the_operator_of_an_inactive_user_is_refused_and_records_nothing() {
    let app = plant(1, 3).await;
    add_user(&app, "plant", "ivy", "manager").await;
    license(&app, "ivy").await;
    add_own_operator(&app, "ivy", "ivy-op", 50).await;
    let got = app
        .call("PATCH", "/v1/users/ivy", Some(json!({"active": false})))
        .await;
    assert_status(&got, StatusCode::OK);
    let before = state_of(&app, "plant").await;
    let got = app.call("POST", "/v1/operators/ivy-op/production", None).await;
    assert_refused(&got, "no_license", "operators.inactive");
    assert_eq!(state_of(&app, "plant").await, before);
    assert_eq!(
        operator(&app, "plant", "ivy-op").await["latest_production"],
        Value::Null
    );
}

#[tokio::test]
async fn production_in_a_tenant_locked_for_late_payment_is_refused_and_records_nothing() {
    let app = plant(1, 1).await;
    add_operator(&app, "plant", "op-1", 1).await;
    let mut sub = subscription("user", 1);
    sub["payment_due_at"] = json!("2025-11-01T00:00:00Z");
    assert_status(
        &app.post("/v1/tenants/plant/subscriptions", sub).await,
        StatusCode::CREATED,
    );
    let before = state_of(&app, "plant").await;
    let got = app.call("POST", "/v1/operators/op-1/production", None).await;
    assert_refused(&got, "no_license", "payment.locked");
    assert_eq!(state_of(&app, "plant").await, before);
}

#[tokio::test]
async fn production_by_an_unknown_operator_is_a_404() {
    let app = TestApp::licensing();
    assert_not_found(
        &app.call("POST", "/v1/operators/ghost/production", None).await,
        "ghost",
    );
}
