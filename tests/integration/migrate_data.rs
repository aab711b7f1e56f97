//! Moving up: a SQLite ledger copied into PostgreSQL by `migrate-data` is the
//! same ledger (every table's rows, subscription numbers kept, the same
//! answers to a sample of decisions), new subscriptions continue after the
//! copied numbers, and a copy into a database that is not empty is refused.

use turnstile::bench_data::{Shape, generate};
use turnstile::migrate::{MigrateError, migrate};
use turnstile::policy::PolicyPack;
use turnstile::store::testing::TestDatabase;
use turnstile::store::{Location, Store, StoreError};

use crate::common::repo_path;

const NOW: i64 = 1_790_000_000;

#[test]
fn a_sqlite_ledger_copied_into_postgres_is_the_same_ledger() {
    let Some(db) = TestDatabase::create() else { return };
    let dir = tempfile::tempdir().unwrap();
    let source = Store::open(&dir.path().join("source.db")).unwrap();
    let shape = Shape {
        tenants: 6,
        users: 12,
        operators: 15,
        production: 2,
    };
    generate(&source, shape, NOW).unwrap();
    source
        .write_blocking(|tx| -> Result<(), StoreError> {
            tx.put_entity(
                "doc",
                "d1",
                r#"{"uid":{"type":"doc","id":"d1"},"attrs":{},"parents":[]}"#,
            )?;
            tx.insert_deactivation("t0", "operator", "o0-3", "R9: capacity 14, 15 active", NOW)?;
            Ok(())
        })
        .unwrap();
    let target = Store::open_at(&Location::Postgres(db.url.clone())).unwrap();
    let pack = PolicyPack::load(&repo_path("policies")).unwrap();

    let report = migrate(&source, &target, &pack, 60, NOW, false).unwrap();
    assert!(report.verified(), "{report:#?}");
    let rows = |name: &str| report.tables.iter().find(|t| t.table == name).unwrap().target;
    assert_eq!(rows("tenants"), 6);
    assert_eq!(rows("users"), 72);
    assert_eq!(rows("operators"), 90);
    assert_eq!(rows("subscriptions"), 12);
    assert_eq!(rows("production_records"), 180);
    assert_eq!(rows("deactivations"), 1);
    assert_eq!(rows("entities"), 1);
    assert!(report.sampled >= 40, "{report:#?}");

    // Subscription numbers are kept, and new ones continue after them.
    let numbers = |s: &Store| {
        s.read(|c| c.subscriptions_of_tenant("t3"))
            .unwrap()
            .into_iter()
            .map(|x| x.number)
            .collect::<Vec<_>>()
    };
    assert_eq!(numbers(&source), numbers(&target));
    let mut next = target.read(|c| c.subscriptions_of_tenant("t0")).unwrap()[0].clone();
    let max = 12;
    let number = target
        .write_blocking(move |tx| tx.insert_subscription(&next_row(&mut next)))
        .unwrap();
    assert_eq!(number, max + 1);

    // A second copy into the same database is refused, and changes nothing.
    let err = migrate(&source, &target, &pack, 10, NOW, false).unwrap_err();
    assert!(matches!(err, MigrateError::TargetNotEmpty { .. }), "{err}");
    source.close();
    target.close();
}

fn next_row(s: &mut turnstile::store::rows::SubscriptionRow) -> turnstile::store::rows::SubscriptionRow {
    s.number = 0;
    s.clone()
}
