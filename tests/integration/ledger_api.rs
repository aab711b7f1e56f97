//! The licence ledger's HTTP contract at its edges: every route refuses bad
//! input (400/422 naming the field), unknown ids (404), duplicates (409), a
//! missing or wrong token (401) and what the policies forbid (403 with the
//! policy's code, bilingual message and ids) — and in every such case the
//! ledger reads back exactly as it was before the refused call.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

use crate::common::{TOKEN, TestApp};

// ------------------------------------------------------------ helpers

type Answer = (StatusCode, Value);

/// Asserts an error answer: its status, its code and a non-empty English
/// message; returns the `error` object.
#[track_caller]
fn assert_error(got: &Answer, status: StatusCode, code: &str) -> Value {
    let (s, body) = got;
    assert_eq!(*s, status, "{body}");
    let e = body["error"].clone();
    assert_eq!(e["code"], code, "{body}");
    assert!(
        e["message"]["en"].as_str().is_some_and(|m| !m.is_empty()),
        "an English message: {body}"
    );
    e
}

/// Asserts a 400 or 422 that names `field`, both in `error.field` and in the message.
#[track_caller]
fn assert_field_error(got: &Answer, status: StatusCode, field: &str) -> Value {
    let e = assert_error(got, status, "invalid_field");
    assert_eq!(e["field"], field, "{}", got.1);
    let last = field.rsplit('.').next().unwrap_or(field);
    let message = e["message"]["en"].as_str().unwrap_or_default();
    assert!(message.contains(last), "the message names `{last}`: {}", got.1);
    e
}

/// Asserts a refusal by policy: 403, the policy's code, its message in English
/// and French, and the deciding policy among `policies`.
#[track_caller]
fn assert_refused(got: &Answer, code: &str, policy: &str) -> Value {
    let e = assert_error(got, StatusCode::FORBIDDEN, code);
    assert!(
        e["message"]["fr"].as_str().is_some_and(|m| !m.is_empty()),
        "a French message: {}",
        got.1
    );
    let policies = e["policies"]
        .as_array()
        .unwrap_or_else(|| panic!("a policies array: {}", got.1));
    assert!(
        policies.contains(&json!(policy)),
        "policy `{policy}` decided: {}",
        got.1
    );
    e
}

/// Asserts a refusal because no policy permits the change: 403 `not_permitted`.
#[track_caller]
fn assert_not_permitted(got: &Answer) {
    let e = assert_error(got, StatusCode::FORBIDDEN, "not_permitted");
    assert!(
        e["message"]["fr"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        got.1
    );
    assert_eq!(e["policies"], json!([]), "{}", got.1);
}

#[track_caller]
fn assert_not_found(got: &Answer, what: &str) {
    let e = assert_error(got, StatusCode::NOT_FOUND, "not_found");
    let message = e["message"]["en"].as_str().unwrap_or_default();
    assert!(message.contains(what), "the message names `{what}`: {}", got.1);
}

#[track_caller]
fn assert_status(got: &Answer, status: StatusCode) {
    assert_eq!(got.0, status, "{}", got.1);
}

/// Everything the ledger tells about a tenant and its account, read back
/// through the public GET routes.
async fn state_of(app: &TestApp, tenant: &str) -> Value {
    let (s, t) = app.get(&format!("/v1/tenants/{tenant}")).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let account = t["account"].as_str().unwrap().to_string();
    let mut state = json!({ "tenant": t });
    for (key, path) in [
        ("account", format!("/v1/accounts/{account}")),
        ("subscriptions", format!("/v1/tenants/{tenant}/subscriptions")),
        ("roles", format!("/v1/tenants/{tenant}/roles")),
        ("users", format!("/v1/tenants/{tenant}/users")),
        ("operators", format!("/v1/tenants/{tenant}/operators")),
        ("seats", format!("/v1/tenants/{tenant}/seats")),
        ("notices", format!("/v1/tenants/{tenant}/notices")),
    ] {
        let (s, b) = app.get(&path).await;
        assert_eq!(s, StatusCode::OK, "{path}: {b}");
        state[key] = b;
    }
    state
}

/// Sends `valid` in the ways that must be refused before anything is read:
/// not JSON, JSON under another content type or none, not an object, and with
/// a field the route does not know.
async fn assert_body_is_checked(app: &TestApp, method: &str, path: &str, valid: &Value) {
    let text = valid.to_string();
    let got = app
        .call_raw(method, path, Some("application/json"), "{\"id\": ")
        .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "malformed_json");
    let got = app.call_raw(method, path, Some("text/plain"), &text).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "unsupported_content_type");
    let got = app.call_raw(method, path, None, &text).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "unsupported_content_type");
    // serde would fill a struct from an array, field by field: only an object is a body.
    let positional = Value::Array(valid.as_object().unwrap().values().cloned().collect());
    for not_an_object in [json!([]), positional, json!("text"), json!(null)] {
        let got = app.call(method, path, Some(not_an_object)).await;
        let e = assert_error(&got, StatusCode::BAD_REQUEST, "invalid_request");
        assert!(
            e["message"]["en"]
                .as_str()
                .unwrap_or_default()
                .contains("JSON object"),
            "{}",
            got.1
        );
    }
    let mut extra = valid.clone();
    extra["colour"] = json!("blue");
    assert_field_error(
        &app.call(method, path, Some(extra)).await,
        StatusCode::BAD_REQUEST,
        "colour",
    );
}

/// A provisioned tenant `plant` (account `plant-acct`, admin `plant-admin`
/// holding a licence when there are user seats).
async fn plant(shop_floor: i64, user: i64) -> TestApp {
    let app = TestApp::licensing();
    app.provisioned("plant", shop_floor, user).await;
    app
}

async fn add_account(app: &TestApp, id: &str) {
    let got = app
        .post("/v1/accounts", json!({"id": id, "name": "Account"}))
        .await;
    assert_status(&got, StatusCode::CREATED);
}

async fn add_tenant(app: &TestApp, account: &str, id: &str) {
    let got = app
        .post(
            &format!("/v1/accounts/{account}/tenants"),
            json!({"id": id, "name": "Tenant"}),
        )
        .await;
    assert_status(&got, StatusCode::CREATED);
}

async fn add_user(app: &TestApp, tenant: &str, id: &str, role: &str) {
    let got = app
        .post(
            &format!("/v1/tenants/{tenant}/users"),
            json!({"id": id, "name": format!("{id} name"), "email": format!("{id}@example.com"), "role": role}),
        )
        .await;
    assert_status(&got, StatusCode::CREATED);
}

async fn license(app: &TestApp, user: &str) {
    let got = app.call("PUT", &format!("/v1/users/{user}/license"), None).await;
    assert_status(&got, StatusCode::OK);
}

async fn add_operator(app: &TestApp, tenant: &str, id: &str, number: i64) {
    let got = app
        .post(
            &format!("/v1/tenants/{tenant}/operators"),
            json!({"id": id, "number": number, "name": format!("{id} name")}),
        )
        .await;
    assert_status(&got, StatusCode::CREATED);
}

async fn set_operator_active(app: &TestApp, id: &str, active: bool) {
    let got = app
        .call(
            "PATCH",
            &format!("/v1/operators/{id}"),
            Some(json!({"active": active})),
        )
        .await;
    assert_status(&got, StatusCode::OK);
}

async fn add_own_operator(app: &TestApp, user: &str, id: &str, number: i64) {
    let got = app
        .post(
            &format!("/v1/users/{user}/operator"),
            json!({"id": id, "number": number}),
        )
        .await;
    assert_status(&got, StatusCode::CREATED);
}

async fn subscription_numbers(app: &TestApp, tenant: &str) -> Vec<i64> {
    let (s, b) = app.get(&format!("/v1/tenants/{tenant}/subscriptions")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b.as_array()
        .unwrap()
        .iter()
        .map(|s| s["number"].as_i64().unwrap())
        .collect()
}

async fn operator(app: &TestApp, tenant: &str, id: &str) -> Value {
    let (s, b) = app.get(&format!("/v1/tenants/{tenant}/operators")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b.as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("operator `{id}` in {b}"))
}

async fn user(app: &TestApp, id: &str) -> Value {
    let (s, b) = app.get(&format!("/v1/users/{id}")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b
}

// ------------------------------------------------------------ authentication

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

// ------------------------------------------------------------ accounts

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

// ------------------------------------------------------------ tenants

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

// ------------------------------------------------------------ hubs (R1)

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

// ------------------------------------------------------------ subscriptions (R7)

fn subscription(kind: &str, quantity: i64) -> Value {
    json!({"kind": kind, "quantity": quantity, "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2027-01-01T00:00:00Z"})
}

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

// ------------------------------------------------------------ roles

#[tokio::test]
async fn creating_a_role_from_a_body_that_is_not_a_json_object_is_a_400_and_creates_no_role() {
    let app = plant(0, 1).await;
    let before = state_of(&app, "plant").await;
    let valid = json!({"name": "lead", "levels": {"reports": "edit"}});
    assert_body_is_checked(&app, "POST", "/v1/tenants/plant/roles", &valid).await;
    assert_field_error(
        &app.post(
            "/v1/tenants/plant/roles",
            json!({"name": "lead", "levels": "all"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "levels",
    );
    assert_field_error(
        &app.post("/v1/tenants/plant/roles", json!({"name": 7, "levels": {}}))
            .await,
        StatusCode::BAD_REQUEST,
        "name",
    );
    // An unknown level is a type error of that category's entry.
    assert_field_error(
        &app.post(
            "/v1/tenants/plant/roles",
            json!({"name": "lead", "levels": {"reports": "super"}}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "levels.reports",
    );
    assert_eq!(state_of(&app, "plant").await, before);
    assert_status(
        &app.post("/v1/tenants/plant/roles", valid).await,
        StatusCode::CREATED,
    );
}

#[tokio::test]
async fn a_role_with_an_unknown_category_or_a_spaced_name_is_a_422_naming_the_field_and_not_created() {
    let app = plant(0, 1).await;
    let before = state_of(&app, "plant").await;
    assert_field_error(
        &app.post(
            "/v1/tenants/plant/roles",
            json!({"name": "lead", "levels": {"reports": "edit", "payroll": "view"}}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "levels.payroll",
    );
    assert_field_error(
        &app.post(
            "/v1/tenants/plant/roles",
            json!({"name": "shift lead", "levels": {}}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "name",
    );
    assert_eq!(state_of(&app, "plant").await, before);
    assert_eq!(before["roles"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn redefining_a_built_in_role_or_an_existing_one_is_a_409_and_keeps_its_levels() {
    let app = plant(0, 1).await;
    let path = "/v1/tenants/plant/roles";
    assert_status(
        &app.post(path, json!({"name": "lead", "levels": {"reports": "edit"}}))
            .await,
        StatusCode::CREATED,
    );
    let before = state_of(&app, "plant").await;
    let e = assert_error(
        &app.post(path, json!({"name": "manager", "levels": {"users": "approve"}}))
            .await,
        StatusCode::CONFLICT,
        "builtin_role",
    );
    assert_eq!(e["field"], "name");
    let e = assert_error(
        &app.post(path, json!({"name": "lead", "levels": {"reports": "approve"}}))
            .await,
        StatusCode::CONFLICT,
        "duplicate",
    );
    assert_eq!(e["field"], "name");
    let after = state_of(&app, "plant").await;
    assert_eq!(after, before);
    let lead = after["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "lead")
        .unwrap()
        .clone();
    assert_eq!(lead["levels"]["reports"], "edit");
}

#[tokio::test]
async fn roles_of_an_unknown_tenant_are_a_404_to_create_and_to_list() {
    let app = TestApp::licensing();
    assert_not_found(
        &app.post("/v1/tenants/ghost/roles", json!({"name": "lead", "levels": {}}))
            .await,
        "ghost",
    );
    assert_not_found(&app.get("/v1/tenants/ghost/roles").await, "ghost");
}

// ------------------------------------------------------------ users

fn new_user(id: &str, role: &str) -> Value {
    json!({"id": id, "name": "Ivy", "email": "ivy@example.com", "role": role})
}

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

// ------------------------------------------------------------ PATCH /v1/users (R6, R10)

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

// ------------------------------------------------------------ licences (R3, R4)

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

// ------------------------------------------------------------ operators (R5)

#[tokio::test]
async fn adding_an_operator_from_a_body_that_is_not_a_json_object_is_a_400_and_takes_no_seat() {
    let app = plant(2, 1).await;
    let before = state_of(&app, "plant").await;
    let valid = json!({"id": "op-1", "number": 1, "name": "Olga"});
    assert_body_is_checked(&app, "POST", "/v1/tenants/plant/operators", &valid).await;
    assert_eq!(state_of(&app, "plant").await, before);
    assert_status(
        &app.post("/v1/tenants/plant/operators", valid).await,
        StatusCode::CREATED,
    );
}

#[tokio::test]
async fn an_operator_field_of_the_wrong_json_type_is_a_400_naming_it_and_takes_no_seat() {
    let app = plant(2, 1).await;
    let before = state_of(&app, "plant").await;
    for (field, value) in [
        ("number", json!(-1)),
        ("number", json!(1.5)),
        ("number", json!([1])),
        ("id", json!(1)),
        ("name", json!(7)),
        ("by", json!(3)),
    ] {
        let mut body = json!({"id": "op-1", "number": 1, "name": "Olga"});
        body[field] = value;
        assert_field_error(
            &app.post("/v1/tenants/plant/operators", body).await,
            StatusCode::BAD_REQUEST,
            field,
        );
    }
    assert_eq!(state_of(&app, "plant").await, before);
}

#[tokio::test]
async fn an_operator_with_a_blank_number_id_name_or_by_is_a_422_naming_the_field_and_takes_no_seat() {
    let app = plant(2, 1).await;
    let before = state_of(&app, "plant").await;
    for (field, value) in [
        ("number", json!("")),
        ("number", json!("   ")),
        ("number", json!("1".repeat(33))),
        ("id", json!("op 1")),
        ("name", json!("")),
        ("by", json!("")),
    ] {
        let mut body = json!({"id": "op-1", "number": 1, "name": "Olga"});
        body[field] = value;
        assert_field_error(
            &app.post("/v1/tenants/plant/operators", body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            field,
        );
    }
    assert_eq!(state_of(&app, "plant").await, before);
}

#[tokio::test]
async fn adding_an_operator_when_seats_are_full_is_refused_and_writes_nothing() {
    let app = plant(1, 1).await;
    add_operator(&app, "plant", "op-1", 1).await;
    let before = state_of(&app, "plant").await;
    assert_eq!(
        before["seats"]["shop_floor"],
        json!({"total": 1, "used": 1, "free": 0})
    );
    for body in [
        json!({"id": "op-2", "number": 2, "name": "Two"}),
        json!({"id": "op-2", "number": 2, "name": "Two", "by": "plant-admin"}),
    ] {
        let got = app.post("/v1/tenants/plant/operators", body).await;
        let e = assert_refused(&got, "seats_exhausted", "operators.seats_exhausted");
        assert_eq!(
            e["message"]["en"],
            "You are currently using all available licenses for Operators. Please contact support for more information."
        );
        assert_eq!(
            e["message"]["fr"],
            "Vous utilisez actuellement toutes les licences disponibles pour Opérateurs. Veuillez contacter l'assistance pour plus d'informations."
        );
    }
    let after = state_of(&app, "plant").await;
    assert_eq!(after, before);
    assert_eq!(after["operators"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn an_operator_number_already_used_in_the_tenant_is_a_409_however_it_is_written() {
    let app = plant(5, 1).await;
    app.provisioned("mill", 5, 1).await;
    add_operator(&app, "plant", "op-7", 7).await;
    let before = state_of(&app, "plant").await;
    for number in [json!(7), json!("7"), json!(" 7 ")] {
        let got = app
            .post(
                "/v1/tenants/plant/operators",
                json!({"id": "op-x", "number": number, "name": "X"}),
            )
            .await;
        let e = assert_error(&got, StatusCode::CONFLICT, "duplicate");
        assert_eq!(e["field"], "number");
    }
    assert_eq!(state_of(&app, "plant").await, before);
    // The number is per tenant: another tenant may use it.
    add_operator(&app, "mill", "mill-7", 7).await;
}

#[tokio::test]
async fn an_operator_id_already_used_in_any_tenant_is_a_409_and_the_first_operator_is_untouched() {
    let app = plant(5, 1).await;
    app.provisioned("mill", 5, 1).await;
    add_operator(&app, "plant", "op-1", 1).await;
    let (plant_before, mill_before) = (state_of(&app, "plant").await, state_of(&app, "mill").await);
    for tenant in ["plant", "mill"] {
        let got = app
            .post(
                &format!("/v1/tenants/{tenant}/operators"),
                json!({"id": "op-1", "number": 99, "name": "Dup"}),
            )
            .await;
        let e = assert_error(&got, StatusCode::CONFLICT, "duplicate");
        assert_eq!(e["field"], "id");
    }
    assert_eq!(state_of(&app, "plant").await, plant_before);
    assert_eq!(state_of(&app, "mill").await, mill_before);
}

#[tokio::test]
async fn adding_an_operator_on_behalf_of_someone_who_may_not_is_refused_and_takes_no_seat() {
    let app = plant(5, 3).await;
    app.provisioned("mill", 5, 1).await;
    add_user(&app, "plant", "ivy", "viewer").await;
    add_user(&app, "plant", "una", "admin").await;
    license(&app, "ivy").await;
    let before = state_of(&app, "plant").await;
    let body = |by: &str| json!({"id": "op-1", "number": 1, "name": "Olga", "by": by});
    // A viewer cannot edit workers; an admin of another tenant has no say here.
    assert_not_permitted(&app.post("/v1/tenants/plant/operators", body("ivy")).await);
    assert_not_permitted(&app.post("/v1/tenants/plant/operators", body("mill-admin")).await);
    // An admin without a user licence cannot use the management interface.
    assert_refused(
        &app.post("/v1/tenants/plant/operators", body("una")).await,
        "no_license",
        "management.unlicensed",
    );
    assert_not_found(
        &app.post("/v1/tenants/plant/operators", body("ghost")).await,
        "ghost",
    );
    assert_not_found(
        &app.post("/v1/tenants/ghost/operators", body("plant-admin")).await,
        "ghost",
    );
    assert_eq!(state_of(&app, "plant").await, before);
}

#[tokio::test]
async fn adding_an_operator_to_a_tenant_locked_for_late_payment_is_refused_and_takes_no_seat() {
    let app = plant(5, 1).await;
    let mut sub = subscription("user", 1);
    sub["payment_due_at"] = json!("2025-11-01T00:00:00Z");
    assert_status(
        &app.post("/v1/tenants/plant/subscriptions", sub).await,
        StatusCode::CREATED,
    );
    let before = state_of(&app, "plant").await;
    let got = app
        .post(
            "/v1/tenants/plant/operators",
            json!({"id": "op-1", "number": 1, "name": "Olga"}),
        )
        .await;
    assert_refused(&got, "no_license", "payment.locked");
    assert_eq!(state_of(&app, "plant").await, before);
}

// ------------------------------------------------------------ PATCH /v1/operators

#[tokio::test]
async fn changing_an_operator_with_a_body_that_is_not_a_json_object_is_a_400_and_changes_nothing() {
    let app = plant(2, 1).await;
    add_operator(&app, "plant", "op-1", 1).await;
    let before = state_of(&app, "plant").await;
    let valid = json!({"active": false});
    assert_body_is_checked(&app, "PATCH", "/v1/operators/op-1", &valid).await;
    assert_field_error(
        &app.call("PATCH", "/v1/operators/op-1", Some(json!({"active": "no"})))
            .await,
        StatusCode::BAD_REQUEST,
        "active",
    );
    assert_field_error(
        &app.call(
            "PATCH",
            "/v1/operators/op-1",
            Some(json!({"active": false, "by": 1})),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "by",
    );
    assert_field_error(
        &app.call("PATCH", "/v1/operators/op-1", Some(json!({"by": "plant-admin"})))
            .await,
        StatusCode::BAD_REQUEST,
        "active",
    );
    assert_field_error(
        &app.call(
            "PATCH",
            "/v1/operators/op-1",
            Some(json!({"active": false, "by": "a b"})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "by",
    );
    assert_eq!(state_of(&app, "plant").await, before);
    let (s, b) = app.call("PATCH", "/v1/operators/op-1", Some(valid)).await;
    assert_eq!((s, b["active"].clone()), (StatusCode::OK, json!(false)), "{b}");
}

#[tokio::test]
async fn reactivating_an_operator_when_seats_are_full_is_refused_and_it_stays_inactive() {
    let app = plant(1, 1).await;
    add_operator(&app, "plant", "op-1", 1).await;
    set_operator_active(&app, "op-1", false).await;
    add_operator(&app, "plant", "op-2", 2).await;
    let before = state_of(&app, "plant").await;
    for body in [
        json!({"active": true}),
        json!({"active": true, "by": "plant-admin"}),
    ] {
        let got = app.call("PATCH", "/v1/operators/op-1", Some(body)).await;
        assert_refused(&got, "seats_exhausted", "operators.seats_exhausted");
    }
    let after = state_of(&app, "plant").await;
    assert_eq!(after, before);
    assert_eq!(
        after["seats"]["shop_floor"],
        json!({"total": 1, "used": 1, "free": 0})
    );
    assert_eq!(operator(&app, "plant", "op-1").await["active"], false);
}

#[tokio::test]
async fn changing_an_unknown_operator_or_on_behalf_of_someone_who_may_not_changes_nothing() {
    let app = plant(2, 3).await;
    add_user(&app, "plant", "ivy", "viewer").await;
    license(&app, "ivy").await;
    add_operator(&app, "plant", "op-1", 1).await;
    let before = state_of(&app, "plant").await;
    assert_not_found(
        &app.call("PATCH", "/v1/operators/ghost", Some(json!({"active": false})))
            .await,
        "ghost",
    );
    assert_not_found(
        &app.call(
            "PATCH",
            "/v1/operators/op-1",
            Some(json!({"active": false, "by": "ghost"})),
        )
        .await,
        "ghost",
    );
    assert_not_permitted(
        &app.call(
            "PATCH",
            "/v1/operators/op-1",
            Some(json!({"active": false, "by": "ivy"})),
        )
        .await,
    );
    assert_eq!(state_of(&app, "plant").await, before);
    assert_eq!(operator(&app, "plant", "op-1").await["active"], true);
}

// ------------------------------------------------------------ own operators (R6)

#[tokio::test]
async fn creating_an_own_operator_from_a_body_that_is_not_a_json_object_is_a_400_and_creates_nothing() {
    let app = plant(1, 1).await;
    let before = state_of(&app, "plant").await;
    let path = "/v1/users/plant-admin/operator";
    let valid = json!({"id": "own", "number": 50});
    assert_body_is_checked(&app, "POST", path, &valid).await;
    for (field, value) in [("number", json!([50])), ("number", json!(-50)), ("id", json!(5))] {
        let mut body = valid.clone();
        body[field] = value;
        assert_field_error(&app.post(path, body).await, StatusCode::BAD_REQUEST, field);
    }
    // The name is the user's: it cannot be given.
    assert_field_error(
        &app.post(path, json!({"id": "own", "number": 50, "name": "Someone"}))
            .await,
        StatusCode::BAD_REQUEST,
        "name",
    );
    for (field, value) in [("number", json!("")), ("id", json!("o wn"))] {
        let mut body = valid.clone();
        body[field] = value;
        assert_field_error(
            &app.post(path, body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            field,
        );
    }
    assert_eq!(state_of(&app, "plant").await, before);
    assert_eq!(user(&app, "plant-admin").await["own_operator"], Value::Null);
    assert_status(&app.post(path, valid).await, StatusCode::CREATED);
}

#[tokio::test]
async fn a_second_own_operator_is_refused_by_policy_and_writes_nothing() {
    let app = plant(1, 1).await;
    add_own_operator(&app, "plant-admin", "own-1", 50).await;
    let before = state_of(&app, "plant").await;
    let got = app
        .post(
            "/v1/users/plant-admin/operator",
            json!({"id": "own-2", "number": 51}),
        )
        .await;
    let e = assert_refused(&got, "own_operator_exists", "own_operator.only_one");
    assert_eq!(e["message"]["en"], "You already have your own operator");
    assert_eq!(state_of(&app, "plant").await, before);
    assert_eq!(user(&app, "plant-admin").await["own_operator"], "own-1");
}

#[tokio::test]
async fn an_own_operator_with_a_taken_number_or_id_is_a_409_and_creates_nothing() {
    let app = plant(2, 2).await;
    app.provisioned("mill", 1, 1).await;
    add_operator(&app, "plant", "op-7", 7).await;
    add_operator(&app, "mill", "mill-op", 1).await;
    let before = state_of(&app, "plant").await;
    let path = "/v1/users/plant-admin/operator";
    let e = assert_error(
        &app.post(path, json!({"id": "own", "number": "7"})).await,
        StatusCode::CONFLICT,
        "duplicate",
    );
    assert_eq!(e["field"], "number");
    for id in ["op-7", "mill-op"] {
        let e = assert_error(
            &app.post(path, json!({"id": id, "number": 50})).await,
            StatusCode::CONFLICT,
            "duplicate",
        );
        assert_eq!(e["field"], "id");
    }
    assert_eq!(state_of(&app, "plant").await, before);
}

#[tokio::test]
async fn an_own_operator_for_an_unknown_unlicensed_or_inactive_user_is_refused_and_creates_nothing() {
    let app = plant(1, 3).await;
    add_user(&app, "plant", "ivy", "manager").await;
    add_user(&app, "plant", "max", "manager").await;
    license(&app, "max").await;
    let got = app
        .call("PATCH", "/v1/users/max", Some(json!({"active": false})))
        .await;
    assert_status(&got, StatusCode::OK);
    let before = state_of(&app, "plant").await;
    assert_not_found(
        &app.post("/v1/users/ghost/operator", json!({"id": "own", "number": 50}))
            .await,
        "ghost",
    );
    assert_refused(
        &app.post("/v1/users/ivy/operator", json!({"id": "own", "number": 50}))
            .await,
        "no_license",
        "management.unlicensed",
    );
    assert_refused(
        &app.post("/v1/users/max/operator", json!({"id": "own", "number": 50}))
            .await,
        "no_license",
        "management.inactive_user",
    );
    assert_eq!(state_of(&app, "plant").await, before);
}

#[tokio::test]
async fn linking_an_operator_with_a_bad_body_is_a_400_or_422_and_links_nothing() {
    let app = plant(2, 1).await;
    add_operator(&app, "plant", "op-1", 1).await;
    let before = state_of(&app, "plant").await;
    let path = "/v1/users/plant-admin/operator";
    let valid = json!({"operator": "op-1"});
    assert_body_is_checked(&app, "PUT", path, &valid).await;
    assert_field_error(
        &app.call("PUT", path, Some(json!({"operator": 1}))).await,
        StatusCode::BAD_REQUEST,
        "operator",
    );
    assert_field_error(
        &app.call("PUT", path, Some(json!({"operator": ""}))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "operator",
    );
    assert_eq!(state_of(&app, "plant").await, before);
    let (s, b) = app.call("PUT", path, Some(valid)).await;
    assert_eq!((s, b["kind"].clone()), (StatusCode::OK, json!("user")), "{b}");
}

#[tokio::test]
async fn linking_a_user_operator_is_refused_by_policy_and_it_stays_with_its_user() {
    let app = plant(1, 3).await;
    add_user(&app, "plant", "ivy", "manager").await;
    license(&app, "ivy").await;
    add_own_operator(&app, "plant-admin", "admin-op", 50).await;
    let before = state_of(&app, "plant").await;
    let got = app
        .call(
            "PUT",
            "/v1/users/ivy/operator",
            Some(json!({"operator": "admin-op"})),
        )
        .await;
    assert_refused(&got, "operator_bound_to_user", "own_operator.bound");
    assert_eq!(state_of(&app, "plant").await, before);
    let op = operator(&app, "plant", "admin-op").await;
    assert_eq!(
        (op["owner"].clone(), op["name"].clone()),
        (json!("plant-admin"), json!("Admin"))
    );
    assert_eq!(user(&app, "ivy").await["own_operator"], Value::Null);
}

#[tokio::test]
async fn linking_a_seat_operator_when_the_user_has_one_already_is_refused_and_the_seat_stays_taken() {
    let app = plant(2, 1).await;
    add_operator(&app, "plant", "op-1", 1).await;
    add_own_operator(&app, "plant-admin", "own", 50).await;
    let before = state_of(&app, "plant").await;
    let got = app
        .call(
            "PUT",
            "/v1/users/plant-admin/operator",
            Some(json!({"operator": "op-1"})),
        )
        .await;
    assert_refused(&got, "own_operator_exists", "own_operator.only_one");
    let after = state_of(&app, "plant").await;
    assert_eq!(after, before);
    assert_eq!(after["seats"]["shop_floor"]["used"], 1);
    let op = operator(&app, "plant", "op-1").await;
    assert_eq!(
        (op["kind"].clone(), op["name"].clone()),
        (json!("seat"), json!("op-1 name"))
    );
}

#[tokio::test]
async fn linking_an_unknown_operator_or_one_of_another_tenant_links_nothing() {
    let app = plant(2, 1).await;
    app.provisioned("mill", 2, 1).await;
    add_operator(&app, "mill", "mill-op", 1).await;
    let (plant_before, mill_before) = (state_of(&app, "plant").await, state_of(&app, "mill").await);
    assert_not_found(
        &app.call(
            "PUT",
            "/v1/users/plant-admin/operator",
            Some(json!({"operator": "ghost"})),
        )
        .await,
        "ghost",
    );
    assert_not_found(
        &app.call(
            "PUT",
            "/v1/users/ghost/operator",
            Some(json!({"operator": "mill-op"})),
        )
        .await,
        "ghost",
    );
    assert_not_permitted(
        &app.call(
            "PUT",
            "/v1/users/plant-admin/operator",
            Some(json!({"operator": "mill-op"})),
        )
        .await,
    );
    assert_eq!(state_of(&app, "plant").await, plant_before);
    assert_eq!(state_of(&app, "mill").await, mill_before);
}

// ------------------------------------------------------------ production

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

// ------------------------------------------------------------ reads

#[tokio::test]
async fn every_read_of_an_unknown_tenant_is_a_404_naming_it() {
    let app = plant(1, 1).await;
    for what in [
        "",
        "/subscriptions",
        "/roles",
        "/users",
        "/operators",
        "/seats",
        "/notices",
    ] {
        assert_not_found(&app.get(&format!("/v1/tenants/ghost{what}")).await, "ghost");
    }
}

// ------------------------------------------------------------ reconciliation (R9)

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
