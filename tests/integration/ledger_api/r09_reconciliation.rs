//! R9, reconciliation on demand.

use super::*;

#[tokio::test]
async fn reconciling_with_a_bad_dry_run_value_an_unknown_tenant_or_a_trial_tenant_changes_nothing() {
    let app = TestApp::licensing();
    add_account(&app, "acme").await;
    add_tenant(&app, "acme", "works").await;
    for i in 1..=3 {
        add_operator(&app, "works", &format!("op-{i}"), i).await;
    }
    let sub = json!({"kind": "shop_floor", "quantity": 1, "starts_at": "2025-01-01T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z"});
    assert_status(
        &app.post("/v1/tenants/works/subscriptions", sub).await,
        StatusCode::CREATED,
    );
    let before = state_of(&app, "works").await;

    assert_field_error(
        &app.call("POST", "/v1/tenants/works/reconcile?dry_run=maybe", None)
            .await,
        StatusCode::BAD_REQUEST,
        "dry_run",
    );
    for path in [
        "/v1/tenants/ghost/reconcile",
        "/v1/tenants/ghost/reconcile?dry_run=true",
    ] {
        assert_not_found(&app.call("POST", path, None).await, "ghost");
    }
    // In trial, only the preview of the hub's creation is available: the
    // pack refuses the reconciliation itself, in both languages.
    let e = assert_error(
        &app.call("POST", "/v1/tenants/works/reconcile", None).await,
        StatusCode::FORBIDDEN,
        "in_trial",
    );
    assert!(e["message"]["en"].as_str().unwrap().contains("dry_run"), "{e}");
    assert!(e["message"]["fr"].as_str().unwrap().contains("dry_run"), "{e}");
    assert_eq!(e["policies"], json!(["reconciliation.in_trial"]), "{e}");
    let (s, plan) = app
        .call("POST", "/v1/tenants/works/reconcile?dry_run=true", None)
        .await;
    assert_eq!(s, StatusCode::OK, "{plan}");
    assert_eq!(plan["dry_run"], true);
    let ids: Vec<&str> = plan["operators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["op-1", "op-2"]);

    let after = state_of(&app, "works").await;
    assert_eq!(after, before);
    assert_eq!(after["tenant"]["state"], "trial");
    assert_eq!(after["seats"]["shop_floor"]["used"], 3);
}

#[tokio::test]
async fn a_dry_run_reconciliation_lists_the_surplus_operators_and_deactivates_none() {
    let app = TestApp::licensing();
    app.provisioned("plant", 0, 1).await;
    let sub = json!({"kind": "shop_floor", "quantity": 2, "starts_at": "2025-01-01T00:00:00Z", "ends_at": "2026-02-01T00:00:00Z"});
    assert_status(
        &app.post("/v1/tenants/plant/subscriptions", sub).await,
        StatusCode::CREATED,
    );
    add_operator(&app, "plant", "op-1", 1).await;
    add_operator(&app, "plant", "op-2", 2).await;
    // The subscription ends: no capacity for the two active operators.
    app.at("2026-03-01T00:00:00Z");
    let before = state_of(&app, "plant").await;
    let (s, plan) = app
        .call("POST", "/v1/tenants/plant/reconcile?dry_run=true", None)
        .await;
    assert_eq!(s, StatusCode::OK, "{plan}");
    assert_eq!(plan["operators"].as_array().unwrap().len(), 2, "{plan}");
    let after = state_of(&app, "plant").await;
    assert_eq!(after, before);
    assert_eq!(operator(&app, "plant", "op-1").await["active"], true);
    // The real run does what the preview said.
    let (s, plan) = app.call("POST", "/v1/tenants/plant/reconcile", None).await;
    assert_eq!(
        (s, plan["dry_run"].clone()),
        (StatusCode::OK, json!(false)),
        "{plan}"
    );
    assert_eq!(operator(&app, "plant", "op-1").await["active"], false);
}
