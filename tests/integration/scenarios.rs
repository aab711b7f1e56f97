//! Every scenario file under `fixtures/scenarios`: each case's expectation is
//! asserted first, then every response is snapshotted. The suite's backend
//! (SQLite, or PostgreSQL with `TURNSTILE_TEST_BACKEND=postgres`) holds the
//! ledger: the same snapshots hold on both.

use turnstile::policy::PolicyPack;
use turnstile::scenario;

use crate::common::repo_path;

#[test]
fn every_scenario_passes_and_matches_its_snapshot() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let pack = PolicyPack::load(&repo_path("policies")).unwrap_or_else(|e| panic!("{e}"));
    insta::glob!("../../fixtures/scenarios", "*.yaml", |path| {
        let dir = tempfile::tempdir().unwrap();
        let (store, _db) = crate::common::fresh_store(dir.path());
        let outcome = rt
            .block_on(scenario::run_file_on(path, pack.clone(), store))
            .unwrap_or_else(|e| panic!("{e}"));
        let failures: Vec<String> = outcome
            .cases
            .iter()
            .filter(|c| !c.passed())
            .map(|c| format!("{}: {}", c.name, c.failures.join("; ")))
            .collect();
        assert!(
            failures.is_empty(),
            "{}:\n{}",
            path.display(),
            failures.join("\n")
        );
        insta::assert_yaml_snapshot!(outcome.snapshot());
    });
}
