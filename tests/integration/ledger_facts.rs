//! No caller can claim a fact the ledger owns: request `properties` on the
//! licensing pack's ledger types are refused (400) rather than overlaid, an
//! unstored ledger entity stays unknown whatever the request says, a pack may
//! mark a type `@properties("add")` so requests only add what the store lacks,
//! and decisions can ask PEPs for a bearer token of their own.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

use crate::common::{TOKEN, TestApp, repo_path};

const EVALUATION: &str = "/access/v1/evaluation";
const EVALUATIONS: &str = "/access/v1/evaluations";

/// A provisioned tenant with one user seat and an unlicensed, active user `ivy`.
async fn tenant_with_unlicensed_user() -> TestApp {
    let app = TestApp::licensing();
    app.provisioned("plant", 0, 1).await;
    let (s, b) = app
        .post(
            "/v1/tenants/plant/users",
            json!({"id": "ivy", "name": "Ivy", "email": "ivy@example.com", "role": "viewer"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    app
}

fn management(subject: Value) -> Value {
    json!({
        "subject": subject,
        "action": {"name": "access_management"},
        "resource": {"type": "Tenant", "id": "plant"},
    })
}

#[tokio::test]
async fn an_unlicensed_user_is_denied_and_cannot_claim_a_licence_through_properties() {
    let app = tenant_with_unlicensed_user().await;
    let (allowed, body) = app
        .evaluate(("User", "ivy"), "access_management", ("Tenant", "plant"))
        .await;
    assert!(!allowed, "{body}");
    assert_eq!(
        body["context"]["reasons"],
        json!(["management.unlicensed"]),
        "{body}"
    );

    let (s, body) = app
        .post(
            EVALUATION,
            management(json!({"type": "User", "id": "ivy", "properties": {"licensed": true}})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    let message = body["error"]["message"]["en"].as_str().unwrap();
    assert!(
        message.contains("subject.properties.licensed") && message.contains("ledger owns"),
        "{message}"
    );
    // And the decision without the claim is still the ledger's.
    let (allowed, _) = app
        .evaluate(("User", "ivy"), "access_management", ("Tenant", "plant"))
        .await;
    assert!(!allowed);
}

#[tokio::test]
async fn no_ledger_fact_of_subject_or_resource_can_be_set_by_a_request() {
    let app = tenant_with_unlicensed_user().await;
    let claims = [
        json!({"type": "User", "id": "ivy", "properties": {"active": true}}),
        json!({"type": "User", "id": "ivy", "properties": {"role": {"name": "admin", "view": [], "edit": [], "approve": []}}}),
        json!({"type": "User", "id": "plant-admin", "properties": {"has_own_operator": true}}),
    ];
    for subject in claims {
        let (s, body) = app.post(EVALUATION, management(subject.clone())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{subject} → {body}");
    }
    // Tenant facts: seats, provisioning, dates.
    for props in [
        json!({"provisioned": false}),
        json!({"trial_days": 10000}),
        json!({"seats": {"user": {"total": 9, "used": 0, "free": 9}, "shop_floor": {"total": 9, "used": 0, "free": 9}}}),
        json!({"earliest_unpaid_due_at": 0}),
    ] {
        let (s, body) = app
            .post(
                EVALUATION,
                json!({
                    "subject": {"type": "User", "id": "ivy"},
                    "action": {"name": "access_management"},
                    "resource": {"type": "Tenant", "id": "plant", "properties": props},
                }),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{props} → {body}");
        assert!(
            body["error"]["message"]["en"]
                .as_str()
                .unwrap()
                .contains("resource.properties."),
            "{body}"
        );
    }
}

#[tokio::test]
async fn keys_the_schema_does_not_declare_are_still_ignored_on_ledger_types() {
    let app = tenant_with_unlicensed_user().await;
    let (s, body) = app
        .post(
            EVALUATION,
            management(json!({"type": "User", "id": "plant-admin", "properties": {"department": "ops"}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["decision"], json!(true), "{body}");
}

#[tokio::test]
async fn a_user_the_ledger_does_not_hold_is_unknown_however_the_request_describes_it() {
    let app = tenant_with_unlicensed_user().await;
    let (s, body) = app
        .post(EVALUATION, management(json!({"type": "User", "id": "ghost"})))
        .await;
    assert_eq!(
        (s, body["decision"].clone()),
        (StatusCode::OK, json!(false)),
        "{body}"
    );
    let (s, body) = app
        .post(
            EVALUATION,
            management(json!({"type": "User", "id": "ghost", "properties": {
                "name": "Ghost", "email": "g@example.com", "active": true, "licensed": true,
                "has_own_operator": false,
                "role": {"name": "admin", "view": [], "edit": [], "approve": []},
            }})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn a_claim_inside_a_batch_is_that_item_s_error_and_a_deny() {
    let app = tenant_with_unlicensed_user().await;
    let (s, body) = app
        .post(
            EVALUATIONS,
            json!({
                "action": {"name": "access_management"},
                "resource": {"type": "Tenant", "id": "plant"},
                "evaluations": [
                    {"subject": {"type": "User", "id": "ivy", "properties": {"licensed": true}}},
                    {"subject": {"type": "User", "id": "plant-admin"}},
                ],
            }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["evaluations"][0]["decision"], json!(false), "{body}");
    assert!(body["evaluations"][0]["context"]["error"].is_object(), "{body}");
    assert_eq!(body["evaluations"][1]["decision"], json!(true), "{body}");
}

/// A copy of the AuthZEN fixture pack whose `user` type is marked `add`.
fn add_only_pack() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = repo_path("fixtures/authzen");
    for f in ["records.cedar", "schema.cedarschema"] {
        std::fs::copy(src.join(f), dir.path().join(f)).unwrap();
    }
    let schema = std::fs::read_to_string(dir.path().join("schema.cedarschema")).unwrap();
    let marked = schema.replace("entity user = {", "@properties(\"add\")\nentity user = {");
    assert_ne!(schema, marked, "the fixture schema declares `entity user = {{`");
    std::fs::write(dir.path().join("schema.cedarschema"), marked).unwrap();
    dir
}

async fn fixture_entities(app: &TestApp) {
    let text = std::fs::read_to_string(repo_path("fixtures/authzen/entities.json")).unwrap();
    let (s, b) = app
        .call("PUT", "/v1/entities", Some(serde_json::from_str(&text).unwrap()))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

fn write_archived(subject: Value) -> Value {
    json!({
        "subject": subject,
        "action": {"name": "write"},
        "resource": {"type": "record", "id": "record-2"},
    })
}

#[tokio::test]
async fn an_add_only_type_takes_attributes_the_store_lacks_and_refuses_to_replace_one_it_holds() {
    let dir = add_only_pack();
    let app = TestApp::with_pack(dir.path(), "2026-01-01T00:00:00Z");
    fixture_entities(&app).await;
    // alice has no stored role: a request may add one.
    let (s, body) = app
        .post(
            EVALUATION,
            write_archived(json!({"type": "user", "id": "alice", "properties": {"role": "admin"}})),
        )
        .await;
    assert_eq!(
        (s, body["decision"].clone()),
        (StatusCode::OK, json!(true)),
        "{body}"
    );
    // bob's role is stored: a request cannot replace it.
    let (s, body) = app
        .post(
            EVALUATION,
            write_archived(json!({"type": "user", "id": "bob", "properties": {"role": "viewer"}})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]["message"]["en"]
            .as_str()
            .unwrap()
            .contains("subject.properties.role"),
        "{body}"
    );
    // The overlay pack, unchanged, still lets the request win (AuthZEN's default).
    let app = TestApp::with_pack(&repo_path("fixtures/authzen"), "2026-01-01T00:00:00Z");
    fixture_entities(&app).await;
    let (s, body) = app
        .post(
            EVALUATION,
            write_archived(json!({"type": "user", "id": "bob", "properties": {"role": "viewer"}})),
        )
        .await;
    assert_eq!(
        (s, body["decision"].clone()),
        (StatusCode::OK, json!(false)),
        "{body}"
    );
}

#[test]
fn a_pack_cannot_let_requests_overlay_a_type_the_ledger_builds() {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(repo_path("policies")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    let path = dir.path().join("schema.cedarschema");
    let schema = std::fs::read_to_string(&path).unwrap();
    let changed = schema.replacen(
        "@source(\"ledger\")\nentity User",
        "@source(\"ledger\")\n@properties(\"overlay\")\nentity User",
        1,
    );
    assert_ne!(schema, changed);
    std::fs::write(&path, changed).unwrap();
    let err = turnstile::policy::PolicyPack::load(dir.path())
        .unwrap_err()
        .to_string();
    assert!(err.contains("`User`") && err.contains("overlay"), "{err}");

    let wrong = schema.replacen(
        "@source(\"ledger\")\nentity User",
        "@source(\"ledger\")\n@properties(\"replace\")\nentity User",
        1,
    );
    std::fs::write(&path, wrong).unwrap();
    let err = turnstile::policy::PolicyPack::load(dir.path())
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a property mode"), "{err}");
}

async fn post_with_token(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    body: &Value,
) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let (s, _, b) = app.send(req.body(Body::from(body.to_string())).unwrap()).await;
    (s, b)
}

#[tokio::test]
async fn with_decision_tokens_a_pep_must_send_one_and_the_admin_token_is_not_one() {
    let app = tenant_with_unlicensed_user()
        .await
        .requiring_decision_tokens(&["pep-one", "pep-two"]);
    let ask = management(json!({"type": "User", "id": "plant-admin"}));
    for token in [None, Some("wrong"), Some(TOKEN)] {
        let (s, body) = post_with_token(&app, EVALUATION, token, &ask).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{token:?} → {body}");
        assert_eq!(body["error"]["code"], json!("unauthorized"), "{body}");
        assert!(body["error"]["message"]["fr"].is_string(), "{body}");
        let (s, _) = post_with_token(&app, EVALUATIONS, token, &ask).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    for token in ["pep-one", "pep-two"] {
        let (s, body) = post_with_token(&app, EVALUATION, Some(token), &ask).await;
        assert_eq!(
            (s, body["decision"].clone()),
            (StatusCode::OK, json!(true)),
            "{body}"
        );
    }
    // Discovery stays open; the ledger still takes the admin token only.
    let req = Request::builder()
        .uri("/.well-known/authzen-configuration")
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(req).await.0, StatusCode::OK);
    let (s, _) = app.get("/v1/tenants/plant").await;
    assert_eq!(s, StatusCode::OK);
    let req = Request::builder()
        .uri("/v1/tenants/plant")
        .header("authorization", "Bearer pep-one")
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(req).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn without_decision_tokens_decisions_need_no_token() {
    let app = tenant_with_unlicensed_user().await;
    let (s, body) = post_with_token(
        &app,
        EVALUATION,
        None,
        &management(json!({"type": "User", "id": "plant-admin"})),
    )
    .await;
    assert_eq!(
        (s, body["decision"].clone()),
        (StatusCode::OK, json!(true)),
        "{body}"
    );
}
