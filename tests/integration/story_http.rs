//! The help article's story against a real server on a real socket: the same
//! calls a caller makes, with the clock pinned and moved by the test.

use std::sync::Arc;

use serde_json::{Value, json};
use turnstile::decide::Engine;
use turnstile::policy::PolicyPack;
use turnstile::store::Store;
use turnstile::time::{self, Clock};

use crate::common::{RunningServer, repo_path};
use crate::http_client::request;

const TOKEN: &str = "story-token";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_articles_story_runs_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::fixed(time::parse("2026-01-01T08:00:00Z").unwrap());
    let store = Store::open(&dir.path().join("story.db")).unwrap();
    let pack = PolicyPack::load(&repo_path("policies")).unwrap();
    let engine = Arc::new(Engine::new(pack, store, clock.clone()).unwrap());
    let server = RunningServer::start(engine, &dir.path().join("story.db"), TOKEN).await;
    let addr = server.addr;

    let call = |method: &'static str, path: String, body: Option<Value>| async move {
        request(addr, method, &path, Some(TOKEN), body.as_ref()).await
    };
    let decide = |subject: (&'static str, &'static str), action: &'static str| async move {
        let (status, body) = request(
            addr,
            "POST",
            "/access/v1/evaluation",
            None,
            Some(&json!({
                "subject": {"type": subject.0, "id": subject.1},
                "action": {"name": action},
                "resource": {"type": "Tenant", "id": "fab-plant"},
            })),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        body
    };
    let at = |t: &str| clock.set(time::parse(t).unwrap());

    // A trial tenant with two users and five operators.
    assert_eq!(
        call(
            "POST",
            "/v1/accounts".into(),
            Some(json!({"id": "fab", "name": "Fabrikam"}))
        )
        .await
        .0,
        201
    );
    let (s, t) = call(
        "POST",
        "/v1/accounts/fab/tenants".into(),
        Some(json!({"id": "fab-plant", "name": "Plant"})),
    )
    .await;
    assert_eq!((s, t["state"].clone()), (201, json!("trial")));
    for (id, role) in [("ana", "admin"), ("ben", "manager")] {
        let body =
            json!({"id": id, "name": format!("{id} name"), "email": format!("{id}@fab.test"), "role": role});
        assert_eq!(
            call("POST", "/v1/tenants/fab-plant/users".into(), Some(body))
                .await
                .0,
            201
        );
    }
    for i in 1..=5 {
        let body =
            json!({"id": format!("op-{i}"), "number": 100 + i, "name": format!("Op {i}"), "by": "ana"});
        let (s, b) = call("POST", "/v1/tenants/fab-plant/operators".into(), Some(body)).await;
        assert_eq!(s, 201, "{b}");
    }
    // Production history: op-5 never recorded; op-2 is idle longest among the others.
    at("2026-01-14T12:00:00Z");
    for (op, when) in [
        ("op-2", "2026-01-08T10:00:00Z"),
        ("op-1", "2026-01-10T10:00:00Z"),
        ("op-4", "2026-01-12T10:00:00Z"),
        ("op-3", "2026-01-14T10:00:00Z"),
    ] {
        let (s, b) = call(
            "POST",
            format!("/v1/operators/{op}/production"),
            Some(json!({"at": when})),
        )
        .await;
        assert_eq!(s, 201, "{b}");
    }
    // 3 shop-floor and 2 user seats, payment due on day 20.
    at("2026-01-15T09:00:00Z");
    for (kind, q) in [("shop_floor", 3), ("user", 2)] {
        let body = json!({"kind": kind, "quantity": q, "starts_at": "2026-01-15T00:00:00Z", "ends_at": "2027-01-15T00:00:00Z", "payment_due_at": "2026-01-20T00:00:00Z"});
        assert_eq!(
            call("POST", "/v1/tenants/fab-plant/subscriptions".into(), Some(body))
                .await
                .0,
            201
        );
    }
    // The hub: the two idle longest go, in order.
    let (s, hub) = call(
        "POST",
        "/v1/accounts/fab/hubs".into(),
        Some(json!({"name": "Main hub"})),
    )
    .await;
    assert_eq!(s, 201, "{hub}");
    let gone: Vec<&str> = hub["reconciliation"]["operators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(gone, vec!["op-5", "op-2"]);
    for u in ["ana", "ben"] {
        assert_eq!(call("PUT", format!("/v1/users/{u}/license"), None).await.0, 200);
    }
    // Seat exhaustion, with the exact message.
    let (s, refusal) = call(
        "POST",
        "/v1/tenants/fab-plant/operators".into(),
        Some(json!({"id": "op-6", "number": 106, "name": "Op 6", "by": "ana"})),
    )
    .await;
    assert_eq!(s, 403);
    assert_eq!(
        refusal["error"]["message"]["en"],
        "You are currently using all available licenses for Operators. Please contact support for more information."
    );
    // An own operator with the seats full, then its user deactivated.
    let (s, own) = call(
        "POST",
        "/v1/users/ben/operator".into(),
        Some(json!({"id": "op-ben", "number": 200})),
    )
    .await;
    assert_eq!((s, own["kind"].clone()), (201, json!("user")));
    assert_eq!(
        call(
            "PATCH",
            "/v1/users/ben".into(),
            Some(json!({"active": false, "by": "ana"}))
        )
        .await
        .0,
        200
    );
    let (_, d) = request(
        addr,
        "POST",
        "/access/v1/evaluation",
        None,
        Some(&json!({"subject": {"type": "Operator", "id": "op-ben"}, "action": {"name": "record_production"}, "resource": {"type": "Tenant", "id": "fab-plant"}})),
    )
    .await;
    assert_eq!(d["decision"], false);
    // Late payment: a countdown, then the lock, then back in once paid.
    at("2026-02-04T00:00:00Z");
    let d = decide(("User", "ana"), "access_management").await;
    assert_eq!(
        (
            d["decision"].clone(),
            d["context"]["notices"][0]["days_left"].clone()
        ),
        (json!(true), json!(15))
    );
    at("2026-02-20T00:00:00Z");
    let d = decide(("User", "ana"), "access_management").await;
    assert_eq!(d["decision"], false);
    assert_eq!(d["context"]["reasons"], json!(["payment.locked"]));
    for n in [1, 2] {
        assert_eq!(
            call(
                "POST",
                format!("/v1/tenants/fab-plant/subscriptions/{n}/payment"),
                None
            )
            .await
            .0,
            200
        );
    }
    let d = decide(("User", "ana"), "access_management").await;
    assert_eq!(d["decision"], true, "{d}");

    server.stop().await;
}
