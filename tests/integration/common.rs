//! Test helpers: the real app on a fresh database per test, driven in-process
//! (`tower::ServiceExt::oneshot`), no socket.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use turnstile::decide::Engine;
use turnstile::http::AppState;
use turnstile::policy::PolicyPack;
use turnstile::store::Store;
use turnstile::time::{self, Clock};

pub const TOKEN: &str = "test-admin-token";

pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A running app with its own temporary database and a pinned clock.
pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub clock: Clock,
    pub store: Store,
    _dir: tempfile::TempDir,
    /// The PostgreSQL database of this app, when the suite runs on PostgreSQL.
    _db: Option<turnstile::store::testing::TestDatabase>,
}

/// The backend the suite runs on: SQLite, or PostgreSQL when
/// `TURNSTILE_TEST_BACKEND=postgres` (each app then gets a fresh database on
/// the server `TURNSTILE_TEST_POSTGRES` names; see `store::testing`).
pub fn on_postgres() -> bool {
    std::env::var("TURNSTILE_TEST_BACKEND").is_ok_and(|b| b == "postgres")
}

/// A fresh store on the suite's backend, and what keeps it alive.
pub fn fresh_store(dir: &Path) -> (Store, Option<turnstile::store::testing::TestDatabase>) {
    if on_postgres() {
        let db = turnstile::store::testing::TestDatabase::create()
            .expect("TURNSTILE_TEST_BACKEND=postgres needs a reachable PostgreSQL (TURNSTILE_TEST_POSTGRES)");
        // A small pool per app: many apps share one server in a test run.
        let options = turnstile::store::Options {
            pool_size: 4,
            connect_timeout: std::time::Duration::from_secs(20),
            ..turnstile::store::Options::default()
        };
        let store =
            Store::open_with(&turnstile::store::Location::Postgres(db.url.clone()), &options).unwrap();
        (store, Some(db))
    } else {
        (Store::open(&dir.join("test.db")).unwrap(), None)
    }
}

impl TestApp {
    /// The licensing pack at `2026-01-01T00:00:00Z`.
    pub fn licensing() -> Self {
        Self::with_pack(&repo_path("policies"), "2026-01-01T00:00:00Z")
    }

    pub fn with_pack(dir: &Path, now: &str) -> Self {
        let pack = PolicyPack::load(dir).unwrap_or_else(|e| panic!("{e}"));
        let tmp = tempfile::tempdir().unwrap();
        let (store, db) = fresh_store(tmp.path());
        let clock = Clock::fixed(time::parse(now).unwrap());
        let engine =
            Arc::new(Engine::new(pack, store.clone(), clock.clone()).unwrap_or_else(|e| panic!("{e}")));
        let state = AppState::new(
            engine,
            TOKEN,
            Some("https://pdp.test".into()),
            Some(dir.to_path_buf()),
        );
        Self {
            router: turnstile::app(state.clone()),
            state,
            clock,
            store,
            _dir: tmp,
            _db: db,
        }
    }

    /// The same app (same engine and database), asking PEPs for one of
    /// `tokens` on decision and search routes.
    pub fn requiring_decision_tokens(mut self, tokens: &[&str]) -> Self {
        let tokens: Vec<String> = tokens.iter().map(|t| t.to_string()).collect();
        self.state = AppState::new(
            self.state.engine().clone(),
            TOKEN,
            Some("https://pdp.test".into()),
            None,
        )
        .with_decision_tokens(&tokens);
        self.router = turnstile::app(self.state.clone());
        self
    }

    /// The same app (same engine and database), whose console runs policy
    /// edits against the scenarios in `dir`.
    pub fn with_scenarios(mut self, dir: PathBuf) -> Self {
        self.state = AppState::new(
            self.state.engine().clone(),
            TOKEN,
            Some("https://pdp.test".into()),
            None,
        )
        .with_scenarios(Some(dir));
        self.router = turnstile::app(self.state.clone());
        self
    }

    /// Moves the clock.
    pub fn at(&self, now: &str) {
        self.clock.set(time::parse(now).unwrap());
    }

    /// Sends a raw request.
    pub async fn send(&self, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        (status, headers, body)
    }

    /// Sends JSON (or nothing) with the admin token.
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {TOKEN}"));
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let req = req
            .body(
                body.map(|b| Body::from(b.to_string()))
                    .unwrap_or_else(Body::empty),
            )
            .unwrap();
        let (status, _, body) = self.send(req).await;
        (status, body)
    }

    /// Sends a raw body with the given content type and the admin token.
    pub async fn call_raw(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &str,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {TOKEN}"));
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let (status, _, body) = self.send(req.body(Body::from(body.to_string())).unwrap()).await;
        (status, body)
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call("POST", path, Some(body)).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call("GET", path, None).await
    }

    /// An AuthZEN evaluation; returns the decision and the whole answer.
    pub async fn evaluate(
        &self,
        subject: (&str, &str),
        action: &str,
        resource: (&str, &str),
    ) -> (bool, Value) {
        let (status, body) = self
            .post(
                "/access/v1/evaluation",
                json!({
                    "subject": {"type": subject.0, "id": subject.1},
                    "action": {"name": action},
                    "resource": {"type": resource.0, "id": resource.1},
                }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        (body["decision"].as_bool().expect("a decision"), body)
    }

    /// An account `acct` with one provisioned tenant `tenant` whose subscriptions
    /// give `shop_floor` and `user` seats (none when 0), and an admin `admin`
    /// holding a licence when there are user seats.
    pub async fn provisioned(&self, tenant: &str, shop_floor: i64, user: i64) {
        let acct = format!("{tenant}-acct");
        assert_eq!(
            self.post("/v1/accounts", json!({"id": acct, "name": "Acct"}))
                .await
                .0,
            StatusCode::CREATED
        );
        let (s, b) = self
            .post(
                &format!("/v1/accounts/{acct}/tenants"),
                json!({"id": tenant, "name": "Tenant"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        let (s, b) = self
            .post(
                &format!("/v1/tenants/{tenant}/users"),
                json!({"id": format!("{tenant}-admin"), "name": "Admin", "email": "admin@example.com", "role": "admin"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        for (kind, q) in [("shop_floor", shop_floor), ("user", user)] {
            if q > 0 {
                let (s, b) = self
                    .post(
                        &format!("/v1/tenants/{tenant}/subscriptions"),
                        json!({"kind": kind, "quantity": q, "starts_at": "2025-01-01T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z"}),
                    )
                    .await;
                assert_eq!(s, StatusCode::CREATED, "{b}");
            }
        }
        let (s, b) = self
            .post(&format!("/v1/accounts/{acct}/hubs"), json!({"name": "Hub"}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        if user > 0 {
            let (s, b) = self
                .call("PUT", &format!("/v1/users/{tenant}-admin/license"), None)
                .await;
            assert_eq!(s, StatusCode::OK, "{b}");
        }
    }
}

/// The real server over `engine` on a free loopback port, until stopped.
pub struct RunningServer {
    pub addr: std::net::SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Binds port 0 with `token` as the admin token; the policy directory is
    /// not watched.
    pub async fn start(engine: Arc<Engine>, db: &Path, token: &str) -> Self {
        Self::start_with(engine, db, token, |_| {}).await
    }

    /// [`RunningServer::start`] with the configuration changed by `adjust`.
    pub async fn start_with(
        engine: Arc<Engine>,
        db: &Path,
        token: &str,
        adjust: impl FnOnce(&mut turnstile::config::Config),
    ) -> Self {
        let mut config = turnstile::config::Config::new(db.to_path_buf(), repo_path("policies"));
        config.addr = "127.0.0.1:0".parse().unwrap();
        config.admin_token = Some(token.into());
        config.watch = false;
        adjust(&mut config);
        let app = turnstile::server::Application::with_engine(config, engine, None)
            .await
            .unwrap();
        let addr = app.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        Self { addr, stop, server }
    }

    /// Shuts down gracefully and waits until the server has stopped.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.server.await.unwrap().unwrap();
    }
}

/// A copy of the licensing pack in a temporary directory.
pub fn pack_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(repo_path("policies")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    dir
}

/// Replaces `from` (which must be there) with `to` in `file` of `dir`.
pub fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "`{from}` not in {file}");
    std::fs::write(&path, text.replace(from, to)).unwrap();
}

/// A copy of the licensing pack with one edit.
pub fn pack_edited(file: &str, from: &str, to: &str) -> tempfile::TempDir {
    let dir = pack_copy();
    edit(dir.path(), file, from, to);
    dir
}

/// Runs the `turnstile` binary: whether it succeeded, and stdout then stderr.
pub fn turnstile_cli(args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_turnstile"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}
