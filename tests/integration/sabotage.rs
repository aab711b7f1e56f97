//! The suite notices what it should: a policy pack with the shop-floor seat
//! rule deleted makes the seat scenarios fail, naming the rule; a scenario
//! step that cannot fail, or that names a method the API does not have, is
//! refused with its file and step; a store that fails answers a clean 503.

use turnstile::policy::PolicyPack;
use turnstile::scenario;

use crate::common::repo_path;

/// A copy of the licensing pack with `remove` deleted from `file`.
fn sabotaged(file: &str, remove: &str) -> tempfile::TempDir {
    crate::common::pack_edited(file, remove, "")
}

#[tokio::test]
async fn dropping_the_seats_forbid_makes_the_seat_scenarios_fail_naming_the_rule() {
    let text = std::fs::read_to_string(repo_path("policies/operators.cedar")).unwrap();
    let start = text.find("@id(\"operators.seats_exhausted\")").unwrap();
    let end = start + text[start..].find("};").unwrap() + 2;
    let dir = sabotaged("operators.cedar", &text[start..end]);
    let pack = PolicyPack::load(dir.path()).expect("the pack without the rule is still valid Cedar");
    let outcome = scenario::run_file(&repo_path("fixtures/scenarios/r05_shop_floor_seats.yaml"), pack)
        .await
        .unwrap();
    let failures: Vec<String> = outcome.cases.iter().flat_map(|c| c.failures.clone()).collect();
    assert!(
        !failures.is_empty(),
        "the seat scenarios pass without the seat rule"
    );
    assert!(
        failures
            .iter()
            .any(|f| f.contains("operators.seats_exhausted") || f.contains("seats_exhausted")),
        "no failure names the missing rule: {failures:#?}"
    );
}

fn scenario_file(dir: &std::path::Path, steps: &str) -> std::path::PathBuf {
    let path = dir.join("s.yaml");
    std::fs::write(
        &path,
        format!("description: sabotage\nnow: 2026-01-01T00:00:00Z\ngiven: {{}}\nsteps:\n{steps}"),
    )
    .unwrap();
    path
}

#[test]
fn a_step_that_expects_no_decision_or_names_no_real_method_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (steps, says) in [
        (
            "  - name: asks and expects nothing\n    evaluate: {subject: {type: User, id: a}, action: {name: view}, resource: {type: Category, id: reports}}\n",
            "expects no `decision`",
        ),
        (
            "  - name: a typo\n    http: {method: GTE, path: /v1/accounts/a}\n    expect: {status: 404}\n",
            "`GTE` is not an HTTP method",
        ),
        (
            "  - name: calls and expects nothing\n    http: {method: GET, path: /v1/accounts/a}\n",
            "expects no `status`",
        ),
    ] {
        let path = scenario_file(dir.path(), steps);
        let err = scenario::read(&path).unwrap_err().to_string();
        assert!(
            err.contains("s.yaml") && err.contains("step 1") && err.contains(says),
            "{err}"
        );
    }
}

/// `turnstile validate` on a copy of the pack with `file` edited.
fn validate_edited(file: &str, from: &str, to: &str) -> (bool, String) {
    let dir = crate::common::pack_edited(file, from, to);
    crate::common::turnstile_cli(&["validate", "--policies", dir.path().to_str().unwrap()])
}

#[test]
fn messages_cannot_be_lost_silently() {
    // A misspelt annotation: the message would be gone.
    let (ok, text) = validate_edited(
        "operators.cedar",
        "@message_fr(\"Vous utilisez",
        "@mesage_fr(\"Vous utilisez",
    );
    assert!(!ok, "{text}");
    assert!(
        text.contains("operators.cedar:") && text.contains("unknown annotation `@mesage_fr`"),
        "{text}"
    );
    assert!(text.contains("did you mean `@message_fr`?"), "{text}");
    // A deleted language.
    let (ok, text) = validate_edited(
        "licenses.cedar",
        "@message_fr(\"Toutes les licences utilisateur sont utilisées. Veuillez en acheter pour en attribuer une.\")\n",
        "",
    );
    assert!(!ok, "{text}");
    assert!(
        text.contains("policy `licenses.exhausted` has no message in fr"),
        "{text}"
    );
    // A renamed notice the ledger reads the trial's end from.
    let (ok, text) = validate_edited("trial.cedar", "@notice(\"trial\")", "@notice(\"trial_end\")");
    assert!(!ok, "{text}");
    assert!(text.contains("no policy declares `@notice(\"trial\")`"), "{text}");
    // A shared message removed from the catalogue.
    let (ok, text) = validate_edited("messages.yaml", "no_license:", "no_licence:");
    assert!(!ok, "{text}");
    assert!(
        text.contains("has `@code(\"no_license\")` but no message"),
        "{text}"
    );
    // The words of R9's reasons, which the ledger takes from the catalogue.
    let (ok, text) = validate_edited("messages.yaml", "reconciliation_idle:", "reconciliation_idel:");
    assert!(!ok, "{text}");
    assert!(text.contains("has no `reconciliation_idle`"), "{text}");
}

#[tokio::test]
async fn when_the_store_fails_a_write_is_a_clean_503_with_a_message_and_nothing_panics() {
    let app = crate::common::TestApp::licensing();
    app.provisioned("sb", 2, 1).await;
    // The database goes away under the running service.
    app.store.close();
    let (status, body) = app
        .post(
            "/v1/tenants/sb/operators",
            serde_json::json!({"id": "sb-op", "number": "1", "name": "Ann"}),
        )
        .await;
    assert_eq!(status, axum::http::StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    let message = body["error"]["message"]["en"].as_str().unwrap_or_default();
    assert!(
        message.contains("nothing was changed"),
        "a message a caller can act on: {body}"
    );
    let (status, ready) = app.get("/health/ready").await;
    assert_eq!(status, axum::http::StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    // The console says so too, in a page, not an opaque 500.
    let mut b = crate::console::Browser::new(&app);
    b.login().await;
    let csrf = b.get("/console/tenants/sb").await.csrf();
    let page = b
        .post(
            "/console/tenants/sb/operators",
            &[
                ("csrf", &csrf),
                ("id", "sb-op2"),
                ("number", "2"),
                ("name", "Bob"),
            ],
        )
        .await;
    assert_ne!(
        page.status,
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        page.html
    );
    assert!(page.html.contains("the database is unavailable"), "{}", page.html);
}

#[tokio::test]
async fn a_role_whose_stored_levels_cannot_be_read_never_yields_an_allow() {
    use serde_json::json;
    let app = crate::common::TestApp::licensing();
    app.provisioned("cr", 1, 3).await;
    let (s, b) = app
        .post(
            "/v1/tenants/cr/roles",
            json!({"name": "planner", "levels": {"reports": "view"}}),
        )
        .await;
    assert_eq!(s.as_u16(), 201, "{b}");
    for (id, role) in [("cr-ok", "planner"), ("cr-bad", "planner")] {
        let (s, b) = app
            .post(
                "/v1/tenants/cr/users",
                json!({"id": id, "name": "P", "email": "p@example.com", "role": role}),
            )
            .await;
        assert_eq!(s.as_u16(), 201, "{b}");
    }
    for user in ["cr-ok", "cr-bad"] {
        let (s, b) = app.call("PUT", &format!("/v1/users/{user}/license"), None).await;
        assert_eq!(s.as_u16(), 200, "{b}");
    }
    let (allowed, answer) = app
        .evaluate(("User", "cr-ok"), "view", ("Category", "reports"))
        .await;
    assert!(allowed, "the role reads as stored: {answer}");

    // The stored levels are damaged behind the service's back (no decision
    // has cached the second user yet).
    let corrupt = "UPDATE roles SET levels = '{not json' WHERE name = 'planner'";
    match app.store.location() {
        turnstile::store::Location::Sqlite(path) => {
            rusqlite::Connection::open(path)
                .unwrap()
                .execute(corrupt, [])
                .unwrap();
        }
        turnstile::store::Location::Postgres(url) => {
            let url = url.clone();
            tokio::task::spawn_blocking(move || {
                let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
                c.execute(corrupt, &[]).unwrap();
            })
            .await
            .unwrap();
        }
    }
    let (status, answer) = app
        .post(
            "/access/v1/evaluation",
            json!({"subject": {"type": "User", "id": "cr-bad"}, "action": {"name": "view"}, "resource": {"type": "Category", "id": "reports"}}),
        )
        .await;
    // Not a quiet deny from a role read as having no levels (what a forbid
    // on levels would have let through): an error, reported, and no allow.
    assert_eq!(status.as_u16(), 500, "unreadable levels gave {status} {answer}");
    assert_eq!(answer["error"]["code"], "internal", "{answer}");
    assert_ne!(answer["decision"], json!(true), "{answer}");
}
