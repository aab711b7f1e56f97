//! The OpenAPI document at `/openapi.json` against the routes the app serves:
//! every documented operation is served, every served route is documented,
//! the admin routes, and they alone, carry the admin bearer-token requirement,
//! and the decision and search routes carry the optional PEP token.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

use crate::common::TestApp;

/// The routes of the public contract (`API.md`), method and path.
const CONTRACT: &[(&str, &str)] = &[
    ("GET", "/.well-known/authzen-configuration"),
    ("POST", "/access/v1/evaluation"),
    ("POST", "/access/v1/evaluations"),
    ("POST", "/access/v1/search/subject"),
    ("POST", "/access/v1/search/resource"),
    ("POST", "/access/v1/search/action"),
    ("POST", "/v1/accounts"),
    ("POST", "/v1/accounts/{account}/tenants"),
    ("POST", "/v1/accounts/{account}/hubs"),
    ("GET", "/v1/tenants/{tenant}"),
    ("POST", "/v1/tenants/{tenant}/subscriptions"),
    ("GET", "/v1/tenants/{tenant}/subscriptions"),
    ("POST", "/v1/tenants/{tenant}/subscriptions/{number}/payment"),
    ("POST", "/v1/tenants/{tenant}/users"),
    ("PATCH", "/v1/users/{user}"),
    ("PUT", "/v1/users/{user}/license"),
    ("DELETE", "/v1/users/{user}/license"),
    ("POST", "/v1/tenants/{tenant}/operators"),
    ("PATCH", "/v1/operators/{operator}"),
    ("POST", "/v1/users/{user}/operator"),
    ("PUT", "/v1/users/{user}/operator"),
    ("POST", "/v1/operators/{operator}/production"),
    ("GET", "/v1/tenants/{tenant}/operators"),
    ("GET", "/v1/tenants/{tenant}/seats"),
    ("GET", "/v1/tenants/{tenant}/notices"),
    ("POST", "/v1/tenants/{tenant}/reconcile"),
    ("PUT", "/v1/entities"),
    ("GET", "/v1/entities"),
    ("GET", "/health/live"),
    ("GET", "/health/ready"),
    ("GET", "/metrics"),
];

/// The routes the service has beyond the contract.
const EXTRA: &[(&str, &str)] = &[
    ("GET", "/v1/accounts/{account}"),
    ("PATCH", "/v1/tenants/{tenant}/subscriptions/{number}"),
    ("POST", "/v1/tenants/{tenant}/roles"),
    ("GET", "/v1/tenants/{tenant}/roles"),
    ("GET", "/v1/tenants/{tenant}/users"),
    ("GET", "/v1/users/{user}"),
    ("POST", "/v1/explain"),
    ("POST", "/v1/admin/reload"),
    ("GET", "/openapi.json"),
];

/// In the contract but not served by the app (yet): neither served nor
/// documented. Serving one means moving it up to `CONTRACT`.
const NOT_SERVED: &[(&str, &str)] = &[];

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// What the router answers a route it does not have.
fn fallback() -> Value {
    json!({"error": {"code": "not_found", "message": {"en": "route not found"}}})
}

async fn document(app: &TestApp) -> Value {
    let req = Request::get("/openapi.json").body(Body::empty()).unwrap();
    let (status, headers, body) = app.send(req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    body
}

/// Every operation of the document: method (upper case), path, operation.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if METHODS.contains(&method.to_uppercase().as_str()) {
                out.push((method.to_uppercase(), path.clone(), op.clone()));
            }
        }
    }
    out
}

/// A concrete URI for a templated path: each `{param}` becomes `placeholder`.
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').map(|e| start + e + 1).unwrap();
        out.push_str("placeholder");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Calls `method path` with an empty JSON object as the body (none for GET),
/// with or without the admin token.
async fn call(app: &TestApp, method: &str, path: &str, token: bool) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(concrete(path));
    if token {
        req = req.header("authorization", format!("Bearer {}", crate::common::TOKEN));
    }
    let body = if method == "GET" {
        Body::empty()
    } else {
        req = req.header("content-type", "application/json");
        Body::from("{}")
    };
    let (status, _, body) = app.send(req.body(body).unwrap()).await;
    (status, body)
}

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    operations(doc).into_iter().map(|(m, p, _)| (m, p)).collect()
}

fn listed(routes: &[&[(&str, &str)]]) -> BTreeSet<(String, String)> {
    routes
        .iter()
        .flat_map(|r| r.iter())
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect()
}

#[tokio::test]
async fn the_document_is_openapi_3_served_without_a_token() {
    let app = TestApp::licensing();
    let doc = document(&app).await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["title"], "turnstile");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(!doc["info"]["description"].as_str().unwrap().is_empty());

    // Every reference names something the document defines.
    let text = doc.to_string();
    for piece in text.split("\"$ref\":\"").skip(1) {
        let target = piece.split('"').next().unwrap();
        let pointer = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external $ref `{target}`"));
        assert!(doc.pointer(pointer).is_some(), "`{target}` is not defined");
    }
    // Operation ids are unique.
    let ids: Vec<String> = operations(&doc)
        .iter()
        .map(|(_, _, op)| op["operationId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), ids.iter().collect::<BTreeSet<_>>().len(), "{ids:?}");
}

#[tokio::test]
async fn every_documented_operation_is_served() {
    let app = TestApp::licensing();
    let doc = document(&app).await;
    for (method, path, _) in operations(&doc) {
        let (status, body) = call(&app, &method, &path, true).await;
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert!(
            !(status == StatusCode::NOT_FOUND && body == fallback()),
            "{method} {path} is documented but not routed"
        );
    }
}

#[tokio::test]
async fn the_routes_served_are_the_routes_documented() {
    let app = TestApp::licensing();
    let doc = document(&app).await;
    let documented = documented(&doc);
    assert_eq!(
        documented,
        listed(&[CONTRACT, EXTRA]),
        "the document and the list of routes differ"
    );
    // On every served path, the methods not documented are not served.
    let paths: BTreeSet<&String> = documented.iter().map(|(_, p)| p).collect();
    for path in paths {
        for method in METHODS {
            if !documented.contains(&(method.to_string(), path.clone())) {
                let (status, body) = call(&app, method, path, true).await;
                assert_eq!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is served but not documented: {body}"
                );
            }
        }
    }
    // The contract's routes the app does not serve are not documented either.
    for (method, path) in NOT_SERVED {
        assert!(!documented.contains(&(method.to_string(), path.to_string())));
        let (status, body) = call(&app, method, path, true).await;
        assert_eq!(
            (status, body),
            (StatusCode::NOT_FOUND, fallback()),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn the_admin_routes_and_they_alone_require_the_bearer_token() {
    let app = TestApp::licensing();
    let doc = document(&app).await;
    let scheme = &doc["components"]["securitySchemes"]["admin_token"];
    assert_eq!(scheme["type"], "http", "{scheme}");
    assert_eq!(
        scheme["scheme"].as_str().map(str::to_lowercase).as_deref(),
        Some("bearer")
    );

    for (method, path, op) in operations(&doc) {
        let admin = path.starts_with("/v1/");
        let tags: Vec<&str> = op["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        let surface = if admin {
            ["ledger", "admin"].as_slice()
        } else if path.starts_with("/access/") || path.starts_with("/.well-known/authzen") {
            ["authzen"].as_slice()
        } else {
            ["health"].as_slice()
        };
        assert!(
            tags.len() == 1 && surface.contains(&tags[0]),
            "{method} {path} is tagged {tags:?}"
        );

        let (status, body) = call(&app, &method, &path, false).await;
        if admin {
            assert_eq!(op["security"], json!([{"admin_token": []}]), "{method} {path}");
            assert!(
                op["responses"].get("401").is_some(),
                "{method} {path} documents no 401"
            );
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} without a token: {body}"
            );
        } else if method == "POST" && path.starts_with("/access/") {
            // Open unless the service is started with --decision-token.
            assert_eq!(
                op["security"],
                json!([{}, {"decision_token": []}]),
                "{method} {path}"
            );
            assert!(
                op["responses"].get("401").is_some(),
                "{method} {path} documents no 401"
            );
        } else {
            assert!(
                op.get("security").is_none(),
                "{method} {path} is open: {}",
                op["security"]
            );
            assert!(
                op["responses"].get("401").is_none(),
                "{method} {path} documents a 401"
            );
            assert_ne!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} without a token: {body}"
            );
        }
    }
}

/// What JSON Schema calls an integer (`30.0` too) the server takes as one;
/// a fraction is still refused. And the schema states what the server
/// checks: an id's pattern, a name's, an AuthZEN string's minimum length.
#[tokio::test]
async fn the_schema_states_the_constraints_the_server_applies() {
    let app = TestApp::licensing();
    assert_eq!(
        app.post("/v1/accounts", json!({"id": "acc", "name": "A"}))
            .await
            .0,
        StatusCode::CREATED
    );
    let (s, t) = app
        .post(
            "/v1/accounts/acc/tenants",
            json!({"id": "t1", "name": "T", "trial_days": 30.0}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let (s, t) = app
        .post(
            "/v1/accounts/acc/tenants",
            json!({"id": "t2", "name": "T", "trial_days": 30.5}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{t}");
    let doc = document(&app).await;
    let schemas = &doc["components"]["schemas"];
    assert!(
        schemas["Id"]["pattern"].as_str().unwrap().ends_with("{1,128}$"),
        "{}",
        schemas["Id"]
    );
    assert!(schemas["Name"]["pattern"].is_string(), "{}", schemas["Name"]);
    assert_eq!(schemas["Subject"]["properties"]["id"]["minLength"], json!(1));
    assert_eq!(
        schemas["Levels"]["additionalProperties"],
        json!(false),
        "{}",
        schemas["Levels"]
    );
    // "Give `quantity`, `ends_at` or both": an anyOf beside the fields.
    assert!(
        schemas["SubscriptionChange"]["allOf"][1]["anyOf"].is_array(),
        "{}",
        schemas["SubscriptionChange"]
    );
}
