//! Every scenario file under `fixtures/scenarios`: each case's expectations
//! are asserted, then its whole answer is compared with the one recorded in
//! `fixtures/scenarios/answers/` (`turnstile test --accept` shows and records
//! them). The suite's backend (SQLite, or PostgreSQL with
//! `TURNSTILE_TEST_BACKEND=postgres`) holds the ledger: the same answers hold
//! on both.

use turnstile::policy::PolicyPack;
use turnstile::scenario;

use crate::common::repo_path;

#[test]
fn every_scenario_passes_and_gives_its_recorded_answers() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let pack = PolicyPack::load(&repo_path("policies")).unwrap_or_else(|e| panic!("{e}"));
    let files = scenario::files(&repo_path("fixtures/scenarios")).unwrap();
    assert!(files.len() >= 11, "{files:?}");
    let mut failures = Vec::new();
    for path in &files {
        // Every scenario has recorded answers: a new file is recorded once.
        assert!(
            scenario::answers_path(path).is_file(),
            "{} has no recorded answers: run `turnstile test {} --accept`",
            path.display(),
            path.display()
        );
        let dir = tempfile::tempdir().unwrap();
        let (store, _db) = crate::common::fresh_store(dir.path());
        let outcome = rt
            .block_on(scenario::run_file_on(path, pack.clone(), store))
            .unwrap_or_else(|e| panic!("{e}"));
        for c in outcome.cases.iter().filter(|c| !c.passed()) {
            failures.push(format!(
                "{} › {}:\n    {}",
                path.display(),
                c.name,
                c.failures
                    .iter()
                    .chain(&c.changed)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("\n    ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
