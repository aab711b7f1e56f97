//! The store's conformance suite: every test runs on each backend (SQLite,
//! and PostgreSQL when a server is reachable; see [`super::testing`]).

use super::rows::{AccountRow, is_conflict};
use super::*;

/// A fresh store on each backend, with what keeps it alive.
fn stores() -> Vec<(Store, Box<dyn std::any::Any>)> {
    let mut out: Vec<(Store, Box<dyn std::any::Any>)> = Vec::new();
    let dir = tempfile::tempdir().unwrap();
    out.push((Store::open(&dir.path().join("t.db")).unwrap(), Box::new(dir)));
    if let Some(db) = testing::TestDatabase::create() {
        let store = Store::open_at(&Location::Postgres(db.url.clone())).unwrap();
        out.push((store, Box::new(db)));
    }
    out
}

fn account(id: &str) -> AccountRow {
    AccountRow {
        id: id.into(),
        name: "A".into(),
        created_at: 1,
    }
}

#[test]
fn a_new_database_is_migrated_and_has_the_builtin_roles() {
    for (store, _keep) in stores() {
        let roles = store.read(|c| c.roles_of_tenant("x")).unwrap();
        let names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, vec!["admin", "manager", "viewer"], "{}", store.location());
        store.close();
    }
}

#[test]
fn reopening_keeps_data_and_does_not_migrate_twice() {
    for (store, keep) in stores() {
        let location = store.location().clone();
        store
            .write_blocking(|tx| tx.insert_account(&account("a")))
            .unwrap();
        assert_eq!(store.data_revision(), 1, "{location}");
        store.close();
        drop(store);
        let store = Store::open_at(&location).unwrap();
        assert!(store.read(|c| c.account("a")).unwrap().is_some(), "{location}");
        assert_eq!(store.data_revision(), 1, "{location}");
        store.close();
        drop(keep);
    }
}

#[test]
fn a_failed_write_changes_nothing() {
    for (store, _keep) in stores() {
        let result: Result<(), StoreError> = store.write_blocking(|tx| {
            tx.insert_account(&account("a"))?;
            Err(StoreError::Corrupt("refused".into()))
        });
        assert!(result.is_err());
        assert!(
            store.read(|c| c.account("a")).unwrap().is_none(),
            "{}",
            store.location()
        );
        assert_eq!(store.data_revision(), 0, "{}", store.location());
        store.close();
    }
}

#[test]
fn a_write_bumps_the_generation_of_the_scopes_it_touched() {
    for (store, _keep) in stores() {
        let before = store.generations().get("t:x");
        store
            .write_blocking(|tx| -> Result<(), StoreError> {
                tx.touch_for_test(scope::tenant("x"));
                Ok(())
            })
            .unwrap();
        assert!(store.generations().get("t:x") > before, "{}", store.location());
        assert_eq!(store.generations().get("t:y"), 0);
        store.close();
    }
}

#[test]
fn a_panicking_write_is_rolled_back_and_the_writer_keeps_going() {
    for (store, _keep) in stores() {
        let r: Result<(), StoreError> = store.write_blocking(|tx| {
            tx.insert_account(&account("p"))?;
            panic!("boom")
        });
        assert!(matches!(r, Err(StoreError::Panicked)), "{r:?}");
        assert!(store.read(|c| c.account("p")).unwrap().is_none());
        store
            .write_blocking(|tx| tx.insert_account(&account("a")))
            .unwrap();
        store.close();
    }
}

#[test]
fn duplicate_keys_are_reported_as_conflicts() {
    for (store, _keep) in stores() {
        store
            .write_blocking(|tx| tx.insert_account(&account("a")))
            .unwrap();
        let err = store
            .write_blocking(|tx| tx.insert_account(&account("a")))
            .unwrap_err();
        assert!(is_conflict(&err), "{}: {err}", store.location());
        store.close();
    }
}

#[test]
fn generic_entities_are_listed_in_pages() {
    for (store, _keep) in stores() {
        store
            .write_blocking(|tx| -> Result<(), StoreError> {
                for i in 0..5 {
                    tx.put_entity("doc", &format!("d{i}"), "{}")?;
                }
                Ok(())
            })
            .unwrap();
        let page = store.read(|c| c.entities_page(Some("doc"), None, 2)).unwrap();
        assert_eq!(page.len(), 2);
        let next = store
            .read(|c| c.entities_page(Some("doc"), Some(("doc", &page[1].1)), 10))
            .unwrap();
        assert_eq!(next.len(), 3);
        assert_eq!(next[0].1, "d2");
        assert_eq!(store.read(|c| c.entity_count()).unwrap(), 5);
        store.close();
    }
}

#[test]
fn every_committed_write_takes_the_next_revision() {
    for (store, _keep) in stores() {
        for i in 1..=3u64 {
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let (_, revision) = rt
                .block_on(store.write_with_revision(move |tx| tx.insert_account(&account(&format!("a{i}")))))
                .unwrap();
            assert_eq!(revision, i, "{}", store.location());
            assert_eq!(store.data_revision(), i);
        }
        store.close();
    }
}

#[test]
fn a_location_is_a_path_a_sqlite_url_or_a_postgres_url() {
    assert_eq!(
        Location::parse("turnstile.db").unwrap(),
        Location::Sqlite("turnstile.db".into())
    );
    assert_eq!(
        Location::parse("sqlite:./x.db").unwrap(),
        Location::Sqlite("./x.db".into())
    );
    assert_eq!(
        Location::parse("postgres://u@h/db?sslmode=disable").unwrap(),
        Location::Postgres("postgres://u@h/db?sslmode=disable".into())
    );
    assert!(Location::parse("mysql://h/db").unwrap_err().contains("mysql://"));
    assert!(Location::parse("sqlite:").is_err());
    assert!(Location::parse(" ").is_err());
}

#[test]
fn postgres_is_reached_over_tls_when_the_url_requires_it() {
    let Some(db) = testing::TestDatabase::create() else {
        return;
    };
    let url = format!("{}?sslmode=require", db.url);
    let store = Store::open_at(&Location::Postgres(url)).unwrap();
    store
        .write_blocking(|tx| tx.insert_account(&account("tls")))
        .unwrap();
    assert!(store.read(|c| c.account("tls")).unwrap().is_some());
    store.close();
}

#[test]
fn every_write_marks_the_tenant_it_changes_without_being_told() {
    use super::rows::{TenantRow, UserRow};
    for (store, _keep) in stores() {
        store
            .write_blocking(|tx| -> Result<(), StoreError> {
                tx.insert_account(&account("a"))?;
                tx.insert_tenant(&TenantRow {
                    id: "t1".into(),
                    account_id: "a".into(),
                    name: "T".into(),
                    created_at: 1,
                    trial_days: None,
                    hub: None,
                })?;
                tx.insert_user(&UserRow {
                    id: "u1".into(),
                    tenant_id: "t1".into(),
                    name: "U".into(),
                    email: "u@example.com".into(),
                    role: "viewer".into(),
                    active: true,
                    licensed_at: None,
                    created_at: 1,
                    own_operator: None,
                })
            })
            .unwrap();
        let after_insert = store.generations().get("t:t1");
        assert!(after_insert > 0, "{}", store.location());
        assert!(store.generations().get("a:a") > 0);
        // A write by the user's id alone still marks the user's tenant.
        store.write_blocking(|tx| tx.set_license("u1", Some(5))).unwrap();
        assert!(
            store.generations().get("t:t1") > after_insert,
            "{}",
            store.location()
        );
        assert_eq!(store.generations().get("t:other"), 0);
        store.close();
    }
}
