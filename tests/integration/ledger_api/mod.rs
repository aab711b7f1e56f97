//! The licence ledger's HTTP contract at its edges: every route refuses bad
//! input (400/422 naming the field), unknown ids (404), duplicates (409), a
//! missing or wrong token (401) and what the policies forbid (403 with the
//! policy's code, bilingual message and ids) — and in every such case the
//! ledger reads back exactly as it was before the refused call.

// One file per rule or resource; the helpers below serve them all.
mod accounts;
mod authentication;
mod operator_changes;
mod production;
mod r01_hubs;
mod r03_licences;
mod r05_operators;
mod r06_own_operators;
mod r07_subscriptions;
mod r09_reconciliation;
mod r10_user_changes;
mod reads;
mod roles;
mod tenants;
mod users;

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

fn subscription(kind: &str, quantity: i64) -> Value {
    json!({"kind": kind, "quantity": quantity, "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2027-01-01T00:00:00Z"})
}

fn new_user(id: &str, role: &str) -> Value {
    json!({"id": id, "name": "Ivy", "email": "ivy@example.com", "role": role})
}
