//! `turnstile prove`: the shipped invariants hold for every request the schema
//! allows; a planted bug (the lockout `forbid` dropped) is caught with a
//! counterexample that `turnstile test` replays; two packs compare.
//!
//! Needs the cvc5 solver (`apt-get install cvc5`, or `CVC5=/path`). Without
//! it the tests skip with one line, except in CI (`CI=true`), where they fail.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::repo_path;

/// The solver, or `None` (skip) outside CI.
fn cvc5() -> Option<()> {
    match turnstile::prove::solver_path() {
        Ok(_) => Some(()),
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("cvc5 is required in CI: {e}")
        }
        Err(_) => {
            eprintln!(
                "skipping: no cvc5 solver; install it (`apt-get install cvc5`) or set CVC5 to run this test"
            );
            None
        }
    }
}

fn turnstile(args: &[&str]) -> (Output, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_turnstile"))
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, text)
}

/// A copy of the licensing pack, `edit` applied to `file`.
fn edited(file: &str, edit: impl FnOnce(String) -> String) -> tempfile::TempDir {
    let dir = crate::common::pack_copy();
    let path = dir.path().join(file);
    let before = std::fs::read_to_string(&path).unwrap();
    let after = edit(before.clone());
    assert_ne!(before, after, "the edit changed nothing");
    std::fs::write(&path, after).unwrap();
    dir
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn the_shipped_invariants_are_proved() {
    let Some(()) = cvc5() else { return };
    let policies = repo_path("policies");
    let (out, text) = turnstile(&["prove", "--policies", s(&policies)]);
    assert!(out.status.success(), "{text}");
    let shipped = std::fs::read_to_string(policies.join("invariants.yaml")).unwrap();
    let count = shipped.matches("\n  - id: ").count();
    assert!(count >= 8, "{shipped}");
    assert!(text.contains(&format!("{count} proved, 0 not proved")), "{text}");
    for id in [
        "locked_tenant_is_blocked",
        "unlicensed_user_has_no_management",
        "no_operator_without_a_free_seat",
        "user_operator_needs_no_seat",
        "nobody_changes_a_license_in_product",
        "the_pack_never_errors",
    ] {
        assert!(text.contains(&format!("ok    {id} (")), "{id}: {text}");
    }
}

#[test]
fn dropping_the_lockout_forbid_is_caught_with_a_counterexample_that_test_replays() {
    let Some(()) = cvc5() else { return };
    let broken = edited("payment.cedar", |text| {
        let start = text.find("@id(\"payment.locked\")").unwrap();
        let end = start + text[start..].find("};").unwrap() + 2;
        format!("{}{}", &text[..start], &text[end..])
    });
    let written = tempfile::tempdir().unwrap();
    let (out, text) = turnstile(&[
        "prove",
        "--policies",
        s(broken.path()),
        "--counterexamples",
        s(written.path()),
    ]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("FAIL  locked_tenant_is_blocked (never_allows)"),
        "{text}"
    );
    assert!(text.contains("counterexample:"), "{text}");
    assert!(text.contains("answers: allow (determined by"), "{text}");
    // The other invariants still hold: the failure is that one rule.
    assert!(text.contains("1 not proved"), "{text}");

    let file: PathBuf = written
        .path()
        .join("counterexample_locked_tenant_is_blocked.yaml");
    let scenario = std::fs::read_to_string(&file).unwrap();
    assert!(
        scenario.contains("cedar:") && scenario.contains("decision: false"),
        "{scenario}"
    );
    // The scenario reproduces the failure on the broken pack…
    let (out, text) = turnstile(&["test", s(&file), "--policies", s(broken.path())]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("expected deny, got allow"), "{text}");
    // …and passes on the real one, where the lockout denies it with its message.
    let (out, text) = turnstile(&["test", s(&file), "--policies", s(&repo_path("policies"))]);
    assert!(out.status.success(), "{text}");
    let pack = turnstile::policy::PolicyPack::load(&repo_path("policies")).unwrap();
    let parsed: serde_yaml_ng::Value = serde_yaml_ng::from_str(&scenario).unwrap();
    let case = serde_json::to_value(&parsed["steps"][0]["cedar"]).unwrap();
    let answer = turnstile::prove::evaluate_case(&pack, &case).unwrap();
    assert_eq!(answer["decision"], serde_json::json!(false), "{answer}");
    assert!(
        answer["context"]["reasons"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("payment.locked")),
        "{answer}"
    );
    assert!(answer["context"]["message"]["fr"].as_str().is_some(), "{answer}");
}

#[test]
fn a_longer_grace_period_is_proved_to_relax_and_a_shorter_one_to_restrict() {
    let Some(()) = cvc5() else { return };
    let baseline = repo_path("policies");
    let grace = |days: &str| {
        edited("payment.cedar", |t| {
            t.replace(
                "context.tenant.earliest_unpaid_due_at + 30 * 86400",
                &format!("context.tenant.earliest_unpaid_due_at + {days} * 86400"),
            )
        })
    };
    let longer = grace("45");
    let shorter = grace("20");
    let prove = |candidate: &Path, expect: &str| {
        turnstile(&[
            "prove",
            "--policies",
            s(candidate),
            "--against",
            s(&baseline),
            "--expect",
            expect,
        ])
    };
    let (out, text) = prove(shorter.path(), "restricts");
    assert!(out.status.success(), "20 days only restricts: {text}");
    let (out, text) = prove(longer.path(), "relaxes");
    assert!(out.status.success(), "45 days only relaxes: {text}");
    let (out, text) = prove(longer.path(), "restricts");
    assert_eq!(out.status.code(), Some(1), "45 days does not restrict: {text}");
    assert!(text.contains("this pack answers: allow"), "{text}");
    assert!(
        text.contains("the other pack answers: deny (determined by payment.locked)"),
        "{text}"
    );
    // The pack against itself: equivalent.
    let (out, text) = prove(&baseline, "equivalent");
    assert!(out.status.success(), "{text}");
}

#[test]
fn without_a_solver_prove_says_how_to_install_one() {
    let out = Command::new(env!("CARGO_BIN_EXE_turnstile"))
        .args(["prove", "--policies", s(&repo_path("policies"))])
        .env("CVC5", "/nonexistent/cvc5")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("apt-get install cvc5"), "{text}");
}

#[test]
fn a_condition_that_does_not_type_check_or_holds_for_nothing_is_a_failure() {
    let Some(()) = cvc5() else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("invariants.yaml");
    std::fs::write(
        &file,
        "invariants:\n  - id: typo\n    never_allows:\n      actions: [add_operator]\n      when: principal.licenced\n  - id: vacuous\n    never_allows:\n      actions: [add_operator]\n      when: context.now > 5 && context.now < 3\n",
    )
    .unwrap();
    let (out, text) = turnstile(&[
        "prove",
        "--policies",
        s(&repo_path("policies")),
        "--invariants",
        s(&file),
    ]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL  typo"), "{text}");
    assert!(text.contains("does not type-check for"), "{text}");
    assert!(text.contains("FAIL  vacuous"), "{text}");
    assert!(text.contains("it would hold vacuously"), "{text}");
}
