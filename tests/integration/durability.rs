//! Durability: the real binary is killed with SIGKILL in the middle of a burst
//! of ledger writes, restarted on the same database, and every write it
//! acknowledged is there, whole; nothing it did not acknowledge is half there.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::repo_path;
use crate::http_client::try_request;

const TOKEN: &str = "durability-token";
const ACCOUNT: &str = "dur-acct";
const TENANT: &str = "dur-plant";
const ADMIN: &str = "dur-admin";

/// Kill/restart cycles in the test.
const CYCLES: usize = 3;
/// Per burst: operators added, users created, production records (on operators
/// known to exist), all sent at once.
const OPERATORS: usize = 300;
const USERS: usize = 80;
const PRODUCTIONS: usize = 100;
/// Operators added before the first burst, so it has some to record production on.
const SEED_OPERATORS: usize = 20;
/// The server is killed once this many writes of the burst are acknowledged.
const KILL_AFTER: usize = 180;

/// How long the server may take to answer `GET /health/ready` once started.
const READY_WITHIN: Duration = Duration::from_secs(15);
/// How long one request of the burst may take before the test gives up on it.
const REQUEST_WITHIN: Duration = Duration::from_secs(10);

/// The running `turnstile serve`; killed (SIGKILL) and reaped when dropped, so a
/// failing test leaves no process behind.
struct Server {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Server {
    /// Starts the binary on `db` at a free port and waits until it is ready.
    /// `run` names the log file (`<dir>/serve-<run>.log`).
    async fn start(dir: &Path, db: &Path, run: usize) -> Server {
        let mut last_failure = String::new();
        // The port is free when chosen but may be taken before the server binds
        // it: then the server exits, and another port is tried.
        for attempt in 0..5 {
            let port = {
                let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                probe.local_addr().unwrap().port()
            };
            let addr: SocketAddr = ([127, 0, 0, 1], port).into();
            let log = dir.join(format!("serve-{run}-{attempt}.log"));
            let log_file = std::fs::File::create(&log).unwrap();
            let child = Command::new(env!("CARGO_BIN_EXE_turnstile"))
                .arg("serve")
                .arg("--addr")
                .arg(addr.to_string())
                .arg("--db")
                .arg(db)
                .arg("--policies")
                .arg(repo_path("policies"))
                .arg("--no-watch")
                .env("TURNSTILE_ADMIN_TOKEN", TOKEN)
                .env("RUST_LOG", "warn")
                .env_remove("TURNSTILE_ADDR")
                .env_remove("TURNSTILE_DB")
                .env_remove("TURNSTILE_POLICIES")
                .env_remove("TURNSTILE_PUBLIC_URL")
                .env_remove("TURNSTILE_DECISION_LOG")
                .env_remove("TURNSTILE_LOG_FORMAT")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log_file)
                .spawn()
                .unwrap();
            let mut server = Server { child, addr, log };
            match server.wait_ready().await {
                Ok(()) => return server,
                Err(failure) => last_failure = failure,
            }
            // `server` is dropped here: killed if it still runs.
        }
        panic!("the server did not start: {last_failure}");
    }

    /// Polls `GET /health/ready` until it answers 200; an error if the process
    /// exits first or the time runs out.
    async fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Err(format!("it exited with {status}:\n{}", self.log_text()));
            }
            if let Ok((200, body)) = try_request(self.addr, "GET", "/health/ready", None, None).await {
                assert_eq!(body["status"], "ready", "{body}");
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("not ready within {READY_WITHIN:?}:\n{}", self.log_text()));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL (what `Child::kill` sends on Unix), then reaps the process and
    /// checks that it died of the signal rather than exiting on its own.
    fn kill(mut self) {
        self.child.kill().unwrap();
        let status = self.child.wait().unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(
                status.signal(),
                Some(9),
                "the server was not killed by SIGKILL ({status}):\n{}",
                self.log_text()
            );
        }
        #[cfg(not(unix))]
        assert!(!status.success(), "{status}");
    }

    async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        try_request(self.addr, method, path, Some(TOKEN), body)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    async fn get(&self, path: &str) -> Value {
        let (status, body) = self.call("GET", path, None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Already reaped after `kill`: both calls then fail harmlessly.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One write of a burst, with what it should leave in the ledger.
#[derive(Debug, Clone)]
enum Write {
    Operator {
        id: String,
        number: String,
        name: String,
    },
    User {
        id: String,
        name: String,
        email: String,
    },
    Production {
        operator: String,
        at: String,
    },
}

impl Write {
    fn request(&self) -> (String, Value) {
        match self {
            Write::Operator { id, number, name } => (
                format!("/v1/tenants/{TENANT}/operators"),
                json!({"id": id, "number": number, "name": name, "by": ADMIN}),
            ),
            Write::User { id, name, email } => (
                format!("/v1/tenants/{TENANT}/users"),
                json!({"id": id, "name": name, "email": email, "role": "viewer"}),
            ),
            Write::Production { operator, at } => {
                (format!("/v1/operators/{operator}/production"), json!({"at": at}))
            }
        }
    }
}

fn operator(cycle: usize, i: usize) -> Write {
    Write::Operator {
        id: format!("c{cycle}-op-{i}"),
        number: format!("{}", cycle * 10_000 + i),
        name: format!("Operator {i} of cycle {cycle}"),
    }
}

/// Everything ever sent, and everything acknowledged, across the cycles.
#[derive(Default)]
struct Ledger {
    /// Operator id → (number, name), for every operator ever sent.
    operators_sent: HashMap<String, (String, String)>,
    operators_acked: HashSet<String>,
    /// User id → (name, email), for every user ever sent.
    users_sent: HashMap<String, (String, String)>,
    users_acked: HashSet<String>,
    /// Operator id → the production times sent for it.
    production_sent: HashMap<String, Vec<String>>,
    /// Operator id → the latest acknowledged production time.
    production_acked: HashMap<String, String>,
}

impl Ledger {
    fn sent(&mut self, w: &Write) {
        match w {
            Write::Operator { id, number, name } => {
                self.operators_sent
                    .insert(id.clone(), (number.clone(), name.clone()));
            }
            Write::User { id, name, email } => {
                self.users_sent.insert(id.clone(), (name.clone(), email.clone()));
            }
            Write::Production { operator, at } => {
                self.production_sent
                    .entry(operator.clone())
                    .or_default()
                    .push(at.clone());
            }
        }
    }

    fn acked(&mut self, w: &Write) {
        match w {
            Write::Operator { id, .. } => {
                self.operators_acked.insert(id.clone());
            }
            Write::User { id, .. } => {
                self.users_acked.insert(id.clone());
            }
            Write::Production { operator, at } => {
                let latest = self.production_acked.entry(operator.clone()).or_default();
                if at > latest {
                    *latest = at.clone();
                }
            }
        }
    }
}

/// What one burst came to.
struct Burst {
    sent: usize,
    acked: usize,
    /// Writes that got no answer at all: cut off by the kill.
    unanswered: usize,
}

/// Sends every write at once, each from its own task, and kills the server as
/// soon as `KILL_AFTER` of them are acknowledged, without waiting for the rest.
async fn burst(server: Server, writes: Vec<Write>, ledger: &mut Ledger) -> Burst {
    let addr = server.addr;
    let (report, mut reports) = tokio::sync::mpsc::unbounded_channel();
    for w in &writes {
        ledger.sent(w);
    }
    let sent = writes.len();
    for w in writes {
        let report = report.clone();
        tokio::spawn(async move {
            let (path, body) = w.request();
            let answer = tokio::time::timeout(
                REQUEST_WITHIN,
                try_request(addr, "POST", &path, Some(TOKEN), Some(&body)),
            )
            .await;
            let _ = report.send((w, answer));
        });
    }
    drop(report);

    let mut server = Some(server);
    let (mut acked, mut unanswered) = (0, 0);
    while let Some((w, answer)) = reports.recv().await {
        match answer {
            Ok(Ok((status, _))) if (200..300).contains(&status) => {
                ledger.acked(&w);
                acked += 1;
                if acked == KILL_AFTER
                    && let Some(s) = server.take()
                {
                    s.kill();
                }
            }
            // No status line: the connection was refused or cut by the kill.
            Ok(Ok((0, _))) | Ok(Err(_)) => unanswered += 1,
            Ok(Ok((status, body))) => panic!("{w:?} was refused with {status}: {body}"),
            Err(_) => panic!("{w:?} got no answer within {REQUEST_WITHIN:?}"),
        }
    }
    assert!(
        server.is_none(),
        "the burst ended with only {acked} of {sent} acknowledged"
    );
    Burst {
        sent,
        acked,
        unanswered,
    }
}

/// Checks the restarted server against everything sent and acknowledged;
/// returns how many unacknowledged writes turned out committed (present, whole).
async fn check(server: &Server, ledger: &Ledger) -> usize {
    let mut committed_unacked = 0;

    let operators = server.get(&format!("/v1/tenants/{TENANT}/operators")).await;
    let mut seen = HashSet::new();
    for o in operators.as_array().unwrap() {
        let id = o["id"].as_str().unwrap();
        assert!(seen.insert(id.to_string()), "operator {id} listed twice: {o}");
        let (number, name) = ledger
            .operators_sent
            .get(id)
            .unwrap_or_else(|| panic!("an operator nobody sent: {o}"));
        assert_eq!(o["number"], json!(number), "{o}");
        assert_eq!(o["name"], json!(name), "{o}");
        assert_eq!(o["kind"], "seat", "{o}");
        assert_eq!(o["active"], true, "{o}");
        if !ledger.operators_acked.contains(id) {
            committed_unacked += 1;
        }
        match (o["latest_production"].as_str(), ledger.production_acked.get(id)) {
            (Some(latest), acked) => {
                let sent = ledger.production_sent.get(id).cloned().unwrap_or_default();
                assert!(
                    sent.iter().any(|s| s == latest),
                    "a production time never sent: {o}"
                );
                if let Some(acked) = acked {
                    assert!(latest >= acked.as_str(), "production at {acked} lost: {o}");
                } else {
                    committed_unacked += 1;
                }
            }
            (None, Some(acked)) => panic!("production at {acked} lost: {o}"),
            (None, None) => {}
        }
    }
    let missing: Vec<_> = ledger
        .operators_acked
        .iter()
        .filter(|id| !seen.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged operators lost, e.g. {:?}",
        missing.len(),
        missing.iter().take(5).collect::<Vec<_>>()
    );

    let users = server.get(&format!("/v1/tenants/{TENANT}/users")).await;
    let mut seen = HashSet::new();
    for u in users.as_array().unwrap() {
        let id = u["id"].as_str().unwrap();
        assert!(seen.insert(id.to_string()), "user {id} listed twice: {u}");
        if id == ADMIN {
            continue;
        }
        let (name, email) = ledger
            .users_sent
            .get(id)
            .unwrap_or_else(|| panic!("a user nobody sent: {u}"));
        assert_eq!(u["name"], json!(name), "{u}");
        assert_eq!(u["email"], json!(email), "{u}");
        assert_eq!(u["role"], "viewer", "{u}");
        assert_eq!(u["tenant"], TENANT, "{u}");
        if !ledger.users_acked.contains(id) {
            committed_unacked += 1;
        }
    }
    assert!(seen.contains(ADMIN), "the admin is gone: {users}");
    let missing: Vec<_> = ledger
        .users_acked
        .iter()
        .filter(|id| !seen.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged users lost, e.g. {:?}",
        missing.len(),
        missing.iter().take(5).collect::<Vec<_>>()
    );

    let tenant = server.get(&format!("/v1/tenants/{TENANT}")).await;
    assert_eq!(tenant["id"], TENANT, "{tenant}");
    committed_unacked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_write_survives_sigkill_mid_burst() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let mut ledger = Ledger::default();

    let mut server = Server::start(dir.path(), &db, 0).await;
    for (path, body) in [
        (
            "/v1/accounts".to_string(),
            json!({"id": ACCOUNT, "name": "Durable"}),
        ),
        (
            format!("/v1/accounts/{ACCOUNT}/tenants"),
            json!({"id": TENANT, "name": "Durable plant"}),
        ),
        (
            format!("/v1/tenants/{TENANT}/users"),
            json!({"id": ADMIN, "name": "Admin", "email": "admin@example.com", "role": "admin"}),
        ),
    ] {
        let (status, answer) = server.call("POST", &path, Some(&body)).await;
        assert_eq!(status, 201, "POST {path}: {answer}");
    }
    let tenant = server.get(&format!("/v1/tenants/{TENANT}")).await;
    assert_eq!(tenant["state"], "trial", "{tenant}");
    for i in 0..SEED_OPERATORS {
        let w = operator(CYCLES, i);
        ledger.sent(&w);
        let (path, body) = w.request();
        let (status, answer) = server.call("POST", &path, Some(&body)).await;
        assert_eq!(status, 201, "POST {path}: {answer}");
        ledger.acked(&w);
    }

    for cycle in 0..CYCLES {
        // Production on operators acknowledged so far, one record each, at a
        // time of its own per cycle.
        let mut known: Vec<_> = ledger.operators_acked.iter().cloned().collect();
        known.sort();
        let at = format!("2025-06-01T00:{cycle:02}:00Z");
        let productions = known
            .into_iter()
            .take(PRODUCTIONS)
            .map(|operator| Write::Production {
                operator,
                at: at.clone(),
            });
        let users = (0..USERS).map(|i| Write::User {
            id: format!("c{cycle}-user-{i}"),
            name: format!("User {i} of cycle {cycle}"),
            email: format!("c{cycle}.user{i}@example.com"),
        });
        // Interleaved, so the kill cuts across every kind.
        let mut writes: Vec<Write> = (0..OPERATORS).map(|i| operator(cycle, i)).collect();
        for (k, w) in productions.chain(users).enumerate() {
            let at = (k * 3 + 1).min(writes.len());
            writes.insert(at, w);
        }

        let b = burst(server, writes, &mut ledger).await;
        assert!(
            b.unanswered > 0,
            "cycle {cycle}: the kill came after the whole burst ({} acknowledged of {})",
            b.acked,
            b.sent
        );

        server = Server::start(dir.path(), &db, cycle + 1).await;
        let committed_unacked = check(&server, &ledger).await;
        eprintln!(
            "cycle {cycle}: {} writes sent, {} acknowledged (all present), {} unanswered; \
             {committed_unacked} writes present without an acknowledgement, all whole",
            b.sent, b.acked, b.unanswered
        );
    }

    let (status, ready) = try_request(server.addr, "GET", "/health/ready", None, None)
        .await
        .unwrap();
    assert_eq!((status, &ready["status"]), (200, &json!("ready")), "{ready}");
    eprintln!(
        "{} operators and {} users acknowledged over {CYCLES} kills, in {:?}",
        ledger.operators_acked.len(),
        ledger.users_acked.len(),
        started.elapsed()
    );
}
