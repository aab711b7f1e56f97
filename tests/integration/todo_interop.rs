//! The public OpenID AuthZEN Todo interop scenario (Rick and Morty's todo
//! application) against the example pack in `examples/todo/`: every decision of
//! `../shared/reference/authzen/todo-interop-decisions.json`, its 40 single
//! evaluations through `POST /access/v1/evaluation` and its 3 batches through
//! `POST /access/v1/evaluations`, must come out as the reference expects.
//!
//! The pack's entities (the five users and their roles) go in through the real
//! API (`PUT /v1/entities`); the users named as resources and the todos are not
//! stored, so this also checks that an unstored entity is evaluated from its
//! request properties alone, or from none. AuthZEN requests are sent as a PEP
//! sends them: no admin token.

use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

use crate::common::{TestApp, repo_path};

const EVALUATION: &str = "/access/v1/evaluation";
const EVALUATIONS: &str = "/access/v1/evaluations";
const REFERENCE: &str = "../shared/reference/authzen/todo-interop-decisions.json";

/// The todo pack at a pinned time, with its entities (four roles, five users)
/// stored through `PUT /v1/entities`.
async fn todo_app() -> TestApp {
    let app = TestApp::with_pack(&repo_path("examples/todo"), "2026-01-01T00:00:00Z");
    let text = std::fs::read_to_string(repo_path("examples/todo/entities.json")).expect("entities.json");
    let entities: Value = serde_json::from_str(&text).expect("entities.json is JSON");
    let (status, body) = app.call("PUT", "/v1/entities", Some(entities)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["stored"], json!(9), "{body}");
    app
}

/// POSTs JSON as a PEP would (no token): the status and the answer.
async fn post_json(app: &TestApp, path: &str, body: &Value) -> (StatusCode, Value) {
    let req = Request::builder()
        .method("POST")
        .uri(path)
        .header(CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("a request");
    let (status, _, answer) = app.send(req).await;
    (status, answer)
}

/// The cases of one section of the reference file: `(request, expected)` pairs.
fn cases<'a>(reference: &'a Value, section: &str) -> Vec<(&'a Value, &'a Value)> {
    reference[section]
        .as_array()
        .unwrap_or_else(|| panic!("the reference has an `{section}` array"))
        .iter()
        .map(|case| (&case["request"], &case["expected"]))
        .collect()
}

#[tokio::test]
async fn every_todo_interop_decision_matches_the_reference() {
    let app = todo_app().await;
    let text = std::fs::read_to_string(repo_path(REFERENCE)).expect("the todo interop reference");
    let reference: Value = serde_json::from_str(&text).expect("the reference is JSON");

    let mut requests = 0;
    let mut decisions = 0;
    let mut mismatches = Vec::new();

    for (request, expected) in cases(&reference, "evaluation") {
        requests += 1;
        decisions += 1;
        let (status, answer) = post_json(&app, EVALUATION, request).await;
        if status != StatusCode::OK || answer["decision"] != *expected {
            mismatches.push(format!(
                "{EVALUATION} {request}\n  expected {expected}, got {status} {answer}"
            ));
        }
    }

    for (request, expected) in cases(&reference, "evaluations") {
        requests += 1;
        let expected = expected
            .as_array()
            .expect("a batch expects an array of decisions");
        decisions += expected.len();
        let (status, answer) = post_json(&app, EVALUATIONS, request).await;
        let Some(items) = answer["evaluations"]
            .as_array()
            .filter(|items| status == StatusCode::OK && items.len() == expected.len())
        else {
            mismatches.push(format!(
                "{EVALUATIONS} {request}\n  expected {} decisions, got {status} {answer}",
                expected.len()
            ));
            continue;
        };
        for (i, (item, want)) in items.iter().zip(expected).enumerate() {
            if item["decision"] != want["decision"] {
                mismatches.push(format!(
                    "{EVALUATIONS} {request}\n  item {i}: expected {}, got {item}",
                    want["decision"]
                ));
            }
        }
    }

    assert!(
        mismatches.is_empty(),
        "{} mismatches with the reference ({decisions} decisions):\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    // 40 single evaluations and 3 batches of 2: every decision was compared.
    assert_eq!(requests, 43, "requests sent");
    assert_eq!(decisions, 46, "decisions compared");
}
