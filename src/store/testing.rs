//! Databases for tests: a fresh PostgreSQL database per test (created from
//! nothing, migrated on first open, dropped afterwards), so tests run in
//! parallel against one server, as `sqlx::test` does.
//!
//! The server is `TURNSTILE_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/test`). When it cannot be reached, a
//! test skips with one line saying so, unless `CI=true`: then it fails.

use super::postgres::connect;

/// The server tests create their databases on.
pub fn server_url() -> String {
    std::env::var("TURNSTILE_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A database that lives as long as this value.
pub struct TestDatabase {
    admin_url: String,
    name: String,
    /// The URL of the new database.
    pub url: String,
}

impl TestDatabase {
    /// A fresh, empty database; `None` (after one line on stderr) when no
    /// server is reachable outside CI.
    ///
    /// # Panics
    /// When `CI=true` and the server cannot be reached: CI must run these tests.
    pub fn create() -> Option<Self> {
        // The synchronous client runs a runtime of its own: off any async thread.
        match std::thread::spawn(Self::create_here).join() {
            Ok(db) => db,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    #[allow(clippy::panic)]
    fn create_here() -> Option<Self> {
        let admin_url = server_url();
        let mut admin = match connect(&admin_url) {
            Ok(c) => c,
            Err(e) => {
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    panic!("PostgreSQL is required in CI and `{admin_url}` cannot be reached: {e}");
                }
                eprintln!(
                    "skipping: no PostgreSQL at `{admin_url}` ({e}); set TURNSTILE_TEST_POSTGRES to a server URL to run this test"
                );
                return None;
            }
        };
        let name = format!("turnstile_t_{}", ulid::Ulid::new().to_string().to_lowercase());
        if let Err(e) = admin.batch_execute(&format!("CREATE DATABASE {name}")) {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("cannot create a test database on `{admin_url}`: {e}");
            }
            eprintln!("skipping: cannot create a test database on `{admin_url}`: {e}");
            return None;
        }
        let url = with_database(&admin_url, &name);
        Some(Self { admin_url, name, url })
    }
}

/// `url` with its database replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            if let Ok(mut admin) = connect(&admin_url) {
                let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        })
        .join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_takes_another_database() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/test?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    }
}
