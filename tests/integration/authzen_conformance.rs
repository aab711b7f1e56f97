//! The OpenID AuthZEN Authorization API 1.0 certification scenario
//! (`../shared/reference/authzen/certification-scenario.md`), Basic, Batch and
//! Discovery and Search (Core and Properties) levels, against the fixture pack
//! in `fixtures/authzen/`: one test per case, named after its id.
//!
//! The app serves the fixture pack; its entities go in through the real API
//! (`PUT /v1/entities`). AuthZEN requests are sent as a PEP sends them: no admin
//! token.

use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, Request, StatusCode};
use serde_json::{Value, json};

use crate::common::{TestApp, repo_path};

const EVALUATION: &str = "/access/v1/evaluation";
const EVALUATIONS: &str = "/access/v1/evaluations";
const DISCOVERY: &str = "/.well-known/authzen-configuration";
const SEARCH_SUBJECT: &str = "/access/v1/search/subject";
const SEARCH_RESOURCE: &str = "/access/v1/search/resource";
const SEARCH_ACTION: &str = "/access/v1/search/action";
/// The public URL the test app announces.
const BASE_URL: &str = "https://pdp.test";

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// The fixture pack at a pinned time, with the fixture's entities stored
/// through `PUT /v1/entities`.
async fn fixture_app() -> TestApp {
    let app = TestApp::with_pack(&repo_path("fixtures/authzen"), "2026-01-01T00:00:00Z");
    let text = std::fs::read_to_string(repo_path("fixtures/authzen/entities.json")).expect("entities.json");
    let entities: Value = serde_json::from_str(&text).expect("entities.json is JSON");
    let (status, body) = app.call("PUT", "/v1/entities", Some(entities)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["stored"], json!(4), "{body}");
    app
}

/// Sends `body` as a PEP would: no token, the given content type and request id.
async fn send_raw(
    app: &TestApp,
    path: &str,
    content_type: Option<&str>,
    request_id: Option<&str>,
    body: &str,
) -> (StatusCode, HeaderMap, Value) {
    let mut req = Request::builder().method("POST").uri(path);
    if let Some(ct) = content_type {
        req = req.header(CONTENT_TYPE, ct);
    }
    if let Some(id) = request_id {
        req = req.header("x-request-id", id);
    }
    app.send(req.body(Body::from(body.to_string())).expect("a request"))
        .await
}

/// POSTs JSON as a PEP would.
async fn post_json(app: &TestApp, path: &str, body: &Value) -> (StatusCode, HeaderMap, Value) {
    send_raw(app, path, Some("application/json"), None, &body.to_string()).await
}

/// `GET` without a token.
async fn get(app: &TestApp, path: &str) -> (StatusCode, HeaderMap, Value) {
    let req = Request::builder()
        .method("GET")
        .uri(path)
        .body(Body::empty())
        .expect("a request");
    app.send(req).await
}

fn assert_json_content_type(headers: &HeaderMap) {
    let ct = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(ct.starts_with("application/json"), "content type `{ct}`");
}

/// Checks an Access Evaluation response (c-2-3): an object whose `decision` is a
/// boolean and whose `context`, if present, is an object. Returns the decision.
fn decision_of(body: &Value) -> bool {
    assert!(body.is_object(), "the answer is a JSON object: {body}");
    let decision = body
        .get("decision")
        .unwrap_or_else(|| panic!("`decision` is present: {body}"));
    if let Some(ctx) = body.get("context") {
        assert!(ctx.is_object(), "`context` is an object: {body}");
    }
    decision
        .as_bool()
        .unwrap_or_else(|| panic!("`decision` is a boolean: {body}"))
}

/// One Access Evaluation on `path`: 200, JSON, well shaped; the decision.
async fn decide_at(app: &TestApp, path: &str, body: &Value) -> bool {
    let (status, headers, answer) = post_json(app, path, body).await;
    assert_eq!(status, StatusCode::OK, "{body} -> {answer}");
    assert_json_content_type(&headers);
    decision_of(&answer)
}

/// One Access Evaluation on `/access/v1/evaluation`.
async fn decide(app: &TestApp, body: Value) -> bool {
    decide_at(app, EVALUATION, &body).await
}

/// Checks an Access Evaluations response (c-3-3): an `evaluations` array of
/// `len` well-shaped items and no top-level `decision`. Returns the items.
fn items_of(body: &Value, len: usize) -> Vec<Value> {
    assert!(body.is_object(), "the answer is a JSON object: {body}");
    assert!(
        body.get("decision").is_none(),
        "no top-level decision beside `evaluations`: {body}"
    );
    let items = body["evaluations"]
        .as_array()
        .unwrap_or_else(|| panic!("`evaluations` is an array: {body}"));
    assert_eq!(items.len(), len, "{body}");
    for item in items {
        decision_of(item);
    }
    items.clone()
}

/// One Access Evaluations batch: 200, JSON, `len` items; the whole items.
async fn batch_items(app: &TestApp, body: Value, len: usize) -> Vec<Value> {
    let (status, headers, answer) = post_json(app, EVALUATIONS, &body).await;
    assert_eq!(status, StatusCode::OK, "{body} -> {answer}");
    assert_json_content_type(&headers);
    items_of(&answer, len)
}

/// One Access Evaluations batch: the decisions, in order.
async fn batch(app: &TestApp, body: Value, len: usize) -> Vec<bool> {
    batch_items(app, body, len)
        .await
        .iter()
        .map(decision_of)
        .collect()
}

/// A 400 with the API's error shape; returns the `error` object.
fn assert_bad_request(status: StatusCode, body: &Value, what: &str) -> Value {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body}");
    let err = &body["error"];
    assert!(err["code"].is_string(), "{what}: an error code: {body}");
    assert!(
        err["message"]["en"].is_string(),
        "{what}: an error message: {body}"
    );
    err.clone()
}

/// POSTs JSON to `path` and expects a 400; returns the `error` object.
async fn rejected(app: &TestApp, path: &str, body: Value) -> Value {
    let (status, headers, answer) = post_json(app, path, &body).await;
    assert_json_content_type(&headers);
    assert_bad_request(status, &answer, &body.to_string())
}

fn subject(id: &str) -> Value {
    json!({"type": "user", "id": id})
}

fn resource(id: &str) -> Value {
    json!({"type": "record", "id": id})
}

fn action(name: &str) -> Value {
    json!({"name": name})
}

fn request(s: &str, a: &str, r: &str) -> Value {
    json!({"subject": subject(s), "action": action(a), "resource": resource(r)})
}

/// The eight fixture decisions of c-1-4, as (rule, request, decision).
fn fixture_rules() -> Vec<(u32, Value, bool)> {
    vec![
        (1, request("alice", "read", "record-1"), true),
        (2, request("alice", "write", "record-1"), true),
        (3, request("bob", "read", "record-1"), true),
        (4, request("bob", "write", "record-1"), false),
        (
            5,
            json!({
                "subject": subject("alice"),
                "action": action("write"),
                "resource": {"type": "record", "id": "record-2", "properties": {"status": "archived"}},
            }),
            false,
        ),
        (
            6,
            json!({
                "subject": {"type": "user", "id": "bob", "properties": {"role": "admin"}},
                "action": action("write"),
                "resource": {"type": "record", "id": "record-2", "properties": {"status": "archived"}},
            }),
            true,
        ),
        (
            7,
            json!({
                "subject": subject("alice"),
                "action": {"name": "delete", "properties": {"soft": true}},
                "resource": resource("record-1"),
            }),
            true,
        ),
        (
            8,
            json!({
                "subject": subject("alice"),
                "action": {"name": "delete", "properties": {"soft": false}},
                "resource": resource("record-1"),
            }),
            false,
        ),
    ]
}

// ---------------------------------------------------------------------------
// The fixture (c-1)
// ---------------------------------------------------------------------------

/// c-1-4: the eight required decisions, with and without a `context` (c-1-6),
/// on both endpoints.
#[tokio::test]
async fn c_1_4_required_policy_behaviour() {
    let app = fixture_app().await;
    for (rule, req, expected) in fixture_rules() {
        assert_eq!(decide(&app, req.clone()).await, expected, "rule {rule}: {req}");
        assert_eq!(
            decide_at(&app, EVALUATIONS, &req).await,
            expected,
            "rule {rule} (evaluations): {req}"
        );
        let mut with_context = req.clone();
        with_context["context"] = json!({"time": "2025-06-27T18:03-07:00", "ip": "192.168.1.1"});
        assert_eq!(
            decide(&app, with_context).await,
            expected,
            "rule {rule} with context: {req}"
        );
    }
}

// ---------------------------------------------------------------------------
// Basic: Access Evaluation API (c-2)
// ---------------------------------------------------------------------------

/// c-2-1: the Access Evaluation API is at `POST /access/v1/evaluation`.
#[tokio::test]
async fn c_2_1_endpoint() {
    let app = fixture_app().await;
    decide(&app, request("alice", "read", "record-1")).await;
    let (status, _, _) = get(&app, EVALUATION).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

/// c-2-2-1: fixture request, permit decision (rule 1).
#[tokio::test]
async fn c_2_2_1_fixture_request_permit_decision() {
    let app = fixture_app().await;
    let (status, headers, body) = post_json(
        &app,
        EVALUATION,
        &json!({
            "subject": {"type": "user", "id": "alice"},
            "action": {"name": "read"},
            "resource": {"type": "record", "id": "record-1"},
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_json_content_type(&headers);
    assert_eq!(body["decision"], json!(true), "{body}");
}

/// c-2-2-2: fixture request, deny decision (rule 4: bob may not write the active record-1).
#[tokio::test]
async fn c_2_2_2_fixture_request_deny_decision() {
    let app = fixture_app().await;
    let (status, headers, body) = post_json(
        &app,
        EVALUATION,
        &json!({
            "subject": {"type": "user", "id": "bob"},
            "action": {"name": "write"},
            "resource": {"type": "record", "id": "record-1"},
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_json_content_type(&headers);
    assert_eq!(body["decision"], json!(false), "{body}");
}

/// c-2-2-3: request with the optional `context`: accepted, the decision unchanged.
#[tokio::test]
async fn c_2_2_3_request_with_optional_context() {
    let app = fixture_app().await;
    let allowed = decide(
        &app,
        json!({
            "subject": {"type": "user", "id": "alice"},
            "action": {"name": "read"},
            "resource": {"type": "record", "id": "record-1"},
            "context": {"time": "2025-06-27T18:03-07:00", "ip": "192.168.1.1"},
        }),
    )
    .await;
    assert!(allowed);
    // An empty context changes nothing either.
    let mut req = request("bob", "write", "record-1");
    req["context"] = json!({});
    assert!(!decide(&app, req).await);
}

/// c-2-2-4: deny based on resource properties (rule 5): the deny comes from
/// `properties.status`, not from the resource id.
#[tokio::test]
async fn c_2_2_4_fixture_request_deny_based_on_properties() {
    let app = fixture_app().await;
    let allowed = decide(
        &app,
        json!({
            "subject": {"type": "user", "id": "alice"},
            "action": {"name": "write"},
            "resource": {"type": "record", "id": "record-2", "properties": {"status": "archived"}},
        }),
    )
    .await;
    assert!(!allowed);
    // The request's properties win over the stored ones: the active record-1
    // said to be archived is denied, the archived record-2 said to be active permitted.
    let allowed = decide(
        &app,
        json!({
            "subject": subject("alice"),
            "action": action("write"),
            "resource": {"type": "record", "id": "record-1", "properties": {"status": "archived"}},
        }),
    )
    .await;
    assert!(!allowed);
    let allowed = decide(
        &app,
        json!({
            "subject": subject("alice"),
            "action": action("write"),
            "resource": {"type": "record", "id": "record-2", "properties": {"status": "active"}},
        }),
    )
    .await;
    assert!(allowed);
}

/// c-2-2-5: permit based on subject properties (rule 6): an admin writes an archived record.
#[tokio::test]
async fn c_2_2_5_fixture_request_permit_based_on_subject_properties() {
    let app = fixture_app().await;
    let allowed = decide(
        &app,
        json!({
            "subject": {"type": "user", "id": "bob", "properties": {"role": "admin"}},
            "action": {"name": "write"},
            "resource": {"type": "record", "id": "record-2", "properties": {"status": "archived"}},
        }),
    )
    .await;
    assert!(allowed);
    // The permit comes from the role: any subject said to be an admin, even one
    // not stored, and alice said to be one.
    for id in ["carol", "alice"] {
        let allowed = decide(
            &app,
            json!({
                "subject": {"type": "user", "id": id, "properties": {"role": "admin"}},
                "action": action("write"),
                "resource": {"type": "record", "id": "record-2", "properties": {"status": "archived"}},
            }),
        )
        .await;
        assert!(allowed, "{id} as admin");
    }
    // And bob said not to be one is denied.
    let allowed = decide(
        &app,
        json!({
            "subject": {"type": "user", "id": "bob", "properties": {"role": "member"}},
            "action": action("write"),
            "resource": resource("record-2"),
        }),
    )
    .await;
    assert!(!allowed);
}

/// c-2-2-6: permit based on action properties (rule 7): a soft delete.
#[tokio::test]
async fn c_2_2_6_fixture_request_permit_based_on_action_properties() {
    let app = fixture_app().await;
    let allowed = decide(
        &app,
        json!({
            "subject": {"type": "user", "id": "alice"},
            "action": {"name": "delete", "properties": {"soft": true}},
            "resource": {"type": "record", "id": "record-1"},
        }),
    )
    .await;
    assert!(allowed);
}

/// c-2-2-7: deny based on action properties (rule 8): a hard delete; and a
/// delete that does not say is not a soft one.
#[tokio::test]
async fn c_2_2_7_fixture_request_deny_based_on_action_properties() {
    let app = fixture_app().await;
    let allowed = decide(
        &app,
        json!({
            "subject": {"type": "user", "id": "alice"},
            "action": {"name": "delete", "properties": {"soft": false}},
            "resource": {"type": "record", "id": "record-1"},
        }),
    )
    .await;
    assert!(!allowed);
    assert!(!decide(&app, request("alice", "delete", "record-1")).await);
    let allowed = decide(
        &app,
        json!({
            "subject": subject("alice"),
            "action": {"name": "delete", "properties": {}},
            "resource": resource("record-1"),
        }),
    )
    .await;
    assert!(!allowed);
}

/// c-2-2-8: request with properties beyond the fixture's: accepted, ignored.
#[tokio::test]
async fn c_2_2_8_request_with_additional_properties() {
    let app = fixture_app().await;
    let allowed = decide(
        &app,
        json!({
            "subject": {"type": "user", "id": "alice", "properties": {"department": "Sales", "role": "manager"}},
            "action": {"name": "read", "properties": {"method": "GET"}},
            "resource": {"type": "record", "id": "record-1", "properties": {"status": "active", "owner": "bob"}},
        }),
    )
    .await;
    assert!(allowed);
    // Undeclared properties beside a declared one do not disturb it.
    let allowed = decide(
        &app,
        json!({
            "subject": subject("alice"),
            "action": {"name": "delete", "properties": {"soft": true, "reason": "cleanup", "nested": {"a": [1, 2]}}},
            "resource": resource("record-1"),
        }),
    )
    .await;
    assert!(allowed);
}

/// c-2-2-9: unknown fields in the body are ignored, at every level.
#[tokio::test]
async fn c_2_2_9_request_with_unknown_fields() {
    let app = fixture_app().await;
    let allowed = decide(
        &app,
        json!({
            "subject": {"type": "user", "id": "alice"},
            "action": {"name": "read"},
            "resource": {"type": "record", "id": "record-1"},
            "foo": "bar",
            "futureField": {"nested": true},
        }),
    )
    .await;
    assert!(allowed);
    let allowed = decide(
        &app,
        json!({
            "subject": {"type": "user", "id": "bob", "extra": 1},
            "action": {"name": "write", "extra": [true]},
            "resource": {"type": "record", "id": "record-1", "extra": null},
            "options": {"anything": "goes"},
            "evaluations": "not looked at by the single endpoint",
        }),
    )
    .await;
    assert!(!allowed);
}

/// c-2-3-1: the answer holds a boolean `decision`, whatever the request asks,
/// even about entities or types the PDP does not know (a deny, not an error).
/// A `user` the store does not hold is a user without attributes (the type's
/// only attribute is optional), whom `records.read` lets read like every user;
/// a `record` must have a `status`, so an unstored one is unknown.
#[tokio::test]
async fn c_2_3_1_decision_field_is_required() {
    let app = fixture_app().await;
    let cases = [
        (request("alice", "read", "record-1"), true),
        (request("bob", "write", "record-1"), false),
        (request("nobody", "read", "record-1"), true),
        (request("nobody", "delete", "record-1"), false),
        (request("alice", "read", "record-404"), false),
        (request("alice", "approve", "record-1"), false),
        (
            json!({"subject": {"type": "spaceship", "id": "x"}, "action": action("read"), "resource": resource("record-1")}),
            false,
        ),
    ];
    for (req, expected) in cases {
        let (status, headers, body) = post_json(&app, EVALUATION, &req).await;
        assert_eq!(status, StatusCode::OK, "{req} -> {body}");
        assert_json_content_type(&headers);
        assert!(body["decision"].is_boolean(), "{body}");
        assert_eq!(decision_of(&body), expected, "{req} -> {body}");
    }
}

/// c-2-3-2: the answer may carry a `context`; here it does, and it is an object
/// (naming the determining policies).
#[tokio::test]
async fn c_2_3_2_response_context_is_permitted() {
    let app = fixture_app().await;
    let (status, _, body) = post_json(&app, EVALUATION, &request("alice", "read", "record-1")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(decision_of(&body));
    assert!(body["context"].is_object(), "{body}");
    assert_eq!(body["context"]["reasons"], json!(["records.read"]), "{body}");
    let (status, _, body) = post_json(&app, EVALUATION, &request("bob", "write", "record-1")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!decision_of(&body));
    assert!(body["context"].is_object(), "{body}");
    assert_eq!(body["context"]["reasons"], json!([]), "{body}");
}

/// c-2-4-1: a missing `subject`, `action` or `resource` is a 400.
#[tokio::test]
async fn c_2_4_1_missing_required_fields() {
    let app = fixture_app().await;
    let cases = [
        (
            "subject",
            json!({"action": {"name": "read"}, "resource": {"type": "record", "id": "record-1"}}),
        ),
        (
            "action",
            json!({"subject": {"type": "user", "id": "alice"}, "resource": {"type": "record", "id": "record-1"}}),
        ),
        (
            "resource",
            json!({"subject": {"type": "user", "id": "alice"}, "action": {"name": "read"}}),
        ),
        (
            "subject",
            json!({"subject": null, "action": action("read"), "resource": resource("record-1")}),
        ),
        ("subject", json!({})),
    ];
    for (field, body) in cases {
        let err = rejected(&app, EVALUATION, body).await;
        assert_eq!(err["field"], json!(field), "{err}");
    }
}

/// c-2-4-2: a subject or resource without `type` or `id`, an action without
/// `name`, is a 400.
#[tokio::test]
async fn c_2_4_2_missing_required_sub_fields() {
    let app = fixture_app().await;
    let cases = [
        (
            "subject.type",
            json!({"subject": {"id": "alice"}, "action": {"name": "read"}, "resource": {"type": "record", "id": "record-1"}}),
        ),
        (
            "subject.id",
            json!({"subject": {"type": "user"}, "action": {"name": "read"}, "resource": {"type": "record", "id": "record-1"}}),
        ),
        (
            "action.name",
            json!({"subject": {"type": "user", "id": "alice"}, "action": {}, "resource": {"type": "record", "id": "record-1"}}),
        ),
        (
            "resource.type",
            json!({"subject": {"type": "user", "id": "alice"}, "action": {"name": "read"}, "resource": {"id": "record-1"}}),
        ),
        (
            "resource.id",
            json!({"subject": {"type": "user", "id": "alice"}, "action": {"name": "read"}, "resource": {"type": "record"}}),
        ),
        (
            "action.name",
            json!({"subject": subject("alice"), "action": {"properties": {"soft": true}}, "resource": resource("record-1")}),
        ),
    ];
    for (field, body) in cases {
        let err = rejected(&app, EVALUATION, body).await;
        assert_eq!(err["field"], json!(field), "{err}");
    }
}

/// c-2-4-3: a body not sent as `application/json` is a 400 (not a 415).
#[tokio::test]
async fn c_2_4_3_invalid_content_type() {
    let app = fixture_app().await;
    let body = request("alice", "read", "record-1").to_string();
    for ct in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/xml"),
        None,
    ] {
        for path in [EVALUATION, EVALUATIONS] {
            let (status, _, answer) = send_raw(&app, path, ct, None, &body).await;
            let err = assert_bad_request(status, &answer, &format!("{path} with {ct:?}"));
            assert_eq!(err["code"], json!("unsupported_content_type"), "{answer}");
        }
    }
}

/// c-2-4-4: a body that is not JSON is a 400.
#[tokio::test]
async fn c_2_4_4_malformed_json() {
    let app = fixture_app().await;
    for text in [
        "{",
        "{\"subject\": {\"type\": \"user\", \"id\": \"alice\"},",
        "not json",
        "{'subject': 'alice'}",
        "{\"subject\": {\"type\": \"user\", \"id\": \"alice\"}} trailing",
    ] {
        for path in [EVALUATION, EVALUATIONS] {
            let (status, _, answer) = send_raw(&app, path, Some("application/json"), None, text).await;
            let err = assert_bad_request(status, &answer, &format!("{path}: {text}"));
            assert_eq!(err["code"], json!("malformed_json"), "{answer}");
        }
    }
}

/// c-2-4-5: an empty body is a 400.
#[tokio::test]
async fn c_2_4_5_empty_request_body() {
    let app = fixture_app().await;
    for text in ["", "  \n"] {
        for path in [EVALUATION, EVALUATIONS] {
            let (status, _, answer) = send_raw(&app, path, Some("application/json"), None, text).await;
            let err = assert_bad_request(status, &answer, &format!("{path}: {text:?}"));
            assert_eq!(err["code"], json!("empty_body"), "{answer}");
        }
    }
    // JSON that is not an object is no request either.
    for text in ["null", "[]", "\"alice\"", "42"] {
        let (status, _, answer) = send_raw(&app, EVALUATION, Some("application/json"), None, text).await;
        assert_bad_request(status, &answer, text);
    }
}

/// c-2-4-6: a field of the wrong type is a 400, including a declared property
/// of the wrong type.
#[tokio::test]
async fn c_2_4_6_invalid_field_types() {
    let app = fixture_app().await;
    rejected(
        &app,
        EVALUATION,
        json!({"subject": "alice", "action": {"name": "read"}, "resource": {"type": "record", "id": "record-1"}}),
    )
    .await;
    rejected(
        &app,
        EVALUATION,
        json!({"subject": {"type": "user", "id": "alice"}, "action": {"name": 123}, "resource": {"type": "record", "id": "record-1"}}),
    )
    .await;
    let more = [
        json!({"subject": subject("alice"), "action": "read", "resource": resource("record-1")}),
        json!({"subject": subject("alice"), "action": action("read"), "resource": ["record", "record-1"]}),
        json!({"subject": {"type": "user", "id": 1}, "action": action("read"), "resource": resource("record-1")}),
        json!({"subject": {"type": 7, "id": "alice"}, "action": action("read"), "resource": resource("record-1")}),
        json!({"subject": subject("alice"), "action": action("read"), "resource": {"type": "record", "id": true}}),
        json!({"subject": subject("alice"), "action": action("read"), "resource": resource("record-1"), "context": "now"}),
        json!({"subject": {"type": "user", "id": "alice", "properties": "admin"}, "action": action("read"), "resource": resource("record-1")}),
        json!({"subject": subject("alice"), "action": {"name": "delete", "properties": [true]}, "resource": resource("record-1")}),
        // Declared properties of the wrong type.
        json!({"subject": {"type": "user", "id": "bob", "properties": {"role": 3}}, "action": action("write"), "resource": resource("record-2")}),
        json!({"subject": subject("alice"), "action": action("write"), "resource": {"type": "record", "id": "record-1", "properties": {"status": false}}}),
        json!({"subject": subject("alice"), "action": {"name": "delete", "properties": {"soft": "yes"}}, "resource": resource("record-1")}),
    ];
    for body in more {
        rejected(&app, EVALUATION, body).await;
    }
}

/// c-2-5-1: the caller's `X-Request-ID` comes back, on every endpoint and on errors.
#[tokio::test]
async fn c_2_5_1_x_request_id_echo() {
    let app = fixture_app().await;
    let id = "bfe9eb29-ab87-4ca3-be83-a1d5d8305716";
    let ok = request("alice", "read", "record-1").to_string();
    let batch_body = json!({"subject": subject("alice"), "action": action("read"), "evaluations": [{"resource": resource("record-1")}]})
        .to_string();
    let cases = [
        (EVALUATION, Some("application/json"), ok.as_str(), StatusCode::OK),
        (
            EVALUATIONS,
            Some("application/json"),
            batch_body.as_str(),
            StatusCode::OK,
        ),
        (EVALUATION, Some("application/json"), "{", StatusCode::BAD_REQUEST),
        (
            EVALUATION,
            Some("text/plain"),
            ok.as_str(),
            StatusCode::BAD_REQUEST,
        ),
        (
            EVALUATION,
            Some("application/json"),
            "{}",
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (path, ct, body, expected) in cases {
        let (status, headers, answer) = send_raw(&app, path, ct, Some(id), body).await;
        assert_eq!(status, expected, "{path} {body}: {answer}");
        assert_eq!(
            headers.get("x-request-id").and_then(|v| v.to_str().ok()),
            Some(id),
            "{path} {body}"
        );
    }
    let req = Request::builder()
        .method("GET")
        .uri(DISCOVERY)
        .header("x-request-id", "discovery-42")
        .body(Body::empty())
        .expect("a request");
    let (status, headers, _) = app.send(req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers.get("x-request-id").and_then(|v| v.to_str().ok()),
        Some("discovery-42")
    );
}

/// c-2-5-2: without `X-Request-ID` the request succeeds, and the PDP makes one
/// up, a fresh one per request.
#[tokio::test]
async fn c_2_5_2_x_request_id_absent() {
    let app = fixture_app().await;
    let mut seen = Vec::new();
    for _ in 0..2 {
        let (status, headers, body) =
            post_json(&app, EVALUATION, &request("alice", "read", "record-1")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(decision_of(&body));
        let id = headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .expect("a generated X-Request-ID")
            .to_string();
        assert!(!id.is_empty());
        seen.push(id);
    }
    assert_ne!(seen[0], seen[1], "each request gets its own id");
}

/// c-2-6: the same request, sent several times in a row, gets the same decision.
#[tokio::test]
async fn c_2_6_idempotency() {
    let app = fixture_app().await;
    for (rule, req, expected) in fixture_rules() {
        for round in 0..5 {
            assert_eq!(
                decide(&app, req.clone()).await,
                expected,
                "rule {rule}, round {round}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Batch: Access Evaluations API (c-3)
// ---------------------------------------------------------------------------

/// c-3-1: the Access Evaluations API is at `POST /access/v1/evaluations`.
#[tokio::test]
async fn c_3_1_endpoint() {
    let app = fixture_app().await;
    batch(
        &app,
        json!({"evaluations": [request("alice", "read", "record-1")]}),
        1,
    )
    .await;
    let (status, _, _) = get(&app, EVALUATIONS).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

/// c-3-2-1: a batch with defaults and an `evaluations` array: two well-shaped items.
#[tokio::test]
async fn c_3_2_1_batch_request_with_evaluations_array() {
    let app = fixture_app().await;
    let decisions = batch(
        &app,
        json!({
            "subject": {"type": "user", "id": "alice"},
            "action": {"name": "read"},
            "evaluations": [
                {"resource": {"type": "record", "id": "record-1"}},
                {"resource": {"type": "record", "id": "record-2"}},
            ],
        }),
        2,
    )
    .await;
    // The first is fixture rule 1; the second is this fixture's own choice.
    assert_eq!(decisions, [true, true]);
}

/// c-3-2-2: batch decisions validated (rules 3 and 4), in request order.
#[tokio::test]
async fn c_3_2_2_batch_with_fixture_decisions_validated() {
    let app = fixture_app().await;
    let decisions = batch(
        &app,
        json!({
            "subject": {"type": "user", "id": "bob"},
            "resource": {"type": "record", "id": "record-1"},
            "evaluations": [
                {"action": {"name": "read"}},
                {"action": {"name": "write"}},
            ],
        }),
        2,
    )
    .await;
    assert_eq!(decisions, [true, false]);
}

/// c-3-2-3: resource properties evaluated per item (rules 2 and 5).
#[tokio::test]
async fn c_3_2_3_batch_with_properties_validated() {
    let app = fixture_app().await;
    let decisions = batch(
        &app,
        json!({
            "subject": {"type": "user", "id": "alice"},
            "action": {"name": "write"},
            "evaluations": [
                {"resource": {"type": "record", "id": "record-1", "properties": {"status": "active"}}},
                {"resource": {"type": "record", "id": "record-2", "properties": {"status": "archived"}}},
            ],
        }),
        2,
    )
    .await;
    assert_eq!(decisions, [true, false]);
}

/// c-3-2-4: subject properties evaluated per item (rules 5 and 6).
#[tokio::test]
async fn c_3_2_4_batch_with_subject_properties_validated() {
    let app = fixture_app().await;
    let decisions = batch(
        &app,
        json!({
            "action": {"name": "write"},
            "resource": {"type": "record", "id": "record-2", "properties": {"status": "archived"}},
            "evaluations": [
                {"subject": {"type": "user", "id": "alice"}},
                {"subject": {"type": "user", "id": "bob", "properties": {"role": "admin"}}},
            ],
        }),
        2,
    )
    .await;
    assert_eq!(decisions, [false, true]);
}

/// c-3-2-5: fully specified evaluations, no top-level defaults.
#[tokio::test]
async fn c_3_2_5_batch_with_fully_specified_evaluations() {
    let app = fixture_app().await;
    let decisions = batch(
        &app,
        json!({
            "evaluations": [
                {
                    "subject": {"type": "user", "id": "alice"},
                    "action": {"name": "read"},
                    "resource": {"type": "record", "id": "record-1"},
                },
                {
                    "subject": {"type": "user", "id": "bob"},
                    "action": {"name": "write"},
                    "resource": {"type": "record", "id": "record-1"},
                },
            ],
        }),
        2,
    )
    .await;
    assert_eq!(decisions, [true, false]);
}

/// c-3-2-6: the top-level `context` applies to every item that does not carry
/// its own, which replaces it whole.
#[tokio::test]
async fn c_3_2_6_batch_with_context_inheritance() {
    let app = fixture_app().await;
    // The scenario's request: accepted, two well-shaped items.
    batch(
        &app,
        json!({
            "subject": {"type": "user", "id": "alice"},
            "action": {"name": "read"},
            "context": {"time": "2025-06-27T18:03-07:00"},
            "evaluations": [
                {"resource": {"type": "record", "id": "record-1"}},
                {
                    "resource": {"type": "record", "id": "record-2"},
                    "context": {"time": "2025-06-27T19:00-07:00", "source": "batch-override"},
                },
            ],
        }),
        2,
    )
    .await;
    // Made visible: the one context key this fixture declares is
    // `action_properties` (what `action.properties` fill in). Given in the
    // top-level context it reaches the item without a context of its own and
    // not the item whose context replaces it.
    let decisions = batch(
        &app,
        json!({
            "subject": subject("alice"),
            "action": action("delete"),
            "resource": resource("record-1"),
            "context": {"action_properties": {"soft": true}},
            "evaluations": [
                {},
                {"context": {"source": "batch-override"}},
                {"context": {"action_properties": {"soft": true}, "source": "batch-override"}},
            ],
        }),
        3,
    )
    .await;
    assert_eq!(decisions, [true, false, true]);
}

/// c-3-2-7: top-level `subject`, `action` and `resource` are defaults; an item
/// inherits what it omits and replaces whole what it gives (no merging).
#[tokio::test]
async fn c_3_2_7_batch_with_top_level_default_inheritance() {
    let app = fixture_app().await;
    let decisions = batch(
        &app,
        json!({
            "subject": {"type": "user", "id": "alice"},
            "action": {"name": "write"},
            "resource": {"type": "record", "id": "record-1", "properties": {"status": "active"}},
            "evaluations": [
                {},
                {"resource": {"type": "record", "id": "record-2", "properties": {"status": "archived"}}},
            ],
        }),
        2,
    )
    .await;
    assert_eq!(decisions, [true, false]);
    // Whole-object override: an item's subject without properties does not
    // keep the default subject's `role`, nor an item's action the default's
    // `soft`; an item's resource id does not take the default's properties.
    let decisions = batch(
        &app,
        json!({
            "subject": {"type": "user", "id": "carol", "properties": {"role": "admin"}},
            "action": action("write"),
            "resource": {"type": "record", "id": "record-1", "properties": {"status": "archived"}},
            "evaluations": [
                {},
                {"subject": subject("alice")},
                {"resource": resource("record-1")},
                {"subject": subject("bob"), "resource": resource("record-2")},
            ],
        }),
        4,
    )
    .await;
    // carol, an admin by the default subject's properties, on record-1 said to
    // be archived: rule 6. alice replaces the subject whole (no `role`): rule 5.
    // A resource without properties replaces the archived one whole: the stored
    // record-1 is active, which admins do not write. bob, a stored admin, on the
    // stored archived record-2: rule 6.
    assert_eq!(decisions, [true, false, false, true]);
    let decisions = batch(
        &app,
        json!({
            "subject": subject("alice"),
            "action": {"name": "delete", "properties": {"soft": true}},
            "resource": resource("record-1"),
            "evaluations": [{}, {"action": action("delete")}, {"action": {"name": "delete", "properties": {"soft": false}}}],
        }),
        3,
    )
    .await;
    assert_eq!(decisions, [true, false, false]);
}

/// c-3-3-1: as many answers as evaluations asked.
#[tokio::test]
async fn c_3_3_1_response_array_length_matches_request() {
    let app = fixture_app().await;
    let rules = fixture_rules();
    for len in [1, 2, 5, 8, 24] {
        let evaluations: Vec<Value> = rules
            .iter()
            .cycle()
            .take(len)
            .map(|(_, r, _)| r.clone())
            .collect();
        let expected: Vec<bool> = rules.iter().cycle().take(len).map(|(_, _, d)| *d).collect();
        let decisions = batch(&app, json!({"evaluations": evaluations}), len).await;
        assert_eq!(decisions, expected, "a batch of {len}");
    }
}

/// c-3-3-2: answers come in request order.
#[tokio::test]
async fn c_3_3_2_response_ordering() {
    let app = fixture_app().await;
    let mut rules = fixture_rules();
    for _ in 0..2 {
        let evaluations: Vec<Value> = rules.iter().map(|(_, r, _)| r.clone()).collect();
        let expected: Vec<bool> = rules.iter().map(|(_, _, d)| *d).collect();
        let decisions = batch(&app, json!({"evaluations": evaluations}), rules.len()).await;
        assert_eq!(decisions, expected);
        rules.reverse();
    }
    let decisions = batch(
        &app,
        json!({
            "subject": subject("bob"),
            "resource": resource("record-1"),
            "evaluations": [
                {"action": action("write")},
                {"action": action("read")},
                {"action": action("write")},
                {"action": action("read")},
            ],
        }),
        4,
    )
    .await;
    assert_eq!(decisions, [false, true, false, true]);
}

/// c-3-3-3: each answer holds a boolean `decision`; a `context`, when there is
/// one, is an object (here: on request, with `options.include_context`).
#[tokio::test]
async fn c_3_3_3_each_evaluation_contains_a_decision() {
    let app = fixture_app().await;
    let evaluations = json!([
        request("alice", "read", "record-1"),
        request("bob", "write", "record-1")
    ]);
    let items = batch_items(&app, json!({"evaluations": evaluations}), 2).await;
    for item in &items {
        assert!(item["decision"].is_boolean(), "{item}");
        assert!(item.get("context").is_none(), "no context unless asked: {item}");
    }
    let items = batch_items(
        &app,
        json!({"options": {"include_context": true}, "evaluations": evaluations}),
        2,
    )
    .await;
    assert_eq!(items.iter().map(decision_of).collect::<Vec<_>>(), [true, false]);
    for item in &items {
        assert!(item["context"].is_object(), "{item}");
    }
    assert_eq!(items[0]["context"]["reasons"], json!(["records.read"]));
}

/// c-3-3-4: beside `evaluations`, the answer has no top-level `decision`.
#[tokio::test]
async fn c_3_3_4_top_level_decision_field() {
    let app = fixture_app().await;
    let (status, _, body) = post_json(
        &app,
        EVALUATIONS,
        &json!({
            "subject": subject("alice"),
            "action": action("read"),
            "resource": resource("record-1"),
            "evaluations": [{}, {"resource": resource("record-2")}],
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("decision").is_none(), "{body}");
    items_of(&body, 2);
}

/// c-3-4-1: under `execute_all`, a broken item is `"decision": false` with a
/// `context`, and every other item is still decided, in order; a payload
/// broken at the top level stays an HTTP error.
#[tokio::test]
async fn c_3_4_1_evaluation_level_errors_execute_all() {
    let app = fixture_app().await;
    let items = batch_items(
        &app,
        json!({
            "subject": {"type": "user", "id": "alice"},
            "action": {"name": "read"},
            "options": {"evaluations_semantic": "execute_all"},
            "evaluations": [
                {"resource": {"type": "record", "id": "record-1"}},
                {},
            ],
        }),
        2,
    )
    .await;
    assert_eq!(items[0]["decision"], json!(true), "{items:?}");
    assert_eq!(items[1]["decision"], json!(false), "{items:?}");
    assert!(items[1]["context"].is_object(), "{items:?}");
    assert_eq!(items[1]["context"]["error"]["status"], json!(400), "{items:?}");

    // Every kind of broken item, between items that are decided; the default
    // semantic is `execute_all` too.
    for options in [
        json!({"evaluations_semantic": "execute_all"}),
        json!({}),
        Value::Null,
    ] {
        let items = batch_items(
            &app,
            json!({
                "subject": subject("alice"),
                "action": action("read"),
                "options": options,
                "evaluations": [
                    {"resource": resource("record-1")},
                    {"resource": {"type": "record"}},
                    {"resource": resource("record-1"), "action": {"name": 5}},
                    "not an object",
                    {"resource": {"type": "record", "id": "record-1", "properties": {"status": 1}}},
                    {"resource": resource("record-1"), "context": "now"},
                    {"resource": resource("record-2"), "action": action("write")},
                    {"resource": resource("record-1"), "subject": subject("bob"), "action": action("write")},
                ],
            }),
            8,
        )
        .await;
        let decisions: Vec<bool> = items.iter().map(decision_of).collect();
        assert_eq!(
            decisions,
            [true, false, false, false, false, false, false, false],
            "{items:?}"
        );
        for (i, item) in items.iter().enumerate().skip(1).take(5) {
            assert!(item["context"]["error"].is_object(), "item {i}: {item}");
        }
        // Decided items carry no error (and no context unless asked).
        assert!(items[6].get("context").is_none(), "{items:?}");
        assert!(items[7].get("context").is_none(), "{items:?}");
    }

    // Whole-payload failures stay HTTP errors.
    let broken = [
        json!({"evaluations": "all of them"}),
        json!({"evaluations": {"resource": resource("record-1")}}),
        json!({"subject": "alice", "evaluations": [{"action": action("read"), "resource": resource("record-1")}]}),
        json!({"context": [1], "evaluations": [request("alice", "read", "record-1")]}),
        json!({"options": "execute_all", "evaluations": [request("alice", "read", "record-1")]}),
    ];
    for body in broken {
        rejected(&app, EVALUATIONS, body).await;
    }
}

/// c-3-4-2: without `evaluations`, the batch endpoint answers like the single one.
#[tokio::test]
async fn c_3_4_2_missing_evaluations_array() {
    let app = fixture_app().await;
    let (status, headers, body) = post_json(
        &app,
        EVALUATIONS,
        &json!({
            "subject": {"type": "user", "id": "alice"},
            "action": {"name": "read"},
            "resource": {"type": "record", "id": "record-1"},
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_json_content_type(&headers);
    assert!(body.get("evaluations").is_none(), "{body}");
    assert_eq!(body["decision"], json!(true), "{body}");
    decision_of(&body);
    // Including its deny, and its 400 for a missing required field.
    assert!(!decide_at(&app, EVALUATIONS, &request("bob", "write", "record-1")).await);
    rejected(
        &app,
        EVALUATIONS,
        json!({"subject": subject("alice"), "action": action("read")}),
    )
    .await;
    let mut null_evaluations = request("alice", "read", "record-1");
    null_evaluations["evaluations"] = Value::Null;
    assert!(decide_at(&app, EVALUATIONS, &null_evaluations).await);
}

/// c-3-4-3: with an empty `evaluations` array, likewise.
#[tokio::test]
async fn c_3_4_3_empty_evaluations_array() {
    let app = fixture_app().await;
    let (status, headers, body) = post_json(
        &app,
        EVALUATIONS,
        &json!({
            "subject": {"type": "user", "id": "alice"},
            "action": {"name": "read"},
            "resource": {"type": "record", "id": "record-1"},
            "evaluations": [],
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_json_content_type(&headers);
    assert!(body.get("evaluations").is_none(), "{body}");
    assert_eq!(body["decision"], json!(true), "{body}");
    decision_of(&body);
    let mut deny = request("bob", "write", "record-1");
    deny["evaluations"] = json!([]);
    assert!(!decide_at(&app, EVALUATIONS, &deny).await);
    rejected(
        &app,
        EVALUATIONS,
        json!({"action": action("read"), "resource": resource("record-1"), "evaluations": []}),
    )
    .await;
}

// Beyond the scenario (c-3-4-1 leaves them out of scope): the two
// short-circuiting semantics of the specification, and an unknown one.

/// Spec "Evaluations semantics": `deny_on_first_deny` answers up to and
/// including the first deny (or failure), and runs everything when nothing denies.
#[tokio::test]
async fn batch_semantic_deny_on_first_deny_stops_after_the_first_deny() {
    let app = fixture_app().await;
    let decisions = batch(
        &app,
        json!({
            "subject": subject("bob"),
            "resource": resource("record-1"),
            "options": {"evaluations_semantic": "deny_on_first_deny"},
            "evaluations": [
                {"action": action("read")},
                {"action": action("write")},
                {"action": action("read")},
                {"action": action("write")},
            ],
        }),
        2,
    )
    .await;
    assert_eq!(decisions, [true, false]);
    // A failed item is a deny: it stops the batch too.
    let items = batch_items(
        &app,
        json!({
            "subject": subject("alice"),
            "action": action("read"),
            "options": {"evaluations_semantic": "deny_on_first_deny"},
            "evaluations": [{"resource": resource("record-1")}, {}, {"resource": resource("record-1")}],
        }),
        2,
    )
    .await;
    assert_eq!(items.iter().map(decision_of).collect::<Vec<_>>(), [true, false]);
    assert!(items[1]["context"].is_object(), "{items:?}");
    // No deny: every item answered.
    let decisions = batch(
        &app,
        json!({
            "subject": subject("alice"),
            "resource": resource("record-1"),
            "options": {"evaluations_semantic": "deny_on_first_deny"},
            "evaluations": [{"action": action("read")}, {"action": action("write")}, {"action": action("read")}],
        }),
        3,
    )
    .await;
    assert_eq!(decisions, [true, true, true]);
    // A deny first: only it.
    let decisions = batch(
        &app,
        json!({
            "subject": subject("bob"),
            "resource": resource("record-1"),
            "options": {"evaluations_semantic": "deny_on_first_deny"},
            "evaluations": [{"action": action("write")}, {"action": action("read")}],
        }),
        1,
    )
    .await;
    assert_eq!(decisions, [false]);
}

/// Spec "Evaluations semantics": `permit_on_first_permit` answers up to and
/// including the first permit, and runs everything when nothing permits.
#[tokio::test]
async fn batch_semantic_permit_on_first_permit_stops_after_the_first_permit() {
    let app = fixture_app().await;
    let decisions = batch(
        &app,
        json!({
            "subject": subject("bob"),
            "resource": resource("record-1"),
            "options": {"evaluations_semantic": "permit_on_first_permit"},
            "evaluations": [
                {"action": action("write")},
                {"action": action("read")},
                {"action": action("write")},
                {"action": action("read")},
            ],
        }),
        2,
    )
    .await;
    assert_eq!(decisions, [false, true]);
    // A failed item does not stop it.
    let decisions = batch(
        &app,
        json!({
            "subject": subject("alice"),
            "action": action("read"),
            "options": {"evaluations_semantic": "permit_on_first_permit"},
            "evaluations": [{}, {"resource": resource("record-1")}, {"resource": resource("record-2")}],
        }),
        2,
    )
    .await;
    assert_eq!(decisions, [false, true]);
    // No permit: every item answered.
    let decisions = batch(
        &app,
        json!({
            "subject": subject("bob"),
            "resource": resource("record-1"),
            "options": {"evaluations_semantic": "permit_on_first_permit"},
            "evaluations": [{"action": action("write")}, {"action": action("delete")}, {"action": action("write")}],
        }),
        3,
    )
    .await;
    assert_eq!(decisions, [false, false, false]);
    // A permit first: only it.
    let decisions = batch(
        &app,
        json!({
            "subject": subject("alice"),
            "resource": resource("record-1"),
            "options": {"evaluations_semantic": "permit_on_first_permit"},
            "evaluations": [{"action": action("read")}, {"action": action("delete")}],
        }),
        1,
    )
    .await;
    assert_eq!(decisions, [true]);
}

/// An `evaluations_semantic` the specification does not define is a 400;
/// unknown options beside a known one are ignored.
#[tokio::test]
async fn batch_semantic_unknown_value_is_a_bad_request() {
    let app = fixture_app().await;
    for semantic in [
        json!("first_deny"),
        json!("EXECUTE_ALL"),
        json!(""),
        json!(1),
        json!(true),
        json!(["execute_all"]),
    ] {
        let err = rejected(
            &app,
            EVALUATIONS,
            json!({
                "subject": subject("alice"),
                "action": action("read"),
                "options": {"evaluations_semantic": semantic},
                "evaluations": [{"resource": resource("record-1")}],
            }),
        )
        .await;
        assert_eq!(err["field"], json!("options.evaluations_semantic"), "{err}");
    }
    let decisions = batch(
        &app,
        json!({
            "subject": subject("alice"),
            "action": action("read"),
            "options": {"evaluations_semantic": "execute_all", "another_option": "value"},
            "evaluations": [{"resource": resource("record-1")}],
        }),
        1,
    )
    .await;
    assert_eq!(decisions, [true]);
}

// ---------------------------------------------------------------------------
// Search (c-4)
// ---------------------------------------------------------------------------

/// Sends a search; asserts a 200 JSON answer whose `results` is an array; the body.
async fn search(app: &TestApp, path: &str, body: Value) -> Value {
    let (status, headers, answer) = post_json(app, path, &body).await;
    assert_eq!(status, StatusCode::OK, "{path} {body}: {answer}");
    assert_json_content_type(&headers);
    assert!(answer["results"].is_array(), "{answer}");
    answer
}

/// The ids of entity results, after checking each has `type` (= `ty`) and `id`.
fn result_ids(answer: &Value, ty: &str) -> Vec<String> {
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["type"], json!(ty), "{answer}");
            r["id"]
                .as_str()
                .unwrap_or_else(|| panic!("an id: {answer}"))
                .to_string()
        })
        .collect()
}

/// The names of action results.
fn result_names(answer: &Value) -> Vec<String> {
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["name"]
                .as_str()
                .unwrap_or_else(|| panic!("a name: {answer}"))
                .to_string()
        })
        .collect()
}

fn subject_search() -> Value {
    json!({
        "subject": {"type": "user"},
        "action": {"name": "read"},
        "resource": {"type": "record", "id": "record-1"},
    })
}

fn resource_search() -> Value {
    json!({
        "subject": {"type": "user", "id": "alice"},
        "action": {"name": "read"},
        "resource": {"type": "record"},
    })
}

fn action_search() -> Value {
    json!({
        "subject": {"type": "user", "id": "alice"},
        "resource": {"type": "record", "id": "record-1"},
    })
}

fn scenario_context() -> Value {
    json!({"time": "2025-06-27T18:03-07:00", "ip": "192.168.1.1"})
}

/// c-4-2-1 (S1): every user may read record-1: alice and bob.
#[tokio::test]
async fn c_4_2_1_valid_subject_search_request_with_non_empty_results() {
    let app = fixture_app().await;
    let answer = search(&app, SEARCH_SUBJECT, subject_search()).await;
    assert_eq!(result_ids(&answer, "user"), ["alice", "bob"], "{answer}");
}

/// c-4-2-2: a context changes nothing here.
#[tokio::test]
async fn c_4_2_2_subject_search_with_context() {
    let app = fixture_app().await;
    let plain = search(&app, SEARCH_SUBJECT, subject_search()).await;
    let mut body = subject_search();
    body["context"] = scenario_context();
    assert_eq!(
        search(&app, SEARCH_SUBJECT, body).await["results"],
        plain["results"]
    );
}

/// c-4-2-3: a `subject.id` is ignored (bob is still found).
#[tokio::test]
async fn c_4_2_3_subject_search_with_subject_id_present() {
    let app = fixture_app().await;
    let plain = search(&app, SEARCH_SUBJECT, subject_search()).await;
    let mut body = subject_search();
    body["subject"]["id"] = json!("alice");
    let answer = search(&app, SEARCH_SUBJECT, body).await;
    assert_eq!(answer["results"], plain["results"]);
    assert!(result_ids(&answer, "user").contains(&"bob".to_string()));
}

/// c-4-2-4 (S4): who may write record-2 as an archived record: bob, the admin.
#[tokio::test]
async fn c_4_2_4_subject_search_with_resource_properties() {
    let app = fixture_app().await;
    let answer = search(
        &app,
        SEARCH_SUBJECT,
        json!({
            "subject": {"type": "user"},
            "action": {"name": "write"},
            "resource": {"type": "record", "id": "record-2", "properties": {"status": "archived"}},
        }),
    )
    .await;
    assert_eq!(result_ids(&answer, "user"), ["bob"], "{answer}");
}

/// c-4-3-1 (S2): alice reads every record.
#[tokio::test]
async fn c_4_3_1_valid_resource_search_request_with_non_empty_results() {
    let app = fixture_app().await;
    let answer = search(&app, SEARCH_RESOURCE, resource_search()).await;
    assert_eq!(
        result_ids(&answer, "record"),
        ["record-1", "record-2"],
        "{answer}"
    );
}

/// c-4-3-2: a context changes nothing here.
#[tokio::test]
async fn c_4_3_2_resource_search_with_context() {
    let app = fixture_app().await;
    let plain = search(&app, SEARCH_RESOURCE, resource_search()).await;
    let mut body = resource_search();
    body["context"] = scenario_context();
    assert_eq!(
        search(&app, SEARCH_RESOURCE, body).await["results"],
        plain["results"]
    );
}

/// c-4-3-3: a `resource.id` neither constrains nor changes the results.
#[tokio::test]
async fn c_4_3_3_resource_search_with_resource_id_present() {
    let app = fixture_app().await;
    let plain = search(&app, SEARCH_RESOURCE, resource_search()).await;
    let mut body = resource_search();
    body["resource"]["id"] = json!("record-1");
    assert_eq!(
        search(&app, SEARCH_RESOURCE, body).await["results"],
        plain["results"]
    );
}

/// c-4-3-4 (S5): bob as an admin writes the archived record only.
#[tokio::test]
async fn c_4_3_4_resource_search_with_subject_properties() {
    let app = fixture_app().await;
    let answer = search(
        &app,
        SEARCH_RESOURCE,
        json!({
            "subject": {"type": "user", "id": "bob", "properties": {"role": "admin"}},
            "action": {"name": "write"},
            "resource": {"type": "record"},
        }),
    )
    .await;
    assert_eq!(result_ids(&answer, "record"), ["record-2"], "{answer}");
}

/// c-4-4-1 (S3): alice may read and write record-1; `delete` needs a soft
/// delete, which an action search cannot say.
#[tokio::test]
async fn c_4_4_1_valid_action_search_request_with_non_empty_results() {
    let app = fixture_app().await;
    let answer = search(&app, SEARCH_ACTION, action_search()).await;
    assert_eq!(result_names(&answer), ["read", "write"], "{answer}");
}

/// c-4-4-2: a context changes nothing here.
#[tokio::test]
async fn c_4_4_2_action_search_with_context() {
    let app = fixture_app().await;
    let plain = search(&app, SEARCH_ACTION, action_search()).await;
    let mut body = action_search();
    body["context"] = scenario_context();
    assert_eq!(
        search(&app, SEARCH_ACTION, body).await["results"],
        plain["results"]
    );
}

/// c-4-4-3 (S6): bob as an admin on record-2 as archived: read and write.
#[tokio::test]
async fn c_4_4_3_action_search_with_properties() {
    let app = fixture_app().await;
    let answer = search(
        &app,
        SEARCH_ACTION,
        json!({
            "subject": {"type": "user", "id": "bob", "properties": {"role": "admin"}},
            "resource": {"type": "record", "id": "record-2", "properties": {"status": "archived"}},
        }),
    )
    .await;
    assert_eq!(result_names(&answer), ["read", "write"], "{answer}");
}

/// c-4-5-1 and c-4-5-2: a limit of one gives one result and a token; the
/// token gives the rest, and the last page's `next_token` is `""`.
#[tokio::test]
async fn c_4_5_pagination() {
    let app = fixture_app().await;
    let mut body = subject_search();
    body["page"] = json!({"limit": 1});
    let first = search(&app, SEARCH_SUBJECT, body).await;
    assert_eq!(result_ids(&first, "user"), ["alice"], "{first}");
    let token = first["page"]["next_token"]
        .as_str()
        .expect("a string token")
        .to_string();
    assert!(!token.is_empty(), "{first}");
    let mut body = subject_search();
    body["page"] = json!({"token": token});
    let second = search(&app, SEARCH_SUBJECT, body).await;
    assert_eq!(result_ids(&second, "user"), ["bob"], "{second}");
    assert_eq!(second["page"]["next_token"], json!(""), "{second}");
    // A page object with neither field is taken as no page at all.
    let mut body = subject_search();
    body["page"] = json!({});
    assert_eq!(
        result_ids(&search(&app, SEARCH_SUBJECT, body).await, "user"),
        ["alice", "bob"]
    );
}

/// Beyond the scenario: bad paging input is a 400 naming the field.
#[tokio::test]
async fn search_paging_input_is_checked() {
    let app = fixture_app().await;
    for (page, field) in [
        (json!({"limit": 0}), "page.limit"),
        (json!({"limit": -3}), "page.limit"),
        (json!({"limit": "ten"}), "page.limit"),
        (json!({"token": "not-ours"}), "page.token"),
        (json!({"token": 7}), "page.token"),
        (json!("all"), "page"),
    ] {
        let mut body = subject_search();
        body["page"] = page.clone();
        let (status, _, answer) = post_json(&app, SEARCH_SUBJECT, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{page}: {answer}");
        assert_eq!(answer["error"]["field"], json!(field), "{answer}");
    }
}

/// c-4-6-1: an unknown input id gives no results (not an error), on every endpoint.
#[tokio::test]
async fn c_4_6_1_unknown_entity_identifier() {
    let app = fixture_app().await;
    let mut a = action_search();
    a["subject"]["id"] = json!("nonexistent-user");
    let mut r = resource_search();
    r["subject"]["id"] = json!("nonexistent-user");
    let mut s = subject_search();
    s["resource"]["id"] = json!("nonexistent-record");
    for (path, body) in [(SEARCH_ACTION, a), (SEARCH_RESOURCE, r), (SEARCH_SUBJECT, s)] {
        let answer = search(&app, path, body).await;
        assert_eq!(answer["results"], json!([]), "{path}: {answer}");
    }
}

/// c-4-6-2: an unknown type gives no results (not an error), on every endpoint.
#[tokio::test]
async fn c_4_6_2_unknown_entity_type() {
    let app = fixture_app().await;
    let mut s = subject_search();
    s["subject"]["type"] = json!("spaceship");
    let mut r = resource_search();
    r["resource"]["type"] = json!("spaceship");
    let mut a = action_search();
    a["resource"]["type"] = json!("spaceship");
    let mut unknown_action = subject_search();
    unknown_action["action"]["name"] = json!("launch");
    for (path, body) in [
        (SEARCH_SUBJECT, s),
        (SEARCH_RESOURCE, r),
        (SEARCH_ACTION, a),
        (SEARCH_SUBJECT, unknown_action),
    ] {
        let answer = search(&app, path, body).await;
        assert_eq!(answer["results"], json!([]), "{path}: {answer}");
    }
}

/// c-4-7-1 and c-4-7-2: a missing input, or an input without its id, is a 400.
#[tokio::test]
async fn c_4_7_search_error_handling() {
    let app = fixture_app().await;
    let cases = [
        (
            SEARCH_SUBJECT,
            json!({"subject": {"type": "user"}, "resource": {"type": "record", "id": "record-1"}}),
            "action",
        ),
        (
            SEARCH_RESOURCE,
            json!({"action": {"name": "read"}, "resource": {"type": "record"}}),
            "subject",
        ),
        (
            SEARCH_ACTION,
            json!({"subject": {"type": "user", "id": "alice"}}),
            "resource",
        ),
        (
            SEARCH_SUBJECT,
            json!({"subject": {"type": "user"}, "action": {"name": "read"}, "resource": {"type": "record"}}),
            "resource.id",
        ),
        (
            SEARCH_RESOURCE,
            json!({"subject": {"type": "user"}, "action": {"name": "read"}, "resource": {"type": "record"}}),
            "subject.id",
        ),
        (
            SEARCH_ACTION,
            json!({"subject": {"type": "user"}, "resource": {"type": "record", "id": "record-1"}}),
            "subject.id",
        ),
        (
            SEARCH_SUBJECT,
            json!({"subject": {"id": "x"}, "action": {"name": "read"}, "resource": {"type": "record", "id": "record-1"}}),
            "subject.type",
        ),
    ];
    for (path, body, field) in cases {
        let (status, headers, answer) = post_json(&app, path, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}: {answer}");
        assert_json_content_type(&headers);
        assert_eq!(answer["error"]["field"], json!(field), "{path} {body}: {answer}");
    }
}

/// c-5 for search: JSON in and out, `X-Request-ID` echoed, unknown fields ignored.
#[tokio::test]
async fn c_5_transport_requirements_for_search() {
    let app = fixture_app().await;
    for (path, mut body) in [
        (SEARCH_SUBJECT, subject_search()),
        (SEARCH_RESOURCE, resource_search()),
        (SEARCH_ACTION, action_search()),
    ] {
        body["unknown"] = json!({"x": 1});
        let (status, headers, answer) = send_raw(
            &app,
            path,
            Some("application/json; charset=utf-8"),
            Some("s-1"),
            &body.to_string(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{path}: {answer}");
        assert_json_content_type(&headers);
        assert_eq!(
            headers.get("x-request-id").and_then(|v| v.to_str().ok()),
            Some("s-1")
        );
        assert!(!answer["results"].as_array().unwrap().is_empty(), "{answer}");
        let (status, _, _) = send_raw(&app, path, Some("text/plain"), None, &body.to_string()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        let (status, _, _) = send_raw(&app, path, Some("application/json"), None, "{").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
    }
}

// ---------------------------------------------------------------------------
// Transport (c-5), for every level
// ---------------------------------------------------------------------------

/// c-5: JSON in with a charset parameter too, JSON out, 200 on success, 400 on
/// a missing field, `X-Request-ID` echoed, unknown fields ignored.
#[tokio::test]
async fn c_5_transport_requirements() {
    let app = fixture_app().await;
    let mut body = request("alice", "read", "record-1");
    body["unknown"] = json!({"x": 1});
    for ct in [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
    ] {
        for path in [EVALUATION, EVALUATIONS] {
            let (status, headers, answer) =
                send_raw(&app, path, Some(ct), Some("t-1"), &body.to_string()).await;
            assert_eq!(status, StatusCode::OK, "{path} {ct}: {answer}");
            assert_json_content_type(&headers);
            assert_eq!(
                headers.get("x-request-id").and_then(|v| v.to_str().ok()),
                Some("t-1")
            );
            assert!(decision_of(&answer));
        }
    }
    rejected(
        &app,
        EVALUATION,
        json!({"subject": subject("alice"), "action": action("read")}),
    )
    .await;
}

// ---------------------------------------------------------------------------
// Discovery: PDP metadata (c-6)
// ---------------------------------------------------------------------------

/// Fetches the metadata: 200, JSON; the body.
async fn metadata(app: &TestApp) -> Value {
    let (status, headers, body) = get(app, DISCOVERY).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_json_content_type(&headers);
    assert!(body.is_object(), "{body}");
    body
}

/// A URL the harness accepts: HTTPS, no query string, no fragment.
fn assert_https_url(v: &Value, what: &str) {
    let url = v.as_str().unwrap_or_else(|| panic!("{what} is a string: {v}"));
    assert!(url.starts_with("https://"), "{what} is HTTPS: {url}");
    assert!(
        !url.contains('?') && !url.contains('#'),
        "{what} has no query or fragment: {url}"
    );
    assert!(url.len() > "https://".len(), "{what} names a host: {url}");
}

/// c-6-1: the metadata endpoint is at `/.well-known/authzen-configuration`.
#[tokio::test]
async fn c_6_1_metadata_endpoint() {
    let app = fixture_app().await;
    metadata(&app).await;
}

/// c-6-2: the metadata answer is a 200 JSON object.
#[tokio::test]
async fn c_6_2_metadata_response_format() {
    let app = fixture_app().await;
    let (status, headers, body) = get(&app, DISCOVERY).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_json_content_type(&headers);
    assert!(body.is_object(), "valid JSON, an object: {body}");
}

/// c-6-3: `policy_decision_point` (the base URL) and `access_evaluation_endpoint`.
#[tokio::test]
async fn c_6_3_required_metadata_fields() {
    let app = fixture_app().await;
    let m = metadata(&app).await;
    assert_eq!(m["policy_decision_point"], json!(BASE_URL), "{m}");
    assert_https_url(&m["policy_decision_point"], "policy_decision_point");
    assert_eq!(
        m["access_evaluation_endpoint"],
        json!(format!("{BASE_URL}{EVALUATION}")),
        "{m}"
    );
}

/// c-6-4: optional fields, when present, are well formed: this PDP announces
/// its batch endpoint and its three search endpoints.
#[tokio::test]
async fn c_6_4_optional_metadata_fields() {
    let app = fixture_app().await;
    let m = metadata(&app).await;
    assert_eq!(
        m["access_evaluations_endpoint"],
        json!(format!("{BASE_URL}{EVALUATIONS}")),
        "{m}"
    );
    for (key, path) in [
        ("search_subject_endpoint", SEARCH_SUBJECT),
        ("search_resource_endpoint", SEARCH_RESOURCE),
        ("search_action_endpoint", SEARCH_ACTION),
    ] {
        assert_eq!(m[key], json!(format!("{BASE_URL}{path}")), "{key}: {m}");
    }
    if let Some(caps) = m.get("capabilities") {
        let caps = caps
            .as_array()
            .unwrap_or_else(|| panic!("capabilities is an array: {m}"));
        assert!(caps.iter().all(Value::is_string), "{m}");
    }
    if let Some(signed) = m.get("signed_metadata") {
        assert_eq!(
            signed.as_str().map(|s| s.split('.').count()),
            Some(3),
            "a JWT: {m}"
        );
    }
}

/// c-6-5: everything the harness validates about the metadata.
#[tokio::test]
async fn c_6_5_metadata_validation() {
    let app = fixture_app().await;
    let m = metadata(&app).await;
    assert_eq!(
        m["policy_decision_point"],
        json!(BASE_URL),
        "matches the base URL used for discovery"
    );
    assert_https_url(&m["access_evaluation_endpoint"], "access_evaluation_endpoint");
    for (key, value) in m.as_object().expect("an object") {
        if key.ends_with("_endpoint") {
            assert_https_url(value, key);
            assert!(
                value.as_str().is_some_and(|u| u.starts_with(BASE_URL)),
                "{key} under the base URL: {m}"
            );
        }
    }
    // The metadata is the same whatever Host the request names: the configured URL wins.
    let req = Request::builder()
        .method("GET")
        .uri(DISCOVERY)
        .header("host", "elsewhere.example")
        .header("x-forwarded-proto", "http")
        .body(Body::empty())
        .expect("a request");
    let (status, _, again) = app.send(req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, m);
}

/// c-6-6: the endpoint is there (no 404), and the endpoints it names are the
/// default paths and answer.
#[tokio::test]
async fn c_6_6_metadata_endpoint_unavailable() {
    let app = fixture_app().await;
    let m = metadata(&app).await;
    for (key, default) in [
        ("access_evaluation_endpoint", EVALUATION),
        ("access_evaluations_endpoint", EVALUATIONS),
        ("search_subject_endpoint", SEARCH_SUBJECT),
        ("search_resource_endpoint", SEARCH_RESOURCE),
        ("search_action_endpoint", SEARCH_ACTION),
    ] {
        let url = m[key].as_str().unwrap_or_else(|| panic!("{key}: {m}"));
        assert_eq!(url.strip_prefix(BASE_URL), Some(default), "{key}");
    }
    for (key, default) in [
        ("access_evaluation_endpoint", EVALUATION),
        ("access_evaluations_endpoint", EVALUATIONS),
    ] {
        let url = m[key].as_str().unwrap_or_else(|| panic!("{key}: {m}"));
        let path = url
            .strip_prefix(BASE_URL)
            .unwrap_or_else(|| panic!("{key} under the base URL: {url}"));
        assert_eq!(path, default, "{key}");
        assert!(
            decide_at(&app, path, &request("alice", "read", "record-1")).await,
            "{key}"
        );
    }
}
