//! R7, subscriptions: refused inputs, changes the policies refuse, payments.

use super::*;

#[tokio::test]
async fn buying_a_subscription_with_a_body_that_is_not_a_json_object_is_a_400_and_adds_no_seats() {
    let app = plant(1, 1).await;
    let before = state_of(&app, "plant").await;
    let valid = subscription("shop_floor", 5);
    assert_body_is_checked(&app, "POST", "/v1/tenants/plant/subscriptions", &valid).await;
    assert_eq!(state_of(&app, "plant").await, before);
    assert_status(
        &app.post("/v1/tenants/plant/subscriptions", valid).await,
        StatusCode::CREATED,
    );
}

#[tokio::test]
async fn a_subscription_field_of_the_wrong_json_type_is_a_400_naming_it_and_adds_no_seats() {
    let app = plant(1, 1).await;
    let before = state_of(&app, "plant").await;
    let path = "/v1/tenants/plant/subscriptions";
    for (field, value) in [
        ("quantity", json!("5")),
        ("quantity", json!(2.5)),
        ("kind", json!(1)),
        ("starts_at", json!(20260101)),
        ("ends_at", json!(null)),
        ("payment_due_at", json!(false)),
    ] {
        let mut body = subscription("shop_floor", 5);
        body[field] = value;
        assert_field_error(&app.post(path, body).await, StatusCode::BAD_REQUEST, field);
    }
    assert_eq!(state_of(&app, "plant").await, before);
}

#[tokio::test]
async fn a_subscription_with_an_invalid_value_is_a_422_naming_the_field_and_adds_no_seats() {
    let app = plant(1, 1).await;
    let before = state_of(&app, "plant").await;
    let path = "/v1/tenants/plant/subscriptions";
    let cases: Vec<(&str, Value, &str)> = vec![
        ("quantity", json!(-3), "quantity"),
        ("quantity", json!(0), "quantity"),
        ("quantity", json!(1_000_001), "quantity"),
        ("kind", json!("enterprise"), "kind"),
        ("starts_at", json!("tomorrow"), "starts_at"),
        ("starts_at", json!("2026-01-01"), "starts_at"),
        ("ends_at", json!("2025-12-31T00:00:00Z"), "ends_at"),
        ("ends_at", json!("2026-01-01T00:00:00Z"), "ends_at"),
        ("ends_at", json!("2026-13-01T00:00:00Z"), "ends_at"),
        ("payment_due_at", json!("soon"), "payment_due_at"),
    ];
    for (key, value, field) in cases {
        let mut body = subscription("shop_floor", 5);
        body[key] = value;
        assert_field_error(
            &app.post(path, body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            field,
        );
    }
    let after = state_of(&app, "plant").await;
    assert_eq!(after, before);
    assert_eq!(after["seats"]["shop_floor"]["total"], 1);
}

#[tokio::test]
async fn a_subscription_for_an_unknown_tenant_is_a_404_and_so_is_listing_its_subscriptions() {
    let app = TestApp::licensing();
    assert_not_found(
        &app.post("/v1/tenants/ghost/subscriptions", subscription("user", 1))
            .await,
        "ghost",
    );
    assert_not_found(&app.get("/v1/tenants/ghost/subscriptions").await, "ghost");
}

#[tokio::test]
async fn changing_a_subscription_with_a_body_that_is_not_a_json_object_is_a_400_and_changes_nothing() {
    let app = plant(2, 1).await;
    let n = subscription_numbers(&app, "plant").await[0];
    let before = state_of(&app, "plant").await;
    let path = format!("/v1/tenants/plant/subscriptions/{n}");
    let valid = json!({"quantity": 1});
    assert_body_is_checked(&app, "PATCH", &path, &valid).await;
    assert_field_error(
        &app.call("PATCH", &path, Some(json!({"quantity": "1"}))).await,
        StatusCode::BAD_REQUEST,
        "quantity",
    );
    assert_field_error(
        &app.call("PATCH", &path, Some(json!({"ends_at": 1767225600})))
            .await,
        StatusCode::BAD_REQUEST,
        "ends_at",
    );
    // The kind and start of a purchase are not changed afterwards.
    assert_field_error(
        &app.call("PATCH", &path, Some(json!({"kind": "user"}))).await,
        StatusCode::BAD_REQUEST,
        "kind",
    );
    assert_eq!(state_of(&app, "plant").await, before);
    assert_status(&app.call("PATCH", &path, Some(valid)).await, StatusCode::OK);
}

#[tokio::test]
async fn raising_a_subscription_is_refused_by_policy_and_invalid_changes_are_422s_and_nothing_changes() {
    let app = plant(2, 1).await;
    add_operator(&app, "plant", "op-1", 1).await;
    add_operator(&app, "plant", "op-2", 2).await;
    let n = subscription_numbers(&app, "plant").await[0];
    let before = state_of(&app, "plant").await;
    let path = format!("/v1/tenants/plant/subscriptions/{n}");
    // R7 is the pack's: a 403 naming the policy, with its message in both languages.
    let raised = app.call("PATCH", &path, Some(json!({"quantity": 3}))).await;
    assert_error(&raised, StatusCode::FORBIDDEN, "subscription_enlarged");
    assert_eq!(
        raised.1["error"]["policies"],
        json!(["subscriptions.never_enlarged"]),
        "{}",
        raised.1
    );
    assert!(
        raised.1["error"]["message"]["fr"].as_str().is_some(),
        "{}",
        raised.1
    );
    for (body, field) in [
        (json!({"quantity": 0}), "quantity"),
        (json!({"quantity": -1}), "quantity"),
        (
            json!({"quantity": 1, "ends_at": "2024-06-01T00:00:00Z"}),
            "ends_at",
        ),
        (json!({"ends_at": "2025-01-01T00:00:00Z"}), "ends_at"),
        (json!({"quantity": 1, "ends_at": "next year"}), "ends_at"),
    ] {
        assert_field_error(
            &app.call("PATCH", &path, Some(body)).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            field,
        );
    }
    let after = state_of(&app, "plant").await;
    assert_eq!(after, before);
    assert_eq!(
        after["seats"]["shop_floor"],
        json!({"total": 2, "used": 2, "free": 0})
    );
    assert_eq!(operator(&app, "plant", "op-1").await["active"], true);
}

#[tokio::test]
async fn changing_an_unknown_subscription_or_another_tenants_one_is_a_404_and_changes_nothing() {
    let app = plant(2, 1).await;
    app.provisioned("mill", 2, 1).await;
    let theirs = subscription_numbers(&app, "mill").await[0];
    let (plant_before, mill_before) = (state_of(&app, "plant").await, state_of(&app, "mill").await);
    let body = Some(json!({"quantity": 1}));
    for path in [
        "/v1/tenants/plant/subscriptions/9999".to_string(),
        "/v1/tenants/plant/subscriptions/abc".to_string(),
        format!("/v1/tenants/plant/subscriptions/{theirs}"),
        format!("/v1/tenants/ghost/subscriptions/{theirs}"),
    ] {
        let got = app.call("PATCH", &path, body.clone()).await;
        assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    }
    assert_eq!(state_of(&app, "plant").await, plant_before);
    assert_eq!(state_of(&app, "mill").await, mill_before);
}

#[tokio::test]
async fn paying_an_unknown_subscription_or_another_tenants_one_is_a_404_and_marks_nothing_paid() {
    let app = TestApp::licensing();
    for t in ["plant", "mill"] {
        app.provisioned(t, 0, 0).await;
        let mut sub = subscription("user", 2);
        sub["payment_due_at"] = json!("2026-01-20T00:00:00Z");
        assert_status(
            &app.post(&format!("/v1/tenants/{t}/subscriptions"), sub).await,
            StatusCode::CREATED,
        );
    }
    let theirs = subscription_numbers(&app, "mill").await[0];
    let ours = subscription_numbers(&app, "plant").await[0];
    let (plant_before, mill_before) = (state_of(&app, "plant").await, state_of(&app, "mill").await);
    for path in [
        "/v1/tenants/plant/subscriptions/9999/payment".to_string(),
        "/v1/tenants/plant/subscriptions/first/payment".to_string(),
        format!("/v1/tenants/plant/subscriptions/{theirs}/payment"),
        format!("/v1/tenants/ghost/subscriptions/{ours}/payment"),
    ] {
        assert_error(
            &app.call("POST", &path, None).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
    }
    let (plant_after, mill_after) = (state_of(&app, "plant").await, state_of(&app, "mill").await);
    assert_eq!(plant_after, plant_before);
    assert_eq!(mill_after, mill_before);
    assert_eq!(mill_after["subscriptions"][0]["paid"], false);
    // Paying the right one works.
    let (s, b) = app
        .call(
            "POST",
            &format!("/v1/tenants/mill/subscriptions/{theirs}/payment"),
            None,
        )
        .await;
    assert_eq!((s, b["paid"].clone()), (StatusCode::OK, json!(true)), "{b}");
}
