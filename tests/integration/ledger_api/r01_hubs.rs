//! R1, hubs: which tenant, refused inputs, a second hub.

use super::*;

#[tokio::test]
async fn creating_a_hub_from_a_body_that_is_not_a_json_object_is_a_400_and_leaves_the_tenant_in_trial() {
    let app = TestApp::licensing();
    add_account(&app, "acme").await;
    add_tenant(&app, "acme", "works").await;
    let before = state_of(&app, "works").await;
    let valid = json!({"name": "Hub"});
    assert_body_is_checked(&app, "POST", "/v1/accounts/acme/hubs", &valid).await;
    assert_field_error(
        &app.post("/v1/accounts/acme/hubs", json!({"name": 1})).await,
        StatusCode::BAD_REQUEST,
        "name",
    );
    assert_field_error(
        &app.post(
            "/v1/accounts/acme/hubs",
            json!({"name": "Hub", "tenant": ["works"]}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "tenant",
    );
    assert_field_error(
        &app.post("/v1/accounts/acme/hubs", json!({"name": " "})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "name",
    );
    let after = state_of(&app, "works").await;
    assert_eq!(after, before);
    assert_eq!(
        (after["tenant"]["state"].clone(), after["tenant"]["hub"].clone()),
        (json!("trial"), Value::Null)
    );
    assert_status(
        &app.post("/v1/accounts/acme/hubs", valid).await,
        StatusCode::CREATED,
    );
}

#[tokio::test]
async fn a_hub_for_an_unknown_account_or_a_tenant_of_another_account_is_a_404_and_provisions_nothing() {
    let app = TestApp::licensing();
    add_account(&app, "acme").await;
    add_account(&app, "globex").await;
    add_tenant(&app, "acme", "works").await;
    add_tenant(&app, "globex", "mill").await;
    let (works, mill) = (state_of(&app, "works").await, state_of(&app, "mill").await);
    assert_not_found(
        &app.post("/v1/accounts/ghost/hubs", json!({"name": "Hub"})).await,
        "ghost",
    );
    assert_not_found(
        &app.post("/v1/accounts/acme/hubs", json!({"name": "Hub", "tenant": "mill"}))
            .await,
        "mill",
    );
    assert_not_found(
        &app.post(
            "/v1/accounts/acme/hubs",
            json!({"name": "Hub", "tenant": "nowhere"}),
        )
        .await,
        "nowhere",
    );
    assert_eq!(state_of(&app, "works").await, works);
    assert_eq!(state_of(&app, "mill").await, mill);
}

#[tokio::test]
async fn a_hub_for_an_account_without_tenants_is_a_409() {
    let app = TestApp::licensing();
    add_account(&app, "acme").await;
    assert_error(
        &app.post("/v1/accounts/acme/hubs", json!({"name": "Hub"})).await,
        StatusCode::CONFLICT,
        "no_tenant",
    );
    assert_eq!(app.get("/v1/accounts/acme").await.1["tenants"], json!([]));
}

#[tokio::test]
async fn a_hub_for_an_account_with_several_tenants_and_none_named_is_a_422_listing_them_and_reconciles_nothing()
 {
    let app = TestApp::licensing();
    add_account(&app, "acme").await;
    add_tenant(&app, "acme", "works").await;
    add_tenant(&app, "acme", "annex").await;
    // Three operators in trial and one shop-floor seat: a hub would deactivate two.
    for i in 1..=3 {
        add_operator(&app, "works", &format!("op-{i}"), i).await;
    }
    let sub = json!({"kind": "shop_floor", "quantity": 1, "starts_at": "2025-01-01T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z"});
    assert_status(
        &app.post("/v1/tenants/works/subscriptions", sub).await,
        StatusCode::CREATED,
    );
    let (works, annex) = (state_of(&app, "works").await, state_of(&app, "annex").await);

    let got = app.post("/v1/accounts/acme/hubs", json!({"name": "Hub"})).await;
    let e = assert_error(&got, StatusCode::UNPROCESSABLE_ENTITY, "tenant_required");
    assert_eq!(e["field"], "tenant");
    let mut candidates: Vec<String> = e["details"]["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    candidates.sort();
    assert_eq!(candidates, ["annex", "works"]);
    let message = e["message"]["en"].as_str().unwrap();
    assert!(
        message.contains("tenant") && message.contains("annex") && message.contains("works"),
        "{message}"
    );
    // In French too: the pack's message catalogue words it, candidates filled in.
    let fr = e["message"]["fr"].as_str().unwrap();
    assert!(
        fr.contains("plusieurs tenants") && fr.contains("annex") && fr.contains("works"),
        "{fr}"
    );

    assert_eq!(state_of(&app, "works").await, works);
    assert_eq!(state_of(&app, "annex").await, annex);
    assert_eq!(works["seats"]["shop_floor"]["used"], 3);
}

#[tokio::test]
async fn a_second_hub_for_a_tenant_is_refused_by_policy_and_keeps_the_first() {
    let app = plant(1, 1).await;
    let before = state_of(&app, "plant").await;
    for body in [
        json!({"name": "Second"}),
        json!({"name": "Second", "tenant": "plant"}),
    ] {
        let got = app.post("/v1/accounts/plant-acct/hubs", body).await;
        let e = assert_refused(&got, "hub_exists", "hub.already_exists");
        assert_eq!(e["message"]["en"], "This tenant already has a hub");
    }
    let after = state_of(&app, "plant").await;
    assert_eq!(after, before);
    assert_eq!(after["tenant"]["hub"]["name"], "Hub");
}
