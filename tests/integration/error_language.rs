//! Every error speaks the same language: a JSON body with a stable code and a
//! message in English and French, also for what the router itself refuses
//! (unknown routes, methods); no Rust type names; refusals that say what is
//! allowed (time range, leap seconds); bodies that say two things (a key
//! named twice) and text that hides characters (bidirectional or zero-width
//! marks) refused; a caller's request id echoed only when it is a sane one.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

use crate::common::{TOKEN, TestApp};

fn assert_spoken(body: &Value) {
    assert!(body["error"]["code"].is_string(), "{body}");
    assert!(body["error"]["message"]["en"].is_string(), "{body}");
    assert!(body["error"]["message"]["fr"].is_string(), "{body}");
}

#[tokio::test]
async fn a_method_a_path_does_not_take_is_a_405_naming_the_methods_it_takes() {
    let app = TestApp::licensing();
    let (status, body) = app.call("DELETE", "/v1/accounts", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    assert_spoken(&body);
    assert_eq!(body["error"]["code"], json!("method_not_allowed"));
    assert!(
        body["error"]["message"]["en"]
            .as_str()
            .unwrap()
            .ends_with("it takes POST"),
        "{body}"
    );
    let (status, body) = app.call("PUT", "/v1/tenants/plant/users", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    assert!(
        body["error"]["message"]["en"]
            .as_str()
            .unwrap()
            .ends_with("it takes GET, POST"),
        "{body}"
    );
}

#[tokio::test]
async fn an_unknown_route_is_a_404_in_both_languages() {
    let app = TestApp::licensing();
    let (status, body) = app.call("GET", "/no/such/route", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_spoken(&body);
}

#[tokio::test]
async fn a_body_naming_a_key_twice_is_refused_and_changes_nothing() {
    let app = TestApp::licensing();
    let (status, body) = app
        .call_raw(
            "POST",
            "/v1/accounts",
            Some("application/json"),
            r#"{"id": "acme", "name": "Acme", "id": "evil"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], json!("duplicate_key"), "{body}");
    assert_eq!(app.get("/v1/accounts/acme").await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/v1/accounts/evil").await.0, StatusCode::NOT_FOUND);
    let (status, body) = app
        .call_raw(
            "POST",
            "/access/v1/evaluation",
            Some("application/json"),
            r#"{"subject": {"type": "User", "id": "a", "id": "b"}, "action": {"name": "view"}, "resource": {"type": "Category", "id": "reports"}}"#,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn ids_names_and_emails_with_hidden_characters_are_refused() {
    let app = TestApp::licensing();
    app.provisioned("plant", 1, 1).await;
    for (field, user) in [
        (
            "id",
            json!({"id": "ad\u{202E}a", "name": "Ada", "email": "ada@example.com", "role": "viewer"}),
        ),
        (
            "id",
            json!({"id": "a\u{0000}b", "name": "Ada", "email": "ada@example.com", "role": "viewer"}),
        ),
        (
            "name",
            json!({"id": "ada", "name": "Ad\u{200B}a", "email": "ada@example.com", "role": "viewer"}),
        ),
        (
            "email",
            json!({"id": "ada", "name": "Ada", "email": "ada\u{2066}@example.com", "role": "viewer"}),
        ),
    ] {
        let (status, body) = app.post("/v1/tenants/plant/users", user.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{user} → {body}");
        assert_eq!(body["error"]["field"], json!(field), "{body}");
    }
    let (status, users) = app.get("/v1/tenants/plant/users").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(users.as_array().map(Vec::len), Some(1), "only the admin: {users}");
}

#[tokio::test]
async fn times_outside_the_range_and_leap_seconds_are_refused_saying_why() {
    let app = TestApp::licensing();
    app.provisioned("plant", 1, 1).await;
    let sub = |starts_at: &str| json!({"kind": "user", "quantity": 1, "starts_at": starts_at, "ends_at": "2030-01-01T00:00:00Z"});
    let (status, body) = app
        .post("/v1/tenants/plant/subscriptions", sub("2026-06-30T23:59:60Z"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["message"]["en"]
            .as_str()
            .unwrap()
            .contains("leap second"),
        "{body}"
    );
    let (status, body) = app
        .post(
            "/v1/tenants/plant/subscriptions",
            json!({"kind": "user", "quantity": 1, "starts_at": "2026-01-01T00:00:00Z", "ends_at": "9999-12-31T23:59:59Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["message"]["en"]
            .as_str()
            .unwrap()
            .contains("9999-12-30T22:00:00Z"),
        "{body}"
    );
}

#[tokio::test]
async fn messages_name_no_rust_types() {
    let app = TestApp::licensing();
    app.provisioned("plant", 1, 1).await;
    for number in [json!(-1), json!(1.5), json!({"n": 1}), json!(true)] {
        let (status, body) = app
            .post(
                "/v1/tenants/plant/operators",
                json!({"id": "op", "number": number, "name": "Op"}),
            )
            .await;
        assert!(status.is_client_error(), "{number} → {status} {body}");
        let en = body["error"]["message"]["en"].as_str().unwrap();
        assert!(
            !en.contains("enum") && !en.contains("NumberInput") && !en.contains("variant"),
            "{en}"
        );
        assert!(en.contains("number"), "{en}");
    }
}

#[tokio::test]
async fn a_sane_request_id_is_echoed_and_an_oversized_one_replaced() {
    let app = TestApp::licensing();
    let send = |id: String| {
        Request::builder()
            .uri("/health/live")
            .header("x-request-id", id)
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Body::empty())
            .unwrap()
    };
    let (_, headers, _) = app.send(send("trace-42".into())).await;
    assert_eq!(headers["x-request-id"], "trace-42");
    let (_, headers, _) = app.send(send("x".repeat(10_000))).await;
    let echoed = headers["x-request-id"].to_str().unwrap();
    assert!(echoed.len() <= 128 && !echoed.starts_with("xxx"), "{echoed}");
}

/// Headers too many or too large are a 431 the caller can read, over a real
/// connection (hyper's own hard limit sits above the API's), and the 60 KB
/// request id of the hardening probe is one of them.
#[tokio::test]
async fn headers_too_large_or_too_many_are_a_431_in_both_languages() {
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    let store = turnstile::store::Store::open(&db).unwrap();
    let pack = turnstile::policy::PolicyPack::load(&crate::common::repo_path("policies")).unwrap();
    let engine =
        Arc::new(turnstile::decide::Engine::new(pack, store, turnstile::time::Clock::system()).unwrap());
    let server = crate::common::RunningServer::start(engine, &db, TOKEN).await;
    let big = "x".repeat(60 * 1024);
    let many: Vec<(String, String)> = (0..150).map(|i| (format!("x-h{i}"), "v".into())).collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    for headers in [vec![("x-request-id", big.as_str())], many] {
        let (status, _, body) =
            crate::http_client::try_request_with(server.addr, "GET", "/health/live", None, &headers, None)
                .await
                .unwrap();
        assert_eq!(status, 431, "{body}");
        assert_eq!(body["error"]["code"], "headers_too_large", "{body}");
        assert_spoken(&body);
    }
    // Sane headers still pass.
    let (status, _, _) = crate::http_client::try_request_with(
        server.addr,
        "GET",
        "/health/live",
        None,
        &[("x-request-id", "ok-1")],
        None,
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
}
