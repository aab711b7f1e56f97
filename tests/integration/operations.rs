//! Running it: health, metrics, limits, logs, graceful shutdown.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;
use turnstile::decide::Engine;
use turnstile::decision_log::{self, DecisionLog};
use turnstile::http::observe::Limits;
use turnstile::policy::PolicyPack;
use turnstile::store::Store;
use turnstile::time::{self, Clock};

use crate::common::{RunningServer, TOKEN, TestApp, repo_path};
use crate::http_client::request;

#[tokio::test]
async fn live_and_ready_answer_and_ready_carries_the_policy_revision() {
    let app = TestApp::licensing();
    let (s, live) = app.get("/health/live").await;
    assert_eq!((s, live["status"].clone()), (StatusCode::OK, json!("live")));
    let (s, ready) = app.get("/health/ready").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["policy_revision"].as_str().unwrap().len(), 16);
    assert_eq!(ready["entity_level"], 2);
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_decisions_by_result() {
    turnstile::http::observe::handle();
    let app = TestApp::licensing();
    app.provisioned("met", 1, 1).await;
    let (allowed, _) = app
        .evaluate(("User", "met-admin"), "access_management", ("Tenant", "met"))
        .await;
    assert!(allowed);
    let (denied, _) = app
        .evaluate(("User", "met-admin"), "change_license", ("Tenant", "met"))
        .await;
    assert!(!denied);
    let req = Request::get("/metrics").body(Body::empty()).unwrap();
    let (s, headers, body) = app.send(req).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = body.as_str().unwrap();
    assert!(
        text.contains(
            r#"http_request_duration_seconds_bucket{route="/access/v1/evaluation",method="POST",status="200""#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"route="/v1/tenants/{tenant}/seats""#)
            || text.contains(r#"route="/v1/accounts/{account}/hubs""#),
        "{text}"
    );
    assert!(
        text.contains(r#"turnstile_decisions_total{result="allow",source="authzen"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"turnstile_decisions_total{result="deny",source="authzen"}"#),
        "{text}"
    );
    assert!(text.contains("turnstile_store_commit_seconds"), "{text}");
    assert!(!text.contains(TOKEN));
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413_and_writes_nothing() {
    let app = TestApp::licensing();
    let state = app.state.clone().with_limits(Limits {
        max_body: 1024,
        ..Limits::default()
    });
    // `with_limits` on a shared state keeps the old limits: build a router of our own.
    let small = TestApp::licensing();
    let state_small = turnstile::http::AppState::new(small.state.engine().clone(), TOKEN, None, None)
        .with_limits(Limits {
            max_body: 1024,
            ..Limits::default()
        });
    drop(state);
    let router = turnstile::http::app(state_small);
    let big = json!({"id": "acme", "name": "x".repeat(4096)}).to_string();
    let req = Request::post("/v1/accounts")
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/json")
        .body(Body::from(big))
        .unwrap();
    let resp = tower::ServiceExt::oneshot(router.clone(), req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let bytes = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large");
    let req = Request::get("/v1/accounts/acme")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let resp = tower::ServiceExt::oneshot(router, req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_batch_over_the_documented_size_is_refused_with_a_400() {
    let app = TestApp::licensing();
    let items: Vec<_> = (0..1001)
        .map(|_| json!({"resource": {"type": "Tenant", "id": "t"}}))
        .collect();
    let (s, body) = app
        .post(
            "/access/v1/evaluations",
            json!({"subject": {"type": "User", "id": "u"}, "action": {"name": "access_management"}, "evaluations": items}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]["en"].as_str().unwrap().contains("1000"),
        "{body}"
    );
}

#[tokio::test]
async fn shutting_down_finishes_and_flushes_the_decision_log() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("decisions.jsonl");
    let pack = PolicyPack::load(&repo_path("policies")).unwrap();
    let store = Store::open(&dir.path().join("d.db")).unwrap();
    let engine = Arc::new(
        Engine::new(
            pack,
            store,
            Clock::fixed(time::parse("2026-01-01T00:00:00Z").unwrap()),
        )
        .unwrap(),
    );
    engine.set_log(Arc::new(
        DecisionLog::open(decision_log::Target::File(log_path.clone()), 1024, 0).unwrap(),
    ));
    let server = RunningServer::start(engine, &dir.path().join("d.db"), TOKEN).await;
    let addr = server.addr;
    let body = json!({"subject": {"type": "User", "id": "nobody"}, "action": {"name": "access_management"}, "resource": {"type": "Tenant", "id": "t"}});
    for _ in 0..25 {
        let (s, _) = request(addr, "POST", "/access/v1/evaluation", None, Some(&body)).await;
        assert_eq!(s, 200);
    }
    server.stop().await;
    let entries = decision_log::read(&log_path).unwrap();
    assert_eq!(entries.len(), 25);
    let first = entries[0].as_ref().unwrap();
    assert!(!first.decision);
    assert_eq!(first.request["subject"]["id"], "nobody");
    assert_eq!(first.source, "authzen");
}

#[test]
fn json_logs_are_json_lines_and_never_show_the_admin_token() {
    let dir = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let token = "very-secret-token-1234";
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_turnstile"))
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--log-format",
            "json",
            "--no-watch",
        ])
        .arg("--db")
        .arg(dir.path().join("l.db"))
        .arg("--policies")
        .arg(repo_path("policies"))
        .env("TURNSTILE_ADMIN_TOKEN", token)
        .env("RUST_LOG", "debug")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    rt.block_on(async {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            if let Ok((200, _)) =
                crate::http_client::try_request(addr, "GET", "/health/ready", None, None).await
            {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "the server did not start");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let (s, _) = request(
            addr,
            "POST",
            "/v1/accounts",
            Some(token),
            Some(&json!({"id": "a", "name": "A"})),
        )
        .await;
        assert_eq!(s, 201);
        let (s, _) = request(addr, "GET", "/v1/accounts/a", Some("wrong-token"), None).await;
        assert_eq!(s, 401);
    });
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let logs = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = logs.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 3, "{logs}");
    for l in &lines {
        let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        assert!(v.get("level").is_some(), "{l}");
    }
    assert!(
        logs.contains(r#""route":"/v1/accounts""#) || logs.contains("/v1/accounts"),
        "{logs}"
    );
    assert!(!logs.contains(token), "the token leaked into the logs");
    assert!(
        !logs.contains("wrong-token"),
        "a presented token leaked into the logs"
    );
}
