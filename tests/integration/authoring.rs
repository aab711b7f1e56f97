//! The policy author's loop: explain, coverage, hot reload, decision log, replay.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::common::TestApp;

fn policy<'a>(x: &'a Value, id: &str) -> &'a Value {
    x["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("no policy `{id}` in {x}"))
}

#[tokio::test]
async fn explain_names_the_failed_condition_for_an_unlicensed_user() {
    let app = TestApp::licensing();
    app.provisioned("ex", 1, 1).await;
    let (s, b) = app
        .post(
            "/v1/tenants/ex/users",
            json!({"id": "nolic", "name": "No Licence", "email": "n@example.com", "role": "admin"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, x) = app
        .post(
            "/v1/explain",
            json!({"subject": {"type": "User", "id": "nolic"}, "action": {"name": "access_management"}, "resource": {"type": "Tenant", "id": "ex"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{x}");
    assert_eq!(x["decision"], false);
    assert_eq!(x["reasons"], json!(["management.unlicensed"]));
    let p = policy(&x, "management.unlicensed");
    assert_eq!(p["outcome"], "determining");
    let clause = &p["clauses"][0];
    assert_eq!(
        clause["text"],
        "context.tenant.provisioned && (!principal.licensed)"
    );
    assert!(
        clause["values"]
            .as_array()
            .unwrap()
            .contains(&json!(["principal.licensed", "false"])),
        "{clause}"
    );
    assert!(
        clause["values"]
            .as_array()
            .unwrap()
            .contains(&json!(["context.tenant.provisioned", "true"])),
        "{clause}"
    );
    // The permit held but was overridden; the trial policy did not apply because the tenant has a hub.
    assert_eq!(policy(&x, "management.access")["outcome"], "satisfied");
    let trial = policy(&x, "trial.expired");
    assert_eq!(trial["outcome"], "not_applied");
    assert_eq!(trial["clauses"][0]["passed"], false);
    assert_eq!(trial["clauses"][0]["text"], "!context.tenant.provisioned");
}

#[tokio::test]
async fn explain_names_the_failed_condition_for_seat_exhaustion() {
    let app = TestApp::licensing();
    app.provisioned("full", 1, 1).await;
    let (s, b) = app
        .post(
            "/v1/tenants/full/operators",
            json!({"id": "o1", "number": 1, "name": "One", "by": "full-admin"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, x) = app
        .post(
            "/v1/explain",
            json!({"subject": {"type": "User", "id": "full-admin"}, "action": {"name": "add_operator"}, "resource": {"type": "Tenant", "id": "full"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{x}");
    assert_eq!(x["decision"], false);
    let p = policy(&x, "operators.seats_exhausted");
    assert_eq!(p["outcome"], "determining");
    assert_eq!(
        p["message"]["en"],
        "You are currently using all available licenses for Operators. Please contact support for more information."
    );
    let values = p["clauses"][0]["values"].as_array().unwrap();
    assert!(
        values.contains(&json!(["context.tenant.seats.shop_floor.free", "0"])),
        "{values:?}"
    );
    // The account's permit is out of scope for a user.
    let by_account = policy(&x, "operators.manage_by_account");
    assert_eq!(by_account["outcome"], "out_of_scope");
    assert_eq!(by_account["scope"]["text"], "principal is Account");
}

#[tokio::test]
async fn explain_of_a_default_deny_shows_why_each_permit_failed() {
    let app = TestApp::licensing();
    app.provisioned("dd", 1, 2).await;
    let (s, b) = app
        .post(
            "/v1/tenants/dd/users",
            json!({"id": "vic", "name": "Vic", "email": "v@example.com", "role": "viewer"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(
        app.call("PUT", "/v1/users/vic/license", None).await.0,
        StatusCode::OK
    );
    let (_, x) = app
        .post(
            "/v1/explain",
            json!({"subject": {"type": "User", "id": "vic"}, "action": {"name": "edit"}, "resource": {"type": "Category", "id": "reports"}}),
        )
        .await;
    assert_eq!(x["decision"], false);
    assert_eq!(x["reasons"], json!([]));
    let edit = policy(&x, "levels.edit");
    assert_eq!(edit["outcome"], "not_applied");
    assert_eq!(edit["clauses"][0]["passed"], false);
}

/// A copy of the licensing pack in a temporary directory, to edit.
use crate::common::{edit, pack_copy};

#[tokio::test]
async fn a_broken_policy_file_is_refused_with_its_errors_and_the_old_set_keeps_serving() {
    let dir = pack_copy();
    let app = TestApp::with_pack(dir.path(), "2026-01-01T00:00:00Z");
    app.provisioned("rl", 1, 1).await;
    let (_, before) = app.get("/health/ready").await;
    let (allowed, _) = app
        .evaluate(("User", "rl-admin"), "access_management", ("Tenant", "rl"))
        .await;
    assert!(allowed);

    edit(
        dir.path(),
        "management.cedar",
        "when { principal in resource };",
        "when { principal.nope };",
    );
    std::fs::write(
        dir.path().join("broken.cedar"),
        "@id(\"x\")\npermit (principal, action, resource) when { ",
    )
    .unwrap();
    let (s, body) = app.post("/v1/admin/reload", json!({})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "invalid_policies");
    let problems = body["error"]["details"]["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p["file"] == "broken.cedar" && p["line"].is_u64()),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p["file"] == "management.cedar" && p["line"].is_u64()),
        "{problems:?}"
    );

    let (status, after) = app.get("/health/ready").await;
    assert_eq!(status, StatusCode::OK, "the last good set serves: {after}");
    assert_eq!(after["policy_revision"], before["policy_revision"]);
    assert_eq!(
        before["policies_on_disk"],
        json!({"state": "serving"}),
        "{before}"
    );
    // Readiness says the files on disk are refused, since when, and why.
    let on_disk = &after["policies_on_disk"];
    assert_eq!(on_disk["state"], "refused", "{after}");
    let since = on_disk["since"].as_str().unwrap().to_string();
    assert!(since.ends_with('Z'), "{after}");
    assert!(
        on_disk["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p.as_str().unwrap().contains("broken.cedar")),
        "{after}"
    );
    let (allowed, answer) = app
        .evaluate(("User", "rl-admin"), "access_management", ("Tenant", "rl"))
        .await;
    assert!(allowed, "{answer}");
    assert_eq!(answer["context"]["policy_revision"], before["policy_revision"]);
    // Refused again: still refused since the first time.
    let (s, _) = app.post("/v1/admin/reload", json!({})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, again) = app.get("/health/ready").await;
    assert_eq!(again["policies_on_disk"]["since"], json!(since), "{again}");
    // Fixed on disk: serving again.
    std::fs::remove_file(dir.path().join("broken.cedar")).unwrap();
    edit(
        dir.path(),
        "management.cedar",
        "when { principal.nope };",
        "when { principal in resource };",
    );
    let (s, body) = app.post("/v1/admin/reload", json!({})).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, fixed) = app.get("/health/ready").await;
    assert_eq!(fixed["policies_on_disk"], json!({"state": "serving"}), "{fixed}");
}

#[tokio::test]
async fn a_pack_without_the_lockout_notice_is_refused_at_reload_and_at_start() {
    // Valid Cedar, but the ledger reads when a tenant locks from that notice:
    // serving it would show overdue tenants as never locking.
    let dir = pack_copy();
    let app = TestApp::with_pack(dir.path(), "2026-01-01T00:00:00Z");
    let (_, before) = app.get("/health/ready").await;
    edit(
        dir.path(),
        "payment.cedar",
        "@notice(\"payment_overdue\")",
        "@notice(\"overdue\")",
    );
    let (s, body) = app.post("/v1/admin/reload", json!({})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body.to_string().contains("payment_overdue"),
        "the refusal names the notice: {body}"
    );
    let (_, after) = app.get("/health/ready").await;
    assert_eq!(
        after["policy_revision"], before["policy_revision"],
        "the last good pack serves"
    );

    let db = tempfile::tempdir().unwrap();
    let mut config = turnstile::config::Config::new(db.path().join("s.db"), dir.path().to_path_buf());
    config.addr = "127.0.0.1:0".parse().unwrap();
    config.admin_token = Some("t".into());
    let started = turnstile::server::Application::build(config, Some(dir.path().to_path_buf())).await;
    let Err(e) = started else {
        panic!("a server started on a pack the ledger cannot serve")
    };
    assert!(e.to_string().contains("payment_overdue"), "{e}");
}

#[tokio::test]
async fn a_valid_change_is_swapped_in_and_carries_its_new_revision() {
    let dir = pack_copy();
    let app = TestApp::with_pack(dir.path(), "2026-01-01T00:00:00Z");
    app.provisioned("sw", 1, 1).await;
    let (_, before) = app.get("/health/ready").await;
    edit(
        dir.path(),
        "management.cedar",
        "@message_en(\"Please contact Fusion Operations for license changes\")",
        "@message_en(\"Licences are changed in your vendor account\")",
    );
    let (s, r) = app.post("/v1/admin/reload", json!({})).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["changed"], true);
    assert_ne!(r["revision"], before["policy_revision"]);
    let (_, answer) = app
        .evaluate(("User", "sw-admin"), "change_license", ("Tenant", "sw"))
        .await;
    assert_eq!(
        answer["context"]["message"]["en"],
        "Licences are changed in your vendor account"
    );
    assert_eq!(answer["context"]["policy_revision"], r["revision"]);
    // Reloading the same files changes nothing.
    let (_, again) = app.post("/v1/admin/reload", json!({})).await;
    assert_eq!(again["changed"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reloading_50_times_under_load_loses_no_request() {
    let dir = pack_copy();
    let app = std::sync::Arc::new(TestApp::with_pack(dir.path(), "2026-01-01T00:00:00Z"));
    app.provisioned("ld", 1, 1).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (app, stop) = (app.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let mut answered = 0u32;
            let mut revisions = std::collections::BTreeSet::new();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let (allowed, answer) = app
                    .evaluate(("User", "ld-admin"), "access_management", ("Tenant", "ld"))
                    .await;
                assert!(allowed, "{answer}");
                revisions.insert(answer["context"]["policy_revision"].as_str().unwrap().to_string());
                answered += 1;
            }
            (answered, revisions)
        }));
    }
    let management = dir.path().join("management.cedar");
    let original = std::fs::read_to_string(&management).unwrap();
    for i in 0..50 {
        let text = original.replace(
            "@description(\"a user may open the management interface of their own tenant\")",
            &format!("@description(\"a user may open the management interface of their own tenant (v{i})\")"),
        );
        std::fs::write(&management, text).unwrap();
        let (s, r) = app.post("/v1/admin/reload", json!({})).await;
        assert_eq!(s, StatusCode::OK, "{r}");
        assert_eq!(r["changed"], true);
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut total = 0;
    let mut seen = std::collections::BTreeSet::new();
    for w in workers {
        let (n, revs) = w.await.unwrap();
        total += n;
        seen.extend(revs);
    }
    assert!(total > 0);
    assert!(seen.len() > 1, "requests saw only {seen:?}");
}

#[tokio::test]
async fn replay_finds_exactly_the_flips_and_moved_countdowns_of_a_grace_period_cut_from_30_to_15_days() {
    let app = TestApp::licensing();
    let log_dir = tempfile::tempdir().unwrap();
    let log_path = log_dir.path().join("decisions.jsonl");
    let log = std::sync::Arc::new(
        turnstile::decision_log::DecisionLog::open(
            turnstile::decision_log::Target::File(log_path.clone()),
            1024,
            0,
        )
        .unwrap(),
    );
    app.state.engine().set_log(log.clone());
    let now = turnstile::time::parse("2026-01-01T00:00:00Z").unwrap();
    // Tenant `late-d` is exactly `d` days past an unpaid due date, d = 0..=40.
    for d in 0..=40 {
        let t = format!("late-{d}");
        let acct = format!("{t}-acct");
        assert_eq!(
            app.post("/v1/accounts", json!({"id": acct, "name": "A"})).await.0,
            StatusCode::CREATED
        );
        assert_eq!(
            app.post(
                &format!("/v1/accounts/{acct}/tenants"),
                json!({"id": t, "name": "T"})
            )
            .await
            .0,
            StatusCode::CREATED
        );
        let user = json!({"id": format!("{t}-u"), "name": "U", "email": "u@example.com", "role": "admin"});
        assert_eq!(
            app.post(&format!("/v1/tenants/{t}/users"), user).await.0,
            StatusCode::CREATED
        );
        let due = turnstile::time::format(now - d * 86_400);
        let sub = json!({"kind": "user", "quantity": 1, "starts_at": "2025-01-01T00:00:00Z", "ends_at": "2027-01-01T00:00:00Z", "payment_due_at": due});
        assert_eq!(
            app.post(&format!("/v1/tenants/{t}/subscriptions"), sub).await.0,
            StatusCode::CREATED
        );
        assert_eq!(
            app.post(&format!("/v1/accounts/{acct}/hubs"), json!({"name": "H"}))
                .await
                .0,
            StatusCode::CREATED
        );
        assert_eq!(
            app.call("PUT", &format!("/v1/users/{t}-u/license"), None).await.0,
            StatusCode::OK
        );
        let (allowed, _) = app
            .evaluate(("User", &format!("{t}-u")), "access_management", ("Tenant", &t))
            .await;
        assert_eq!(allowed, d < 30, "day {d}");
    }
    log.close();

    let candidate = pack_copy();
    edit(
        candidate.path(),
        "payment.cedar",
        "context.tenant.earliest_unpaid_due_at + 30 * 86400",
        "context.tenant.earliest_unpaid_due_at + 15 * 86400",
    );
    let entries = turnstile::decision_log::read(&log_path).unwrap();
    let baseline = turnstile::policy::PolicyPack::load(&crate::common::repo_path("policies")).unwrap();
    let candidate = turnstile::policy::PolicyPack::load(candidate.path()).unwrap();
    let candidate_revision = candidate.revision.clone();
    let (base2, cand2, entries2) = (baseline.clone(), candidate.clone(), entries.clone());
    // Replay reads the store: blocking work, off the async worker.
    let store = app.store.clone();
    let report = tokio::task::spawn_blocking(move || {
        turnstile::replay::replay(&store, baseline, candidate, &entries, "authzen")
    })
    .await
    .unwrap()
    .unwrap();
    // Not only flips: every countdown that moves is listed, with the days.
    let moved: Vec<String> = report.changed.iter().map(|f| f.resource.clone()).collect();
    let expected: Vec<String> = (0..15).map(|d| format!("Tenant::\"late-{d}\"")).collect();
    assert_eq!(moved, expected);
    for (d, f) in report.changed.iter().enumerate() {
        let days = f
            .changes
            .iter()
            .find(|c| c.path == "notices.0.days_left")
            .unwrap_or_else(|| panic!("{f:?}"));
        assert_eq!(
            (days.was.clone(), days.now.clone()),
            (json!(30 - d), json!(15 - d)),
            "{f:?}"
        );
        assert!(
            f.changes.iter().any(|c| c.path == "notices.0.message.en"),
            "{f:?}"
        );
    }
    let text = turnstile::replay::render(&report);
    assert!(text.contains("notices.0.days_left: 20 → 5"), "{text}");
    // Decisions the candidate itself answered (logged with its revision, as
    // after a hot reload) are what was answered: counted, never flips.
    let served: Vec<_> = entries2
        .into_iter()
        .map(|e| {
            e.map(|mut e| {
                e.policy_revision = candidate_revision.clone();
                e
            })
        })
        .collect();
    let store = app.store.clone();
    let again = tokio::task::spawn_blocking(move || {
        turnstile::replay::replay(&store, base2, cand2, &served, "authzen")
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!((again.served_by_candidate, again.replayed), (41, 0));
    assert!(again.flips.is_empty() && again.changed.is_empty());
    assert_eq!(report.replayed, 41);
    assert_eq!(report.drifted, 0);
    let flipped: Vec<String> = report.flips.iter().map(|f| f.resource.clone()).collect();
    let expected: Vec<String> = (15..30).map(|d| format!("Tenant::\"late-{d}\"")).collect();
    assert_eq!(flipped, expected);
    for f in &report.flips {
        assert!(f.was && !f.now, "{f:?}");
        assert_eq!(f.policies, vec!["payment.locked".to_string()]);
    }
}

/// `turnstile validate` runs every check `serve` runs: a schema whose ledger
/// type does not fit what the ledger builds fails validation, naming the
/// attribute and the type expected, as `serve` would refuse it.
#[test]
fn validate_refuses_a_schema_the_ledger_cannot_serve_naming_the_attribute() {
    let dir = pack_copy();
    edit(
        dir.path(),
        "schema.cedarschema",
        "  licensed: Bool,",
        "  licensed: Bool,\n  nickname: String,",
    );
    // The pack alone is valid Cedar...
    turnstile::policy::PolicyPack::load(dir.path()).unwrap();
    // ...but not what the ledger builds.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_turnstile"))
        .args(["validate", "--policies"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`User`") && err.contains("nickname"), "{err}");
}

/// `turnstile import` names the entity, the attribute and the line of a
/// refused entity.
#[test]
fn import_names_the_entity_the_attribute_and_the_line_it_refuses() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("entities.json");
    std::fs::write(
        &file,
        "[\n  {\"uid\": {\"type\": \"user\", \"id\": \"alice\"}, \"attrs\": {}, \"parents\": []},\n  {\"uid\": {\"type\": \"record\", \"id\": \"r1\"}, \"attrs\": {\"status\": 7}, \"parents\": []}\n]\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_turnstile"))
        .args(["import", "--db"])
        .arg(tmp.path().join("t.db"))
        .arg("--policies")
        .arg(crate::common::repo_path("fixtures/authzen"))
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("entities.json:3:"), "{err}");
    assert!(err.contains("record::\"r1\"") && err.contains("status"), "{err}");
}
