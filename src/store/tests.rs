use super::*;

fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.db")).unwrap();
    (dir, store)
}

#[test]
fn a_new_database_is_migrated_and_has_the_builtin_roles() {
    let (_dir, store) = temp_store();
    let roles = store.read(|c| ledger::roles_of_tenant(c, "x")).unwrap();
    let names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, vec!["admin", "manager", "viewer"]);
}

#[test]
fn reopening_keeps_data_and_does_not_migrate_twice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    {
        let store = Store::open(&path).unwrap();
        store
            .write_blocking(|tx| {
                ledger::insert_account(
                    tx,
                    &ledger::AccountRow {
                        id: "a".into(),
                        name: "A".into(),
                        created_at: 1,
                    },
                )
            })
            .unwrap();
        assert_eq!(store.data_revision(), 1);
        store.close();
    }
    let store = Store::open(&path).unwrap();
    assert!(store.read(|c| ledger::account(c, "a")).unwrap().is_some());
    assert_eq!(store.data_revision(), 1);
}

#[test]
fn a_failed_write_changes_nothing() {
    let (_dir, store) = temp_store();
    let result: Result<(), StoreError> = store.write_blocking(|tx| {
        ledger::insert_account(
            tx,
            &ledger::AccountRow {
                id: "a".into(),
                name: "A".into(),
                created_at: 1,
            },
        )?;
        Err(StoreError::Corrupt("refused".into()))
    });
    assert!(result.is_err());
    assert!(store.read(|c| ledger::account(c, "a")).unwrap().is_none());
    assert_eq!(store.data_revision(), 0);
}

#[test]
fn a_write_bumps_the_generation_of_the_scopes_it_touched() {
    let (_dir, store) = temp_store();
    let before = store.generations().get("t:x");
    store
        .write_blocking(|tx| -> Result<(), StoreError> {
            tx.touch(scope::tenant("x"));
            Ok(())
        })
        .unwrap();
    assert!(store.generations().get("t:x") > before);
    assert_eq!(store.generations().get("t:y"), 0);
}

#[test]
fn a_panicking_write_is_rolled_back_and_the_writer_keeps_going() {
    let (_dir, store) = temp_store();
    let r: Result<(), StoreError> = store.write_blocking(|_| panic!("boom"));
    assert!(matches!(r, Err(StoreError::Panicked)));
    store
        .write_blocking(|tx| {
            ledger::insert_account(
                tx,
                &ledger::AccountRow {
                    id: "a".into(),
                    name: "A".into(),
                    created_at: 1,
                },
            )
        })
        .unwrap();
}

#[test]
fn duplicate_keys_are_reported_as_conflicts() {
    let (_dir, store) = temp_store();
    let acc = ledger::AccountRow {
        id: "a".into(),
        name: "A".into(),
        created_at: 1,
    };
    let a = acc.clone();
    store
        .write_blocking(move |tx| ledger::insert_account(tx, &a))
        .unwrap();
    let err = store
        .write_blocking(move |tx| ledger::insert_account(tx, &acc))
        .unwrap_err();
    assert!(ledger::is_conflict(&err), "{err}");
}

#[test]
fn generic_entities_are_listed_in_pages() {
    let (_dir, store) = temp_store();
    store
        .write_blocking(|tx| -> Result<(), StoreError> {
            for i in 0..5 {
                entities::put(tx, "doc", &format!("d{i}"), "{}")?;
            }
            Ok(())
        })
        .unwrap();
    let page = store.read(|c| entities::list(c, Some("doc"), None, 2)).unwrap();
    assert_eq!(page.len(), 2);
    let next = store
        .read(|c| entities::list(c, Some("doc"), Some(("doc", &page[1].1)), 10))
        .unwrap();
    assert_eq!(next.len(), 3);
    assert_eq!(next[0].1, "d2");
}
