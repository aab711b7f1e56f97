//! Tenants: refused inputs, duplicates, unknown ids.

use super::*;

#[tokio::test]
async fn creating_a_tenant_from_a_body_that_is_not_a_json_object_is_a_400_and_creates_nothing() {
    let app = TestApp::licensing();
    add_account(&app, "acme").await;
    let valid = json!({"id": "works", "name": "Works"});
    assert_body_is_checked(&app, "POST", "/v1/accounts/acme/tenants", &valid).await;
    assert_not_found(&app.get("/v1/tenants/works").await, "works");
    assert_eq!(app.get("/v1/accounts/acme").await.1["tenants"], json!([]));
    assert_status(
        &app.post("/v1/accounts/acme/tenants", valid).await,
        StatusCode::CREATED,
    );
}

#[tokio::test]
async fn a_tenant_with_a_mistyped_or_out_of_range_field_is_refused_naming_it_and_not_created() {
    let app = TestApp::licensing();
    add_account(&app, "acme").await;
    let path = "/v1/accounts/acme/tenants";
    assert_field_error(
        &app.post(path, json!({"id": "works", "name": "Works", "trial_days": "14"}))
            .await,
        StatusCode::BAD_REQUEST,
        "trial_days",
    );
    assert_field_error(
        &app.post(path, json!({"id": "works", "name": 1})).await,
        StatusCode::BAD_REQUEST,
        "name",
    );
    for (body, field) in [
        (
            json!({"id": "works", "name": "Works", "trial_days": -1}),
            "trial_days",
        ),
        (
            json!({"id": "works", "name": "Works", "trial_days": 3651}),
            "trial_days",
        ),
        (json!({"id": "wo rks", "name": "Works"}), "id"),
        (json!({"id": "works", "name": ""}), "name"),
    ] {
        assert_field_error(
            &app.post(path, body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            field,
        );
    }
    assert_not_found(&app.get("/v1/tenants/works").await, "works");
    assert_eq!(app.get("/v1/accounts/acme").await.1["tenants"], json!([]));
}

#[tokio::test]
async fn a_tenant_of_an_unknown_account_is_a_404_and_an_unknown_tenant_reads_as_404() {
    let app = TestApp::licensing();
    assert_not_found(
        &app.post(
            "/v1/accounts/ghost/tenants",
            json!({"id": "works", "name": "Works"}),
        )
        .await,
        "ghost",
    );
    assert_not_found(&app.get("/v1/tenants/works").await, "works");
}

#[tokio::test]
async fn a_tenant_id_already_used_in_any_account_is_a_409_and_the_first_tenant_stays_where_it_was() {
    let app = TestApp::licensing();
    add_account(&app, "acme").await;
    add_account(&app, "globex").await;
    add_tenant(&app, "acme", "works").await;
    for account in ["acme", "globex"] {
        let got = app
            .post(
                &format!("/v1/accounts/{account}/tenants"),
                json!({"id": "works", "name": "Other"}),
            )
            .await;
        let e = assert_error(&got, StatusCode::CONFLICT, "duplicate");
        assert_eq!(e["field"], "id");
    }
    let (_, t) = app.get("/v1/tenants/works").await;
    assert_eq!(
        (t["account"].clone(), t["name"].clone()),
        (json!("acme"), json!("Tenant"))
    );
    assert_eq!(app.get("/v1/accounts/globex").await.1["tenants"], json!([]));
}
