//! AuthZEN search on the licensing pack and on the fixture pack: the licensing
//! questions answered with exact result lists, search equal to "every stored
//! candidate whose evaluation allows" (checked against `POST
//! /access/v1/evaluation` over the whole ledger, and as a property on random
//! fixture stores), pages that stay consistent while the ledger changes, and
//! PEP tokens.
//!
//! Ledgers are built through the HTTP ledger API (or `PUT /v1/entities` for the
//! fixture pack); searches are sent as a PEP sends them.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value, json};

use crate::common::{TOKEN, TestApp, repo_path};

const EVALUATION: &str = "/access/v1/evaluation";
const SEARCH_SUBJECT: &str = "/access/v1/search/subject";
const SEARCH_RESOURCE: &str = "/access/v1/search/resource";
const SEARCH_ACTION: &str = "/access/v1/search/action";

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// A ledger call that must succeed with `expected`; the answer.
async fn ledger(app: &TestApp, method: &str, path: &str, body: Option<Value>, expected: StatusCode) -> Value {
    let (status, answer) = app.call(method, path, body.clone()).await;
    assert_eq!(status, expected, "{method} {path} {body:?}: {answer}");
    answer
}

async fn add_user(app: &TestApp, tenant: &str, id: &str, role: &str) {
    ledger(
        app,
        "POST",
        &format!("/v1/tenants/{tenant}/users"),
        Some(json!({"id": id, "name": id, "email": format!("{id}@example.com"), "role": role})),
        StatusCode::CREATED,
    )
    .await;
}

async fn license(app: &TestApp, user: &str) {
    ledger(
        app,
        "PUT",
        &format!("/v1/users/{user}/license"),
        None,
        StatusCode::OK,
    )
    .await;
}

async fn add_operator(app: &TestApp, tenant: &str, id: &str, number: i64) {
    ledger(
        app,
        "POST",
        &format!("/v1/tenants/{tenant}/operators"),
        Some(json!({"id": id, "number": number, "name": id})),
        StatusCode::CREATED,
    )
    .await;
}

async fn add_own_operator(app: &TestApp, user: &str, id: &str, number: i64) {
    ledger(
        app,
        "POST",
        &format!("/v1/users/{user}/operator"),
        Some(json!({"id": id, "number": number})),
        StatusCode::CREATED,
    )
    .await;
}

/// Sends a search without the admin token, as a PEP; asserts a 200 whose
/// `results` is an array and whose `page.next_token` is a string; the answer.
async fn search(app: &TestApp, path: &str, body: &Value) -> Value {
    let (status, answer) = pep_post(app, path, None, body).await;
    assert_eq!(status, StatusCode::OK, "{path} {body}: {answer}");
    assert!(answer["results"].is_array(), "{answer}");
    assert!(answer["page"]["next_token"].is_string(), "{answer}");
    answer
}

/// POSTs JSON with the given bearer token (or none).
async fn pep_post(app: &TestApp, path: &str, token: Option<&str>, body: &Value) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let (status, _, answer) = app.send(req.body(Body::from(body.to_string())).unwrap()).await;
    (status, answer)
}

/// The results of one answer: entity ids (checking their type) or action names.
fn results(answer: &Value, ty: Option<&str>) -> Vec<String> {
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| match ty {
            Some(ty) => {
                assert_eq!(r["type"], json!(ty), "{answer}");
                r["id"].as_str().unwrap().to_string()
            }
            None => r["name"].as_str().unwrap().to_string(),
        })
        .collect()
}

/// Every page of a search, `limit` at a time: the results in order. Asserts
/// that the walk ends with `next_token` `""`.
async fn all_pages(app: &TestApp, path: &str, body: &Value, ty: Option<&str>, limit: usize) -> Vec<String> {
    let mut all = Vec::new();
    let mut token = String::new();
    for _ in 0..1000 {
        let mut b = body.clone();
        b["page"] = json!({"limit": limit, "token": token});
        let answer = search(app, path, &b).await;
        let page = results(&answer, ty);
        assert!(page.len() <= limit, "{answer}");
        assert_eq!(answer["page"]["count"], json!(page.len()), "{answer}");
        all.extend(page);
        token = answer["page"]["next_token"].as_str().unwrap().to_string();
        if token.is_empty() {
            return all;
        }
    }
    panic!("{path} {body}: more than 1000 pages");
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// An entity of a search body: with its id, or (the searched one) its type only.
fn entity(ty: &str, id: Option<&str>) -> Value {
    match id {
        Some(id) => json!({"type": ty, "id": id}),
        None => json!({"type": ty}),
    }
}

// ---------------------------------------------------------------------------
// The licensing ledger
// ---------------------------------------------------------------------------

/// Two accounts, at 2026-01-01:
///
/// - `plant-acct` / `plant`, provisioned with 3 shop-floor and 4 user seats:
///   `plant-admin` (admin, licensed), `ana` (manager, licensed), `carl`
///   (viewer, no licence), `dora` (viewer, licensed, her own operator
///   `op-dora`, then deactivated), `emil` (manager, licensed, his own operator
///   `op-emil`); seat operators `op-a`, `op-b` and `op-c` (deactivated).
/// - `works-acct` / `works`, provisioned with 2 shop-floor and 2 user seats,
///   both shop-floor seats taken: `works-admin` (admin, licensed), `wes`
///   (viewer, licensed); operators `op-w1`, `op-w2`. And `works-acct` / `lab`,
///   a second tenant still in trial: `liv` (viewer, no licence, none needed
///   in trial), operator `op-l1`.
async fn licensing_ledger() -> TestApp {
    let app = TestApp::licensing();
    app.provisioned("plant", 3, 4).await;
    add_user(&app, "plant", "ana", "manager").await;
    add_user(&app, "plant", "carl", "viewer").await;
    add_user(&app, "plant", "dora", "viewer").await;
    add_user(&app, "plant", "emil", "manager").await;
    for u in ["ana", "dora", "emil"] {
        license(&app, u).await;
    }
    add_operator(&app, "plant", "op-a", 1).await;
    add_operator(&app, "plant", "op-b", 2).await;
    add_operator(&app, "plant", "op-c", 3).await;
    add_own_operator(&app, "emil", "op-emil", 10).await;
    add_own_operator(&app, "dora", "op-dora", 11).await;
    ledger(
        &app,
        "PATCH",
        "/v1/operators/op-c",
        Some(json!({"active": false})),
        StatusCode::OK,
    )
    .await;
    ledger(
        &app,
        "PATCH",
        "/v1/users/dora",
        Some(json!({"active": false})),
        StatusCode::OK,
    )
    .await;

    app.provisioned("works", 2, 2).await;
    add_user(&app, "works", "wes", "viewer").await;
    license(&app, "wes").await;
    add_operator(&app, "works", "op-w1", 1).await;
    add_operator(&app, "works", "op-w2", 2).await;
    ledger(
        &app,
        "POST",
        "/v1/accounts/works-acct/tenants",
        Some(json!({"id": "lab", "name": "Lab"})),
        StatusCode::CREATED,
    )
    .await;
    add_user(&app, "lab", "liv", "viewer").await;
    add_operator(&app, "lab", "op-l1", 1).await;
    app
}

const ACCOUNTS: [&str; 2] = ["plant-acct", "works-acct"];

/// Every stored entity of a type, read back through the ledger API (across
/// every tenant of both accounts).
async fn stored(app: &TestApp, ty: &str) -> Vec<String> {
    let mut tenants = Vec::new();
    for a in ACCOUNTS {
        let account = ledger(app, "GET", &format!("/v1/accounts/{a}"), None, StatusCode::OK).await;
        for t in account["tenants"].as_array().unwrap() {
            tenants.push(t.get("id").unwrap_or(t).as_str().unwrap().to_string());
        }
    }
    let mut ids: Vec<String> = match ty {
        "Account" => strings(&ACCOUNTS),
        "Tenant" => tenants.clone(),
        "User" | "Operator" => {
            let what = if ty == "User" { "users" } else { "operators" };
            let mut ids = Vec::new();
            for t in &tenants {
                let list = ledger(
                    app,
                    "GET",
                    &format!("/v1/tenants/{t}/{what}"),
                    None,
                    StatusCode::OK,
                )
                .await;
                ids.extend(
                    list.as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x["id"].as_str().unwrap().to_string()),
                );
            }
            ids
        }
        "Category" => {
            // The categories are those every role gives a level for.
            let roles = ledger(
                app,
                "GET",
                &format!("/v1/tenants/{}/roles", tenants[0]),
                None,
                StatusCode::OK,
            )
            .await;
            let admin = roles
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["name"] == json!("admin"))
                .unwrap_or_else(|| panic!("an admin role: {roles}"));
            admin["levels"].as_object().unwrap().keys().cloned().collect()
        }
        other => panic!("no list of `{other}` entities"),
    };
    ids.sort();
    ids
}

/// The candidates of `ty` whose evaluation allows, with `input` as the
/// other side, in id order.
async fn allowed_by_evaluation(
    app: &TestApp,
    searched: &str,
    ty: &str,
    action: &str,
    input: &Value,
    candidates: &[String],
) -> Vec<String> {
    let mut allowed = Vec::new();
    for id in candidates {
        let candidate = json!({"type": ty, "id": id});
        let (subject, resource) = if searched == "subject" {
            (&candidate, input)
        } else {
            (input, &candidate)
        };
        let body = json!({"subject": subject, "action": {"name": action}, "resource": resource});
        let (status, answer) = pep_post(app, EVALUATION, None, &body).await;
        assert_eq!(status, StatusCode::OK, "{body}: {answer}");
        if answer["decision"] == json!(true) {
            allowed.push(id.clone());
        }
    }
    allowed
}

// ---------------------------------------------------------------------------
// The licensing questions
// ---------------------------------------------------------------------------

/// (a) Who may record production on a tenant now: its active operators whose
/// owner (for a user operator) is active; never another tenant's.
#[tokio::test]
async fn a_subject_search_lists_the_operators_who_may_record_production_now() {
    let app = licensing_ledger().await;
    let ask = |tenant: &str| {
        json!({
            "subject": {"type": "Operator"},
            "action": {"name": "record_production"},
            "resource": {"type": "Tenant", "id": tenant},
        })
    };
    let answer = search(&app, SEARCH_SUBJECT, &ask("plant")).await;
    assert_eq!(
        results(&answer, Some("Operator")),
        strings(&["op-a", "op-b", "op-emil"]),
        "op-c is inactive, op-dora's owner is: {answer}"
    );
    assert_eq!(answer["page"]["next_token"], json!(""), "{answer}");
    let answer = search(&app, SEARCH_SUBJECT, &ask("works")).await;
    assert_eq!(results(&answer, Some("Operator")), strings(&["op-w1", "op-w2"]));
    let answer = search(&app, SEARCH_SUBJECT, &ask("lab")).await;
    assert_eq!(results(&answer, Some("Operator")), strings(&["op-l1"]));

    // Now is the service's clock: once the lab's 30-day trial is over, nobody
    // there may work; the provisioned tenants are unaffected.
    app.at("2026-02-15T00:00:00Z");
    let answer = search(&app, SEARCH_SUBJECT, &ask("lab")).await;
    assert_eq!(
        results(&answer, Some("Operator")),
        Vec::<String>::new(),
        "{answer}"
    );
    let answer = search(&app, SEARCH_SUBJECT, &ask("plant")).await;
    assert_eq!(
        results(&answer, Some("Operator")),
        strings(&["op-a", "op-b", "op-emil"])
    );
}

/// (b) Who may open the management interface: on a provisioned tenant its
/// active, licensed users; in trial every active user of the tenant.
#[tokio::test]
async fn a_subject_search_lists_the_users_who_may_open_the_management_interface() {
    let app = licensing_ledger().await;
    let ask = |tenant: &str| {
        json!({
            "subject": {"type": "User"},
            "action": {"name": "access_management"},
            "resource": {"type": "Tenant", "id": tenant},
        })
    };
    let answer = search(&app, SEARCH_SUBJECT, &ask("plant")).await;
    assert_eq!(
        results(&answer, Some("User")),
        strings(&["ana", "emil", "plant-admin"]),
        "carl has no licence, dora is inactive: {answer}"
    );
    let answer = search(&app, SEARCH_SUBJECT, &ask("works")).await;
    assert_eq!(results(&answer, Some("User")), strings(&["wes", "works-admin"]));
    let answer = search(&app, SEARCH_SUBJECT, &ask("lab")).await;
    assert_eq!(results(&answer, Some("User")), strings(&["liv"]));

    // Revoking a licence takes a user out at once.
    ledger(&app, "DELETE", "/v1/users/ana/license", None, StatusCode::OK).await;
    let answer = search(&app, SEARCH_SUBJECT, &ask("plant")).await;
    assert_eq!(results(&answer, Some("User")), strings(&["emil", "plant-admin"]));
}

/// (c) What a user may do on a tenant: the schema's User × Tenant actions
/// (`access_management`, `add_operator`, `change_license`,
/// `create_own_operator`) that the policies allow, in name order.
#[tokio::test]
async fn an_action_search_lists_what_a_user_may_do_on_a_tenant() {
    let app = licensing_ledger().await;
    let cases: [(&str, &str, &[&str]); 8] = [
        // An admin with a free shop-floor seat and no own operator.
        (
            "plant-admin",
            "plant",
            &["access_management", "add_operator", "create_own_operator"],
        ),
        (
            "ana",
            "plant",
            &["access_management", "add_operator", "create_own_operator"],
        ),
        // emil already has his own operator.
        ("emil", "plant", &["access_management", "add_operator"]),
        // A viewer edits no workers.
        ("carl", "plant", &[]),
        ("dora", "plant", &[]),
        // Both shop-floor seats of `works` are taken.
        (
            "works-admin",
            "works",
            &["access_management", "create_own_operator"],
        ),
        ("liv", "lab", &["access_management", "create_own_operator"]),
        // Another tenant's management is not ana's.
        ("ana", "works", &[]),
    ];
    for (user, tenant, expected) in cases {
        let body = json!({
            "subject": {"type": "User", "id": user},
            "resource": {"type": "Tenant", "id": tenant},
        });
        let answer = search(&app, SEARCH_ACTION, &body).await;
        assert_eq!(
            results(&answer, None),
            strings(expected),
            "{user} on {tenant}: {answer}"
        );
        assert_eq!(answer["page"]["next_token"], json!(""), "{answer}");
    }
}

// ---------------------------------------------------------------------------
// Search == { candidates whose evaluation allows }
// ---------------------------------------------------------------------------

/// For many (action, input) pairs, the search's results equal the stored
/// entities of the searched type, across both accounts, that `POST
/// /access/v1/evaluation` allows: looking only within the input's tenant or
/// account loses nothing.
#[tokio::test]
async fn search_results_are_every_stored_entity_whose_evaluation_allows() {
    let app = licensing_ledger().await;
    let users = stored(&app, "User").await;
    let operators = stored(&app, "Operator").await;
    let tenants = stored(&app, "Tenant").await;
    let categories = stored(&app, "Category").await;
    assert_eq!(users.len(), 8, "{users:?}");
    assert_eq!(operators.len(), 8, "{operators:?}");
    assert_eq!(tenants, strings(&["lab", "plant", "works"]));
    assert_eq!(categories.len(), 7, "{categories:?}");

    // (searched side, searched type, action, input type, input ids)
    let accounts = strings(&ACCOUNTS);
    let cases: Vec<(&str, &str, &str, &str, &[String])> = vec![
        ("subject", "Operator", "record_production", "Tenant", &tenants),
        ("subject", "User", "access_management", "Tenant", &tenants),
        ("subject", "User", "add_operator", "Tenant", &tenants),
        ("subject", "Account", "add_operator", "Tenant", &tenants),
        ("subject", "User", "create_own_operator", "Tenant", &tenants),
        ("subject", "User", "change_license", "Tenant", &tenants),
        ("subject", "User", "activate_operator", "Operator", &operators),
        (
            "subject",
            "Account",
            "deactivate_operator",
            "Operator",
            &operators,
        ),
        ("subject", "User", "transfer_operator", "Operator", &operators),
        ("subject", "User", "change_role", "User", &users),
        ("subject", "Account", "assign_license", "User", &users),
        ("subject", "User", "view", "Category", &categories),
        ("subject", "User", "approve", "Category", &categories),
        ("resource", "Tenant", "access_management", "User", &users),
        ("resource", "Tenant", "record_production", "Operator", &operators),
        ("resource", "Tenant", "add_operator", "Account", &accounts),
        ("resource", "Tenant", "create_hub", "Account", &accounts),
        ("resource", "Operator", "activate_operator", "User", &users),
        ("resource", "Operator", "activate_operator", "Account", &accounts),
        ("resource", "Operator", "link_operator", "User", &users),
        ("resource", "Operator", "transfer_operator", "User", &users),
        ("resource", "User", "deactivate_user", "User", &users),
        ("resource", "User", "activate_user", "Account", &accounts),
        ("resource", "User", "assign_license", "Account", &accounts),
        ("resource", "Category", "edit", "User", &users),
    ];
    let mut non_empty = 0;
    for (side, ty, action, input_ty, inputs) in cases {
        let candidates = stored(&app, ty).await;
        for input_id in inputs.iter() {
            let input = json!({"type": input_ty, "id": input_id});
            let (path, body) = if side == "subject" {
                (
                    SEARCH_SUBJECT,
                    json!({"subject": entity(ty, None), "action": {"name": action}, "resource": input}),
                )
            } else {
                (
                    SEARCH_RESOURCE,
                    json!({"subject": input, "action": {"name": action}, "resource": entity(ty, None)}),
                )
            };
            let expected = allowed_by_evaluation(&app, side, ty, action, &input, &candidates).await;
            let found = results(&search(&app, path, &body).await, Some(ty));
            assert_eq!(found, expected, "{side} search {body}");
            // The same walked two at a time.
            assert_eq!(
                all_pages(&app, path, &body, Some(ty), 2).await,
                expected,
                "{body}"
            );
            non_empty += usize::from(!expected.is_empty());
        }
    }
    assert!(non_empty > 60, "the cases mostly find something: {non_empty}");
}

// ---------------------------------------------------------------------------
// Pages while the ledger changes
// ---------------------------------------------------------------------------

/// Pages are keyset cursors on ids: users added between pages before the
/// cursor are not shown (they would shift an offset), those after it are, and
/// every user that was there from the start appears exactly once.
#[tokio::test]
async fn pages_stay_consistent_while_users_are_added_between_them() {
    let app = TestApp::licensing();
    ledger(
        &app,
        "POST",
        "/v1/accounts",
        Some(json!({"id": "acct", "name": "Acct"})),
        StatusCode::CREATED,
    )
    .await;
    // In trial: every active user of the tenant may open management.
    ledger(
        &app,
        "POST",
        "/v1/accounts/acct/tenants",
        Some(json!({"id": "lab", "name": "Lab"})),
        StatusCode::CREATED,
    )
    .await;
    let before = ["u03", "u06", "u09", "u12", "u15", "u18", "u21"];
    for u in before {
        add_user(&app, "lab", u, "viewer").await;
    }
    let ask = json!({
        "subject": {"type": "User"},
        "action": {"name": "access_management"},
        "resource": {"type": "Tenant", "id": "lab"},
    });
    // Users added after each page: some before the cursor, some after.
    let added_after_page: [&[&str]; 4] = [&["u01", "u07", "u13"], &["u08", "u16"], &["u02", "u22"], &[]];
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let mut body = ask.clone();
        body["page"] = json!({"limit": 2, "token": token});
        let answer = search(&app, SEARCH_SUBJECT, &body).await;
        let page = results(&answer, Some("User"));
        assert!(page.len() <= 2, "{answer}");
        seen.extend(page);
        token = answer["page"]["next_token"].as_str().unwrap().to_string();
        for u in added_after_page.get(pages).copied().unwrap_or_default() {
            add_user(&app, "lab", u, "viewer").await;
        }
        pages += 1;
        if token.is_empty() {
            break;
        }
        assert!(pages < 20, "the walk ends: {seen:?}");
    }
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no duplicates: {seen:?}");
    for u in before {
        assert_eq!(seen.iter().filter(|s| *s == u).count(), 1, "{u} once: {seen:?}");
    }
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "in id order");
    // Exactly: the first page is u03 u06; u01 (before the cursor) is not
    // shown, u07 and u13 are; then u16 and u22 after the cursor.
    assert_eq!(
        seen,
        strings(&[
            "u03", "u06", "u07", "u09", "u12", "u13", "u15", "u16", "u18", "u21", "u22"
        ])
    );
    // A fresh walk sees everyone.
    let everyone = all_pages(&app, SEARCH_SUBJECT, &ask, Some("User"), 2).await;
    assert_eq!(everyone.len(), before.len() + 7, "{everyone:?}");
}

// ---------------------------------------------------------------------------
// PEP tokens
// ---------------------------------------------------------------------------

/// With `--decision-token`, every search endpoint needs one of the PEP
/// tokens, like the evaluation endpoints; the admin token is not one.
#[tokio::test]
async fn with_decision_tokens_a_search_without_a_pep_token_is_a_401() {
    let app = licensing_ledger().await.requiring_decision_tokens(&["pep-one"]);
    let searches = [
        (
            SEARCH_SUBJECT,
            json!({"subject": {"type": "User"}, "action": {"name": "access_management"}, "resource": {"type": "Tenant", "id": "plant"}}),
        ),
        (
            SEARCH_RESOURCE,
            json!({"subject": {"type": "User", "id": "ana"}, "action": {"name": "activate_operator"}, "resource": {"type": "Operator"}}),
        ),
        (
            SEARCH_ACTION,
            json!({"subject": {"type": "User", "id": "ana"}, "resource": {"type": "Tenant", "id": "plant"}}),
        ),
    ];
    for (path, body) in &searches {
        for token in [None, Some("wrong"), Some(TOKEN)] {
            let (status, answer) = pep_post(&app, path, token, body).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path} {token:?}: {answer}");
            assert_eq!(answer["error"]["code"], json!("unauthorized"), "{answer}");
            assert!(answer.get("results").is_none(), "{answer}");
        }
        let (status, answer) = pep_post(&app, path, Some("pep-one"), body).await;
        assert_eq!(status, StatusCode::OK, "{path}: {answer}");
        assert!(!answer["results"].as_array().unwrap().is_empty(), "{answer}");
    }
}

// ---------------------------------------------------------------------------
// Property: random fixture stores
// ---------------------------------------------------------------------------

/// Cases of the property (each builds an app) unless `TURNSTILE_PROPTEST_CASES`
/// says otherwise.
const DEFAULT_CASES: u32 = 24;

/// A random store of the fixture pack: users (id → role, if any) and records
/// (id → status).
#[derive(Debug, Clone)]
struct FixtureStore {
    users: Vec<(String, Option<String>)>,
    records: Vec<(String, String)>,
}

/// A random search on it.
#[derive(Debug, Clone)]
struct RandomSearch {
    /// Subject search (else resource search).
    subject: bool,
    action: &'static str,
    /// Which stored entity is the input; an unstored one when there is none
    /// or `ghost` is set (then it always carries properties).
    input: prop::sample::Index,
    ghost: bool,
    /// `role` of a user input or `status` of a record input.
    input_property: Option<String>,
    /// The same for every candidate.
    searched_property: Option<String>,
    soft: Option<bool>,
    limit: usize,
}

fn ids() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9_-]{0,5}"
}

fn fixture_store() -> impl Strategy<Value = FixtureStore> {
    let role = prop::option::of(prop::sample::select(vec!["admin", "editor", ""]).prop_map(String::from));
    let status = prop::sample::select(vec!["active", "archived", "draft"]).prop_map(String::from);
    (
        prop::collection::btree_map(ids(), role, 0..9),
        prop::collection::btree_map(ids(), status, 0..9),
    )
        .prop_map(|(users, records)| FixtureStore {
            users: users.into_iter().collect(),
            records: records.into_iter().collect(),
        })
}

fn random_search() -> impl Strategy<Value = RandomSearch> {
    let property = prop::option::of(
        prop::sample::select(vec!["admin", "editor", "active", "archived"]).prop_map(String::from),
    );
    (
        any::<bool>(),
        prop::sample::select(vec!["read", "write", "delete"]),
        any::<prop::sample::Index>(),
        prop::bool::weighted(0.15),
        property.clone(),
        property,
        prop::option::of(any::<bool>()),
        1..5usize,
    )
        .prop_map(
            |(subject, action, input, ghost, input_property, searched_property, soft, limit)| RandomSearch {
                subject,
                action,
                input,
                ghost,
                input_property,
                searched_property,
                soft,
                limit,
            },
        )
}

/// `{"role": p}` for a user, `{"status": p}` for a record.
fn properties(ty: &str, p: &str) -> Value {
    let key = if ty == "user" { "role" } else { "status" };
    let mut m = Map::new();
    m.insert(key.into(), json!(p));
    Value::Object(m)
}

/// One search's results over every page, and what evaluating every stored
/// candidate says.
async fn search_and_evaluations(
    app: &TestApp,
    store: &FixtureStore,
    s: &RandomSearch,
) -> (Vec<String>, Vec<String>) {
    let users: Vec<String> = store.users.iter().map(|(id, _)| id.clone()).collect();
    let records: Vec<String> = store.records.iter().map(|(id, _)| id.clone()).collect();
    let (searched_ty, input_ty, inputs, candidates) = if s.subject {
        ("user", "record", &records, &users)
    } else {
        ("record", "user", &users, &records)
    };
    let mut input = if s.ghost || inputs.is_empty() {
        let default = if input_ty == "user" { "editor" } else { "active" };
        json!({"type": input_ty, "id": "~ghost", "properties": properties(input_ty, s.input_property.as_deref().unwrap_or(default))})
    } else {
        json!({"type": input_ty, "id": inputs[s.input.index(inputs.len())]})
    };
    if let (false, Some(p)) = (s.ghost || inputs.is_empty(), &s.input_property) {
        input["properties"] = properties(input_ty, p);
    }
    let mut action = json!({"name": s.action});
    if let Some(soft) = s.soft {
        action["properties"] = json!({"soft": soft});
    }
    let mut searched = json!({"type": searched_ty});
    if let Some(p) = &s.searched_property {
        searched["properties"] = properties(searched_ty, p);
    }
    let (path, body) = if s.subject {
        (
            SEARCH_SUBJECT,
            json!({"subject": searched, "action": action, "resource": input}),
        )
    } else {
        (
            SEARCH_RESOURCE,
            json!({"subject": input, "action": action, "resource": searched}),
        )
    };
    let found = all_pages(app, path, &body, Some(searched_ty), s.limit).await;
    let mut allowed = Vec::new();
    for id in candidates {
        let mut candidate = searched.clone();
        candidate["id"] = json!(id);
        let eval = if s.subject {
            json!({"subject": candidate, "action": action, "resource": body["resource"]})
        } else {
            json!({"subject": body["subject"], "action": action, "resource": candidate})
        };
        let (status, answer) = pep_post(app, EVALUATION, None, &eval).await;
        assert_eq!(status, StatusCode::OK, "{eval}: {answer}");
        if answer["decision"] == json!(true) {
            allowed.push(id.clone());
        }
    }
    (found, allowed)
}

/// On random stores of the AuthZEN fixture pack, random subject and resource
/// searches, walked page by page with random limits, give exactly the stored
/// candidates whose evaluation allows, in id order, each once.
#[test]
fn on_random_fixture_stores_the_pages_of_a_search_are_the_candidates_evaluation_allows() {
    let cases = std::env::var("TURNSTILE_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_CASES);
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let strategy = (fixture_store(), prop::collection::vec(random_search(), 1..6));
    // How many searches found something, and how many results in all: the
    // property must not hold only because everything is empty.
    let found_some = std::sync::atomic::AtomicUsize::new(0);
    let mut runner = TestRunner::new(config);
    let outcome = runner.run(&strategy, |(store, searches)| {
        rt.block_on(async {
            let app = TestApp::with_pack(&repo_path("fixtures/authzen"), "2026-01-01T00:00:00Z");
            let mut entities = Vec::new();
            for (id, role) in &store.users {
                let attrs = match role {
                    Some(r) => json!({"role": r}),
                    None => json!({}),
                };
                entities.push(json!({"uid": {"type": "user", "id": id}, "attrs": attrs, "parents": []}));
            }
            for (id, status) in &store.records {
                entities.push(
                    json!({"uid": {"type": "record", "id": id}, "attrs": {"status": status}, "parents": []}),
                );
            }
            let (status, answer) = app
                .call("PUT", "/v1/entities", Some(Value::Array(entities)))
                .await;
            prop_assert_eq!(status, StatusCode::OK, "{}", answer);
            for s in &searches {
                let (found, allowed) = search_and_evaluations(&app, &store, s).await;
                prop_assert_eq!(&found, &allowed, "{:?}", s);
                let mut sorted = found.clone();
                sorted.sort();
                sorted.dedup();
                prop_assert_eq!(&found, &sorted, "in id order, each once: {:?}", s);
                if found.len() > 1 {
                    found_some.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
            Ok(())
        })
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
    let found_some = found_some.into_inner();
    assert!(
        found_some >= usize::try_from(cases / 4).unwrap(),
        "only {found_some} searches found more than one result"
    );
}
