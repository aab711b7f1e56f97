//! Every ledger route without the token, or with a wrong one.

use super::*;

#[tokio::test]
async fn every_ledger_route_answers_401_without_or_with_a_wrong_token_and_writes_nothing() {
    let app = plant(2, 3).await;
    add_user(&app, "plant", "ivy", "viewer").await;
    add_operator(&app, "plant", "op-1", 1).await;
    let n = subscription_numbers(&app, "plant").await[0];
    let before = state_of(&app, "plant").await;

    let sub = json!({"kind": "user", "quantity": 1, "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2027-01-01T00:00:00Z"});
    let routes: Vec<(&str, String, Option<Value>)> = vec![
        (
            "POST",
            "/v1/accounts".into(),
            Some(json!({"id": "intruder", "name": "I"})),
        ),
        ("GET", "/v1/accounts/plant-acct".into(), None),
        (
            "POST",
            "/v1/accounts/plant-acct/tenants".into(),
            Some(json!({"id": "annex", "name": "A"})),
        ),
        (
            "POST",
            "/v1/accounts/plant-acct/hubs".into(),
            Some(json!({"name": "Hub 2"})),
        ),
        ("GET", "/v1/tenants/plant".into(), None),
        ("POST", "/v1/tenants/plant/subscriptions".into(), Some(sub)),
        ("GET", "/v1/tenants/plant/subscriptions".into(), None),
        (
            "PATCH",
            format!("/v1/tenants/plant/subscriptions/{n}"),
            Some(json!({"quantity": 1})),
        ),
        (
            "POST",
            format!("/v1/tenants/plant/subscriptions/{n}/payment"),
            None,
        ),
        (
            "POST",
            "/v1/tenants/plant/roles".into(),
            Some(json!({"name": "lead", "levels": {}})),
        ),
        ("GET", "/v1/tenants/plant/roles".into(), None),
        (
            "POST",
            "/v1/tenants/plant/users".into(),
            Some(json!({"id": "eve", "name": "Eve", "email": "eve@example.com", "role": "admin"})),
        ),
        ("GET", "/v1/tenants/plant/users".into(), None),
        ("GET", "/v1/users/ivy".into(), None),
        ("PATCH", "/v1/users/ivy".into(), Some(json!({"role": "admin"}))),
        ("PUT", "/v1/users/ivy/license".into(), None),
        ("DELETE", "/v1/users/plant-admin/license".into(), None),
        (
            "POST",
            "/v1/users/plant-admin/operator".into(),
            Some(json!({"id": "own", "number": 9})),
        ),
        (
            "PUT",
            "/v1/users/plant-admin/operator".into(),
            Some(json!({"operator": "op-1"})),
        ),
        (
            "POST",
            "/v1/tenants/plant/operators".into(),
            Some(json!({"id": "op-2", "number": 2, "name": "Two"})),
        ),
        ("GET", "/v1/tenants/plant/operators".into(), None),
        (
            "PATCH",
            "/v1/operators/op-1".into(),
            Some(json!({"active": false})),
        ),
        ("POST", "/v1/operators/op-1/production".into(), None),
        ("GET", "/v1/tenants/plant/seats".into(), None),
        ("GET", "/v1/tenants/plant/notices".into(), None),
        ("POST", "/v1/tenants/plant/reconcile".into(), None),
    ];
    let wrong = [
        None,
        Some("Bearer not-the-token".to_string()),
        Some(format!("Basic {TOKEN}")),
        Some(TOKEN.to_string()),
        Some("Bearer ".to_string()),
    ];
    for (method, path, body) in &routes {
        for auth in &wrong {
            let mut req = Request::builder().method(*method).uri(path.as_str());
            if let Some(a) = auth {
                req = req.header("authorization", a.as_str());
            }
            let req = match body {
                Some(b) => req
                    .header("content-type", "application/json")
                    .body(Body::from(b.to_string())),
                None => req.body(Body::empty()),
            }
            .unwrap();
            let (status, _, answer) = app.send(req).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {auth:?}: {answer}"
            );
            assert_eq!(
                answer["error"]["code"], "unauthorized",
                "{method} {path}: {answer}"
            );
        }
    }
    assert_eq!(state_of(&app, "plant").await, before);
    assert_not_found(&app.get("/v1/accounts/intruder").await, "intruder");
}
