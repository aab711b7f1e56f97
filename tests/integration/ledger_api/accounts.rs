//! Accounts: refused inputs, duplicates, unknown ids.

use super::*;

#[tokio::test]
async fn creating_an_account_from_a_body_that_is_not_a_json_object_is_a_400_and_creates_nothing() {
    let app = TestApp::licensing();
    let valid = json!({"id": "acme", "name": "Acme"});
    assert_body_is_checked(&app, "POST", "/v1/accounts", &valid).await;
    let got = app
        .call_raw("POST", "/v1/accounts", Some("application/json"), "")
        .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "empty_body");
    assert_not_found(&app.get("/v1/accounts/acme").await, "acme");
    // The same body, sent properly, is accepted.
    assert_status(&app.post("/v1/accounts", valid).await, StatusCode::CREATED);
}

#[tokio::test]
async fn an_account_field_of_the_wrong_type_or_missing_is_a_400_naming_the_field() {
    let app = TestApp::licensing();
    assert_field_error(
        &app.post("/v1/accounts", json!({"id": 5, "name": "Acme"})).await,
        StatusCode::BAD_REQUEST,
        "id",
    );
    assert_field_error(
        &app.post("/v1/accounts", json!({"id": "acme", "name": ["Acme"]}))
            .await,
        StatusCode::BAD_REQUEST,
        "name",
    );
    assert_field_error(
        &app.post("/v1/accounts", json!({"id": "acme"})).await,
        StatusCode::BAD_REQUEST,
        "name",
    );
    assert_not_found(&app.get("/v1/accounts/acme").await, "acme");
}

#[tokio::test]
async fn an_account_with_a_blank_or_spaced_id_or_a_blank_name_is_a_422_naming_the_field() {
    let app = TestApp::licensing();
    for (body, field) in [
        (json!({"id": "", "name": "Acme"}), "id"),
        (json!({"id": "ac me", "name": "Acme"}), "id"),
        (json!({"id": "x".repeat(129), "name": "Acme"}), "id"),
        (json!({"id": "acme", "name": "   "}), "name"),
    ] {
        assert_field_error(
            &app.post("/v1/accounts", body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            field,
        );
    }
    assert_not_found(&app.get("/v1/accounts/acme").await, "acme");
    assert_not_found(&app.get("/v1/accounts/ac%20me").await, "ac me");
}

#[tokio::test]
async fn creating_an_account_twice_is_a_409_and_keeps_the_first() {
    let app = TestApp::licensing();
    assert_status(
        &app.post("/v1/accounts", json!({"id": "acme", "name": "Acme"}))
            .await,
        StatusCode::CREATED,
    );
    let got = app
        .post("/v1/accounts", json!({"id": "acme", "name": "Impostor"}))
        .await;
    let e = assert_error(&got, StatusCode::CONFLICT, "duplicate");
    assert_eq!(e["field"], "id");
    let (s, a) = app.get("/v1/accounts/acme").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(a["name"], "Acme");
}

#[tokio::test]
async fn reading_an_unknown_account_is_a_404_naming_it() {
    let app = TestApp::licensing();
    assert_not_found(&app.get("/v1/accounts/ghost").await, "ghost");
}
