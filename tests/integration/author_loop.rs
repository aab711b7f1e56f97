//! The author's test loop: whole answers recorded and compared (a moved
//! countdown fails a run even where no expectation looks), `--accept` shows
//! and records them, times relative to the scenario's `now`, one case by
//! name, JSON and JUnit reports.

use std::path::Path;

use crate::common::repo_path;

/// An overdue tenant whose users see the payment countdown; the step
/// expects only the decision.
const SCENARIO: &str = r#"description: the payment countdown, expecting only the decision
now: 2026-02-15T12:00:00Z
given:
  accounts: [{ id: acc }]
  tenants:
    - { id: plant, account: acc, created_at: now-45d, hub_at: now-36d }
  subscriptions:
    - { tenant: plant, kind: user, quantity: 2, starts_at: now-36d, ends_at: now+329d, payment_due_at: now-14d12h }
  users:
    - { id: pia, tenant: plant, role: admin, licensed_at: now-36d }
steps:
  - name: users work and see the countdown
    evaluate:
      subject: { type: User, id: pia }
      action: { name: access_management }
      resource: { type: Tenant, id: plant }
    expect: { decision: true }
  - name: a week later they still work
    at: now+7d
    evaluate:
      subject: { type: User, id: pia }
      action: { name: access_management }
      resource: { type: Tenant, id: plant }
    expect: { decision: true }
"#;

use crate::common::turnstile_cli as turnstile;

/// The licensing pack with the payment grace period set to `days`.
fn pack_with_grace(days: u32) -> tempfile::TempDir {
    crate::common::pack_edited(
        "payment.cedar",
        "context.tenant.earliest_unpaid_due_at + 30 * 86400",
        &format!("context.tenant.earliest_unpaid_due_at + {days} * 86400"),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_moved_countdown_fails_against_the_recorded_answers_until_accepted() {
    let scenarios = tempfile::tempdir().unwrap();
    let file = scenarios.path().join("countdown.yaml");
    std::fs::write(&file, SCENARIO).unwrap();
    let today = repo_path("policies");
    let longer = pack_with_grace(45);

    // No recorded answers yet: the expectations alone decide.
    let (ok, text) = turnstile(&["test", s(scenarios.path()), "--policies", s(&today)]);
    assert!(ok, "{text}");
    let (ok, text) = turnstile(&[
        "test",
        s(scenarios.path()),
        "--policies",
        s(&today),
        "--accept",
        "--yes",
    ]);
    assert!(ok, "{text}");
    assert!(
        text.contains("no recorded answers yet; 2 steps will be recorded"),
        "{text}"
    );
    let recorded = std::fs::read_to_string(scenarios.path().join("answers/countdown.yaml")).unwrap();
    assert!(recorded.contains("days_left: 16"), "{recorded}");

    // 30 → 45 days: every decision stays an allow, but the countdown moves,
    // and the run says where.
    let (ok, text) = turnstile(&["test", s(scenarios.path()), "--policies", s(longer.path())]);
    assert!(!ok, "{text}");
    assert!(
        text.contains("FAIL  countdown.yaml › users work and see the countdown"),
        "{text}"
    );
    assert!(text.contains("context.notices.0.days_left: 16 → 31"), "{text}");
    assert!(text.contains("context.notices.0.days_left: 9 → 24"), "{text}");
    assert!(text.contains("0 passed, 2 failed"), "{text}");

    // Accepting shows the differences, records them, and the run passes.
    let (ok, text) = turnstile(&[
        "test",
        s(scenarios.path()),
        "--policies",
        s(longer.path()),
        "--accept",
        "--yes",
    ]);
    assert!(ok, "{text}");
    assert!(text.contains("context.notices.0.days_left: 16 → 31"), "{text}");
    assert!(text.contains("recorded "), "{text}");
    let (ok, text) = turnstile(&["test", s(scenarios.path()), "--policies", s(longer.path())]);
    assert!(ok, "{text}");
    // Without a terminal and without --yes nothing is recorded.
    let (ok, text) = turnstile(&["test", s(scenarios.path()), "--policies", s(&today), "--accept"]);
    assert!(!ok, "{text}");
    assert!(text.contains("pass --yes"), "{text}");
}

#[test]
fn one_case_by_name_and_json_and_junit_reports() {
    let scenarios = tempfile::tempdir().unwrap();
    let file = scenarios.path().join("countdown.yaml");
    std::fs::write(&file, SCENARIO).unwrap();
    let longer = pack_with_grace(20);
    let one = format!("{}#a week later", s(&file));
    let (ok, text) = turnstile(&["test", &one, "--policies", s(longer.path())]);
    // With 20 days the tenant is locked a week later: that case fails, alone.
    assert!(!ok, "{text}");
    assert!(
        text.contains("FAIL  countdown.yaml › a week later they still work"),
        "{text}"
    );
    assert!(!text.contains("users work and see the countdown"), "{text}");
    assert!(text.contains("0 passed, 1 failed"), "{text}");

    let (ok, text) = turnstile(&[
        "test",
        s(&file),
        "--policies",
        s(longer.path()),
        "--format",
        "json",
    ]);
    assert!(!ok);
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(
        (doc["passed"].clone(), doc["failed"].clone()),
        (serde_json::json!(1), serde_json::json!(1)),
        "{doc}"
    );
    let cases = doc["files"][0]["cases"].as_array().unwrap();
    assert_eq!(cases[1]["passed"], false, "{doc}");
    assert!(
        cases[1]["failures"][0]
            .as_str()
            .unwrap()
            .contains("expected allow, got deny"),
        "{doc}"
    );

    let (ok, text) = turnstile(&[
        "test",
        s(&file),
        "--policies",
        s(longer.path()),
        "--format",
        "junit",
    ]);
    assert!(!ok);
    assert!(text.starts_with("<?xml"), "{text}");
    assert!(
        text.contains("<testsuite name=\"countdown.yaml\" tests=\"2\" failures=\"1\">"),
        "{text}"
    );
    assert!(
        text.contains("<failure message=\"expected allow, got deny"),
        "{text}"
    );
}

#[test]
fn explain_a_scenario_case_with_dates_thresholds_and_notices() {
    let case = format!(
        "{}#14.5 days",
        s(&repo_path("fixtures/scenarios/r08_late_payment.yaml"))
    );
    let (ok, text) = turnstile(&[
        "explain",
        "--scenario",
        &case,
        "--policies",
        s(&repo_path("policies")),
    ]);
    assert!(ok, "{text}");
    assert!(
        text.starts_with(
            "ALLOW  User::\"pia\" access_management Tenant::\"pay-plant\"  at 2026-02-15T12:00:00Z"
        ),
        "{text}"
    );
    // The countdown the user sees, in both languages.
    assert!(
        text.contains("notice payment_overdue: 16 days left, until 2026-03-03T00:00:00Z"),
        "{text}"
    );
    assert!(text.contains("[fr] Le paiement est en retard"), "{text}");
    // Times read as dates, and the threshold each was compared with.
    assert!(
        text.contains("context.now = 1771156800 (2026-02-15T12:00:00Z)"),
        "{text}"
    );
    assert!(
        text.contains(
            "context.tenant.earliest_unpaid_due_at + (30 * 86400) = 1772496000 (2026-03-03T00:00:00Z)"
        ),
        "{text}"
    );
    // An optional attribute the tenant does not have is absent, not an error.
    assert!(text.contains("context.tenant.trial_days = (absent)"), "{text}");
    assert!(!text.contains("<error"), "{text}");
    // A step that is not an evaluation, or no such step, is said plainly.
    let (ok, text) = turnstile(&[
        "explain",
        "--scenario",
        &format!(
            "{}#no such step",
            s(&repo_path("fixtures/scenarios/r08_late_payment.yaml"))
        ),
    ]);
    assert!(
        !ok && text.contains("has no step whose name contains `no such step`"),
        "{text}"
    );
}

#[test]
fn coverage_counts_each_condition_true_and_false() {
    let scenarios = tempfile::tempdir().unwrap();
    std::fs::write(scenarios.path().join("countdown.yaml"), SCENARIO).unwrap();
    let (_, text) = turnstile(&[
        "test",
        s(scenarios.path()),
        "--policies",
        s(&repo_path("policies")),
        "--coverage",
        "--format",
        "json",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let conditions = &doc["coverage"]["conditions"];
    let unseen: Vec<&str> = conditions["unseen"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    // The countdown ran (the first `when` of payment.locked held) but the
    // lock never applied (its second `when` was never true)...
    assert!(
        unseen
            .iter()
            .any(|u| u.starts_with("payment.locked when#2 never true")),
        "{unseen:?}"
    );
    assert!(
        !unseen
            .iter()
            .any(|u| u.starts_with("payment.locked when#1 never true")),
        "{unseen:?}"
    );
    assert!(
        !unseen
            .iter()
            .any(|u| u.starts_with("payment.locked when#2 never false")),
        "{unseen:?}"
    );
    let (seen, total) = (
        conditions["seen"].as_u64().unwrap(),
        conditions["total"].as_u64().unwrap(),
    );
    assert!(0 < seen && seen < total, "{conditions}");
    assert_eq!(total as usize, seen as usize + unseen.len());
}
