//! No race hands out a seat that does not exist: concurrent changes go through
//! one writer, each checked by the policies inside its own transaction.

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::json;

use crate::common::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exactly_ten_of_120_simultaneous_operator_adds_get_the_ten_free_seats() {
    let app = Arc::new(TestApp::licensing());
    app.provisioned("conc", 10, 1).await;
    let mut tasks = Vec::new();
    for i in 0..120 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            app.post(
                "/v1/tenants/conc/operators",
                json!({"id": format!("op-{i}"), "number": i, "name": format!("Op {i}"), "by": "conc-admin"}),
            )
            .await
        }));
    }
    let mut created = 0;
    let mut refused = 0;
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::FORBIDDEN => {
                assert_eq!(body["error"]["code"], "seats_exhausted", "{body}");
                refused += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!((created, refused), (10, 110));
    let (_, seats) = app.get("/v1/tenants/conc/seats").await;
    assert_eq!(seats["shop_floor"], json!({"total": 10, "used": 10, "free": 0}));
    let (_, ops) = app.get("/v1/tenants/conc/operators").await;
    assert_eq!(ops.as_array().unwrap().len(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exactly_ten_of_120_simultaneous_licence_assignments_get_the_ten_free_seats() {
    let app = Arc::new(TestApp::licensing());
    // 11 user seats: the admin holds one, ten are free.
    app.provisioned("lics", 0, 11).await;
    for i in 0..120 {
        let (s, b) = app
            .post(
                "/v1/tenants/lics/users",
                json!({"id": format!("u-{i}"), "name": format!("User {i}"), "email": format!("u{i}@example.com"), "role": "viewer"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    let mut tasks = Vec::new();
    for i in 0..120 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            app.call("PUT", &format!("/v1/users/u-{i}/license"), None).await
        }));
    }
    let mut assigned = 0;
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            StatusCode::OK => assigned += 1,
            StatusCode::FORBIDDEN => assert_eq!(body["error"]["code"], "user_seats_exhausted", "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(assigned, 10);
    let (_, seats) = app.get("/v1/tenants/lics/seats").await;
    assert_eq!(seats["user"], json!({"total": 11, "used": 11, "free": 0}));
}
