//! Scale-out: several nodes over one PostgreSQL database, measured beside the
//! embedded SQLite store. Each section prints one table; run the bench twice
//! or more and report ranges (the VM is noisy).
//!
//! `cargo bench --bench scaleout`. Sections (`TURNSTILE_BENCH_MODES`, default
//! `inprocess,visibility,claims,join`):
//! - `inprocess`: in-process decision latency on the same generated ledger
//!   (`TURNSTILE_BENCH_SIZE`, default 10^5 entities) in SQLite and in
//!   PostgreSQL (copied with `turnstile migrate-data`): a warm working set of
//!   2,000 requests whose entities are cached (cache hit), and no entity cache
//!   at all (every request reads its entities: cache miss), as
//!   `benches/latency.rs` measures them. Both backends must give the same
//!   answers.
//! - `visibility`: three real `turnstile serve` nodes over one fresh database;
//!   node A assigns and revokes one user's licence in turn, node C is asked the
//!   user's decision until it flips (`TURNSTILE_BENCH_SAMPLES`, default 300
//!   writes). Then the same writes with node C asked once with
//!   `Turnstile-Min-Revision` (read-your-writes): the first answer must be the
//!   new one.
//! - `claims`: operator adds from 64 concurrent callers
//!   (`TURNSTILE_BENCH_CALLERS`), spread over one node or three: one tenant
//!   with fewer seats than claims (exactly the seats must succeed), and many
//!   tenants.
//! - `join`: a cold node joining a ledger of 10^6 entities
//!   (`TURNSTILE_BENCH_JOIN_SIZE`; or an already filled database named by
//!   `TURNSTILE_BENCH_JOIN_DB`): spawn to `/health/ready` 200, then its
//!   resident memory after a warm-up of decisions over the whole ledger,
//!   beside a node serving the same ledger from SQLite.
//!
//! `TURNSTILE_BENCH_MODES=prepare` only generates the ledgers and their
//! PostgreSQL copies and keeps them, for runs that follow with
//! `TURNSTILE_BENCH_KEEP=1`.
//!
//! The PostgreSQL server is `TURNSTILE_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/test`); without one the bench prints one
//! line and stops. The databases it creates (`bench_scaleout_…`) are dropped at
//! the end, unless `TURNSTILE_BENCH_KEEP=1`: then the generated ledgers stay
//! for the next run (which reuses them) and only the nodes' database goes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

/// The allocator the `turnstile` binary serves with, so the numbers are its own.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use postgres::{Client, NoTls};
use serde_json::{Value, json};
use turnstile::decide::Engine;
use turnstile::policy::PolicyPack;
use turnstile::store::testing::{server_url, with_database};
use turnstile::store::{Location, Store};
use turnstile::time::Clock;

const TOKEN: &str = "bench-token";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn policies() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("policies")
}

// ------------------------------------------------------------------ databases

/// A database of the bench on the PostgreSQL server, dropped with this value
/// unless kept.
struct PgDatabase {
    admin_url: String,
    name: String,
    url: String,
    keep: bool,
}

impl PgDatabase {
    /// `name`, created empty (dropped first if it exists).
    fn fresh(name: &str) -> Self {
        let admin_url = server_url();
        let mut admin = Client::connect(&admin_url, NoTls).unwrap();
        // Two statements: neither may run inside a transaction block.
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .unwrap();
        admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        PgDatabase {
            url: with_database(&admin_url, name),
            admin_url,
            name: name.to_string(),
            keep: false,
        }
    }

    /// `name` holding a copy of the SQLite ledger at `sqlite`: reused when a
    /// previous run finished copying it (marked by a comment on the database).
    fn ledger(name: &str, sqlite: &Path) -> Self {
        let admin_url = server_url();
        let keep = std::env::var("TURNSTILE_BENCH_KEEP").is_ok_and(|v| v == "1");
        let mut admin = Client::connect(&admin_url, NoTls).unwrap();
        let done: Option<String> = admin
            .query_opt(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
                &[&name],
            )
            .unwrap()
            .and_then(|r| r.get(0));
        if done.as_deref() == Some("turnstile bench ledger: complete") {
            eprintln!("reusing the PostgreSQL ledger `{name}`");
            return PgDatabase {
                url: with_database(&admin_url, name),
                admin_url,
                name: name.to_string(),
                keep,
            };
        }
        let mut db = PgDatabase::fresh(name);
        db.keep = keep;
        let started = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_turnstile"))
            .args(["migrate-data", "--sample", "50", "--from"])
            .arg(format!("sqlite:{}", sqlite.display()))
            .args(["--to", &db.url, "--policies"])
            .arg(policies())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "migrate-data failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        admin
            .batch_execute(&format!(
                "COMMENT ON DATABASE {name} IS 'turnstile bench ledger: complete'"
            ))
            .unwrap();
        eprintln!(
            "copied {} into PostgreSQL `{name}` with migrate-data in {:.1}s",
            sqlite.display(),
            started.elapsed().as_secs_f64()
        );
        db
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        if let Ok(mut admin) = Client::connect(&self.admin_url, NoTls) {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}

/// Whether the PostgreSQL server answers.
fn postgres_reachable() -> Result<(), String> {
    Client::connect(&server_url(), NoTls)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

// ------------------------------------------------------------------ HTTP

/// A keep-alive HTTP/1.1 connection to one node (blocking; one request at a time).
struct Http {
    addr: SocketAddr,
    conn: Option<BufReader<TcpStream>>,
}

/// One answer: status, `Turnstile-Revision` if any, body.
struct Answer {
    status: u16,
    revision: Option<u64>,
    body: Value,
}

impl Http {
    fn new(addr: SocketAddr) -> Self {
        Http { addr, conn: None }
    }

    fn call(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&Value>) -> Answer {
        // One retry on a fresh connection, for a keep-alive connection the
        // server has closed (nothing was answered on it).
        match self.try_call(method, path, headers, body) {
            Ok(a) => a,
            Err(_) => {
                self.conn = None;
                self.try_call(method, path, headers, body)
                    .unwrap_or_else(|e| panic!("{method} {path} on {}: {e}", self.addr))
            }
        }
    }

    fn try_call(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> std::io::Result<Answer> {
        if self.conn.is_none() {
            let s = TcpStream::connect(self.addr)?;
            s.set_nodelay(true)?;
            s.set_read_timeout(Some(Duration::from_secs(30)))?;
            self.conn = Some(BufReader::new(s));
        }
        let conn = self.conn.as_mut().unwrap();
        let text = body.map(Value::to_string).unwrap_or_default();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nAuthorization: Bearer {TOKEN}\r\n",
            self.addr,
            text.len()
        );
        if body.is_some() {
            head.push_str("Content-Type: application/json\r\n");
        }
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        head.push_str(&text);
        conn.get_mut().write_all(head.as_bytes())?;
        let mut line = String::new();
        if conn.read_line(&mut line)? == 0 {
            return Err(std::io::Error::other("closed"));
        }
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let (mut length, mut chunked, mut revision, mut close) = (0usize, false, None, false);
        loop {
            line.clear();
            conn.read_line(&mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
                match k.as_str() {
                    "content-length" => length = v.parse().unwrap_or(0),
                    "transfer-encoding" => chunked = v.eq_ignore_ascii_case("chunked"),
                    "turnstile-revision" => revision = v.parse().ok(),
                    "connection" => close = v.eq_ignore_ascii_case("close"),
                    _ => {}
                }
            }
        }
        let mut raw = Vec::new();
        if chunked {
            loop {
                line.clear();
                conn.read_line(&mut line)?;
                let size = usize::from_str_radix(line.trim(), 16).unwrap_or(0);
                let mut chunk = vec![0; size + 2];
                conn.read_exact(&mut chunk)?;
                if size == 0 {
                    break;
                }
                raw.extend_from_slice(&chunk[..size]);
            }
        } else {
            raw.resize(length, 0);
            conn.read_exact(&mut raw)?;
        }
        if close {
            self.conn = None;
        }
        Ok(Answer {
            status,
            revision,
            body: serde_json::from_slice(&raw).unwrap_or(Value::Null),
        })
    }

    fn ok(&mut self, method: &str, path: &str, body: Value) -> Answer {
        let a = self.call(method, path, &[], Some(&body));
        assert!(
            (200..300).contains(&a.status),
            "{method} {path}: {} {}",
            a.status,
            a.body
        );
        a
    }
}

// ------------------------------------------------------------------ nodes

/// One `turnstile serve` process (killed when dropped).
struct Node {
    addr: SocketAddr,
    child: Child,
    /// Spawn to `/health/ready` 200.
    ready_after: Duration,
}

impl Node {
    /// Starts a node on a free port over `db` and waits for `/health/ready` 200.
    fn start(name: &str, db: &str, extra: &[&str]) -> Node {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let logs = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scaleout-logs");
        std::fs::create_dir_all(&logs).unwrap();
        let log = std::fs::File::create(logs.join(format!("{name}.log"))).unwrap();
        let started = Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_turnstile"))
            .args([
                "serve",
                "--addr",
                &addr.to_string(),
                "--no-watch",
                "--log-format",
                "json",
            ])
            .args(["--db", db, "--node-id", name])
            .arg("--policies")
            .arg(policies())
            .args(extra)
            .env("TURNSTILE_ADMIN_TOKEN", TOKEN)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let deadline = started + Duration::from_secs(60);
        loop {
            if let Ok(mut s) = TcpStream::connect(addr) {
                let _ = s.write_all(b"GET /health/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                let mut head = [0u8; 12];
                if s.read_exact(&mut head).is_ok() && &head[9..12] == b"200" {
                    break;
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "node {name} exited with {status}; see {}",
                    logs.join(format!("{name}.log")).display()
                );
            }
            assert!(Instant::now() < deadline, "node {name} not ready in 60 s");
            std::thread::sleep(Duration::from_millis(2));
        }
        Node {
            addr,
            child,
            ready_after: started.elapsed(),
        }
    }

    /// Resident memory now and at peak, MiB.
    fn rss_mib(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
                .map_or(0.0, |kb| kb / 1024.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn evaluation(user: &str, tenant: &str) -> Value {
    json!({
        "subject": {"type": "User", "id": user},
        "action": {"name": "access_management"},
        "resource": {"type": "Tenant", "id": tenant},
    })
}

/// A tenant with `shop_floor` and `user` seats and a hub, made through `http`.
fn provision(http: &mut Http, tenant: &str, shop_floor: i64, user: i64) {
    let acct = format!("{tenant}-acct");
    http.ok("POST", "/v1/accounts", json!({"id": acct, "name": "Acct"}));
    http.ok(
        "POST",
        &format!("/v1/accounts/{acct}/tenants"),
        json!({"id": tenant, "name": "Tenant"}),
    );
    for (kind, quantity) in [("shop_floor", shop_floor), ("user", user)] {
        if quantity > 0 {
            http.ok(
                "POST",
                &format!("/v1/tenants/{tenant}/subscriptions"),
                json!({"kind": kind, "quantity": quantity, "starts_at": "2025-01-01T00:00:00Z", "ends_at": "2035-01-01T00:00:00Z"}),
            );
        }
    }
    http.ok(
        "POST",
        &format!("/v1/accounts/{acct}/hubs"),
        json!({"name": "Hub"}),
    );
}

// ------------------------------------------------------------------ 1. in process

fn inprocess() {
    let size = env_usize("TURNSTILE_BENCH_SIZE", 100_000);
    let samples = env_usize("TURNSTILE_BENCH_INPROCESS_SAMPLES", 100_000);
    let (sqlite, shape) = common::database(size);
    let pg = PgDatabase::ledger(&format!("bench_scaleout_{}t_v1", shape.tenants), &sqlite);
    println!(
        "\n### In-process decisions, {} entities, same ledger on both backends\n",
        shape.entities()
    );
    println!(
        "| backend | workload | p50 µs | p90 µs | p99 µs | p99.9 µs | mean µs | decisions/s (1 thread) | allowed |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut allowed_by: HashMap<&str, Vec<usize>> = HashMap::new();
    for (mode, cache, distinct, n) in [
        (
            "cache hit (warm working set of 2,000)",
            turnstile::slice::DEFAULT_CACHE_CAPACITY,
            2_000,
            samples,
        ),
        ("cache miss (no entity cache)", 0, samples / 5, samples / 10),
    ] {
        for location in [
            Location::Sqlite(sqlite.clone()),
            Location::Postgres(pg.url.clone()),
        ] {
            let pack = PolicyPack::load(&policies()).unwrap();
            let store = Store::open_at(&location).unwrap();
            let engine = Engine::with_cache(pack, store.clone(), Clock::fixed(common::now()), cache).unwrap();
            let work = common::workload(shape, distinct, 0x5eed + size as u64);
            for q in work.iter().take(distinct.min(20_000)) {
                engine.decide(q).unwrap();
            }
            let mut lat = Vec::with_capacity(n);
            let mut allowed = 0usize;
            let started = Instant::now();
            for i in 0..n {
                let q = &work[i % work.len()];
                let t = Instant::now();
                let d = engine.decide(q).unwrap();
                lat.push(t.elapsed());
                allowed += usize::from(d.allowed);
            }
            let total = started.elapsed();
            lat.sort();
            println!(
                "| {} | {mode} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.0} | {allowed} / {n} |",
                location.backend(),
                us(percentile(&lat, 0.50)),
                us(percentile(&lat, 0.90)),
                us(percentile(&lat, 0.99)),
                us(percentile(&lat, 0.999)),
                us(total / n as u32),
                n as f64 / total.as_secs_f64(),
            );
            allowed_by.entry(mode).or_default().push(allowed);
            drop(engine);
            store.close();
        }
    }
    for (mode, counts) in &allowed_by {
        assert!(
            counts.windows(2).all(|w| w[0] == w[1]),
            "{mode}: the backends disagree: {counts:?}"
        );
    }
}

// ------------------------------------------------------------------ 3. visibility

fn visibility(nodes: &[Node]) {
    let samples = env_usize("TURNSTILE_BENCH_SAMPLES", 300);
    let mut a = Http::new(nodes[0].addr);
    let mut c = Http::new(nodes[2].addr);
    provision(&mut a, "vis", 0, 2);
    a.ok(
        "POST",
        "/v1/tenants/vis/users",
        json!({"id": "ivy", "name": "Ivy", "email": "ivy@example.com", "role": "viewer"}),
    );
    let ask = evaluation("ivy", "vis");
    // Node C decides (and caches) the deny before the first write.
    let first = c.call("POST", "/access/v1/evaluation", &[], Some(&ask));
    assert_eq!(first.body["decision"], json!(false), "{}", first.body);

    let mut rng = common::Rng::new(0xfeed);
    let (mut from_sent, mut from_ack, mut writes, mut polls) = (Vec::new(), Vec::new(), Vec::new(), 0usize);
    let (mut timeouts, mut under_reported) = (0, 0);
    let mut licensed = false;
    for _ in 0..samples {
        // A pause between writes, so each starts from a quiet system.
        std::thread::sleep(Duration::from_millis(5 + rng.below(10) as u64));
        let method = if licensed { "DELETE" } else { "PUT" };
        let body = json!({});
        let body = (method == "PUT").then_some(&body);
        let sent = Instant::now();
        let w = a.call(method, "/v1/users/ivy/license", &[], body);
        let acked = Instant::now();
        assert_eq!(w.status, 200, "{}", w.body);
        let revision = w.body["data_revision"]
            .as_u64()
            .expect("a write reports its revision");
        assert_eq!(w.revision, Some(revision), "header and body agree");
        licensed = !licensed;
        writes.push(acked - sent);
        loop {
            let d = c.call("POST", "/access/v1/evaluation", &[], Some(&ask));
            polls += 1;
            if d.body["decision"] == json!(licensed) {
                let flipped = Instant::now();
                let seen = d.body["context"]["data_revision"].as_u64().unwrap_or(0);
                // The reported revision is a lower bound: node C may read the
                // new rows before its listener has advanced its revision.
                if seen < revision {
                    under_reported += 1;
                }
                from_sent.push(flipped - sent);
                from_ack.push(flipped.saturating_duration_since(acked));
                break;
            }
            if sent.elapsed() > Duration::from_secs(2) {
                timeouts += 1;
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    // Read-your-writes: the same writes, node C asked once with the revision.
    let mut ryw = Vec::new();
    for _ in 0..samples / 2 {
        std::thread::sleep(Duration::from_millis(5 + rng.below(10) as u64));
        let method = if licensed { "DELETE" } else { "PUT" };
        let body = json!({});
        let w = a.call(
            method,
            "/v1/users/ivy/license",
            &[],
            (method == "PUT").then_some(&body),
        );
        assert_eq!(w.status, 200, "{}", w.body);
        licensed = !licensed;
        let revision = w.body["data_revision"].as_u64().unwrap().to_string();
        let t = Instant::now();
        let d = c.call(
            "POST",
            "/access/v1/evaluation",
            &[("Turnstile-Min-Revision", &revision)],
            Some(&ask),
        );
        ryw.push(t.elapsed());
        assert_eq!(d.status, 200, "{}", d.body);
        assert_eq!(
            d.body["decision"],
            json!(licensed),
            "the first answer is the new one: {}",
            d.body
        );
    }
    for v in [&mut from_sent, &mut from_ack, &mut writes, &mut ryw] {
        v.sort();
    }
    println!("\n### Cross-node visibility: licence assigned/revoked on node A, decision asked on node C\n");
    println!("| measure | samples | p50 ms | p90 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (what, v) in [
        ("write on A (request → acknowledged)", &writes),
        ("write sent on A → C's decision flips", &from_sent),
        ("A acknowledges → C's decision flips", &from_ack),
        (
            "C asked once with `Turnstile-Min-Revision` (always the new answer)",
            &ryw,
        ),
    ] {
        println!(
            "| {what} | {} | {:.2} | {:.2} | {:.2} | {:.2} |",
            v.len(),
            ms(percentile(v, 0.50)),
            ms(percentile(v, 0.90)),
            ms(percentile(v, 0.99)),
            ms(v[v.len() - 1]),
        );
    }
    println!(
        "\n{timeouts} flips timed out (> 2 s); {under_reported} flipped answers reported a `data_revision` below the write's; {:.1} evaluations asked of C per flip (one every ≥ 0.2 ms)",
        polls as f64 / samples as f64
    );
}

// ------------------------------------------------------------------ 4. claims

/// `attempts` operator adds over `tenants` tenants from `callers` threads,
/// each caller on one node (callers spread round-robin over `nodes`).
/// Returns successes per tenant, refusals, and seconds.
fn claims(
    nodes: &[&Node],
    label: &str,
    tenants: usize,
    attempts: usize,
    callers: usize,
) -> (Vec<usize>, usize, f64) {
    let started = Instant::now();
    let handles: Vec<_> = (0..callers)
        .map(|c| {
            let addr = nodes[c % nodes.len()].addr;
            let label = label.to_string();
            std::thread::spawn(move || {
                let mut http = Http::new(addr);
                let (mut ok, mut refused) = (vec![0usize; tenants], 0usize);
                for i in (c..attempts).step_by(callers) {
                    let t = i % tenants;
                    let a = http.call(
                        "POST",
                        &format!("/v1/tenants/{label}-{t}/operators"),
                        &[],
                        Some(
                            &json!({"id": format!("{label}-op-{i}"), "number": i.to_string(), "name": "Op"}),
                        ),
                    );
                    match a.status {
                        201 => ok[t] += 1,
                        403 if a.body["error"]["code"] == json!("seats_exhausted") => refused += 1,
                        s => panic!("an operator add answered {s}: {}", a.body),
                    }
                }
                (ok, refused)
            })
        })
        .collect();
    let (mut ok, mut refused) = (vec![0usize; tenants], 0usize);
    for h in handles {
        let (o, r) = h.join().unwrap();
        for (t, n) in o.into_iter().enumerate() {
            ok[t] += n;
        }
        refused += r;
    }
    (ok, refused, started.elapsed().as_secs_f64())
}

/// PostgreSQL's own ceiling for serialised writes, now: one-row `UPDATE`
/// transactions committed one after another (each waits for its WAL flush, as
/// a ledger write holding the ledger lock does), per second.
fn commit_floor(url: &str, n: usize) -> f64 {
    let mut client = Client::connect(url, NoTls).unwrap();
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS bench_commit_probe (k int PRIMARY KEY, v bigint);
             INSERT INTO bench_commit_probe VALUES (1, 0) ON CONFLICT DO NOTHING",
        )
        .unwrap();
    let started = Instant::now();
    for _ in 0..n {
        client
            .batch_execute("BEGIN; UPDATE bench_commit_probe SET v = v + 1 WHERE k = 1; COMMIT")
            .unwrap();
    }
    n as f64 / started.elapsed().as_secs_f64()
}

fn claims_section(nodes: &[Node], url: &str) {
    let callers = env_usize("TURNSTILE_BENCH_CALLERS", 64);
    let all: Vec<&Node> = nodes.iter().collect();
    println!("\n### Seat claims (operator adds with seat checks), {callers} concurrent callers\n");
    println!(
        "| nodes | tenants | seats each | attempts | succeeded | refused | seconds | attempts/s | succeeded/s | exact | PostgreSQL serial commits/s just before |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|");
    let mut run = 0;
    for (spread, tenants, seats, attempts) in [
        (1usize, 1usize, 500usize, 1_500usize),
        (3, 1, 500, 1_500),
        (1, 200, 20, 6_000),
        (3, 200, 20, 6_000),
    ] {
        run += 1;
        let label = format!("c{run}");
        // Provision in parallel, through every node.
        let per = tenants.div_ceil(8);
        let makers: Vec<_> = (0..tenants.min(8))
            .map(|k| {
                let addr = nodes[k % nodes.len()].addr;
                let label = label.clone();
                std::thread::spawn(move || {
                    let mut http = Http::new(addr);
                    for t in (k * per)..((k + 1) * per).min(tenants) {
                        provision(&mut http, &format!("{label}-{t}"), seats as i64, 1);
                    }
                })
            })
            .collect();
        for m in makers {
            m.join().unwrap();
        }
        let floor = commit_floor(url, 200);
        let (ok, refused, secs) = claims(&all[..spread], &label, tenants, attempts, callers);
        let succeeded: usize = ok.iter().sum();
        let exact = ok.iter().all(|&n| n == seats.min(attempts / tenants));
        // Every node reports the same counts (a sample of tenants).
        for node in nodes {
            let mut http = Http::new(node.addr);
            for t in [0, tenants / 2, tenants - 1] {
                let s = http.call("GET", &format!("/v1/tenants/{label}-{t}/seats"), &[], None);
                assert_eq!(s.body["shop_floor"]["used"], json!(ok[t]), "{}", s.body);
            }
        }
        println!(
            "| {spread} | {tenants} | {seats} | {attempts} | {succeeded} | {refused} | {secs:.2} | {:.0} | {:.0} | {} | {floor:.0} |",
            attempts as f64 / secs,
            succeeded as f64 / secs,
            if exact { "yes" } else { "**NO**" },
        );
        assert!(exact, "successes per tenant must equal its seats: {ok:?}");
    }
}

// ------------------------------------------------------------------ 5. join

fn join() {
    let size = env_usize("TURNSTILE_BENCH_JOIN_SIZE", 1_000_000);
    let warmup = env_usize("TURNSTILE_BENCH_WARMUP", 30_000);
    let (sqlite, shape) = common::database(size);
    let made;
    let url = match std::env::var("TURNSTILE_BENCH_JOIN_DB") {
        Ok(url) => url,
        Err(_) => {
            made = PgDatabase::ledger(&format!("bench_scaleout_{}t_v1", shape.tenants), &sqlite);
            made.url.clone()
        }
    };
    println!(
        "\n### A cold node joining a ledger of {} entities (then {warmup} decisions over the whole ledger, 8 connections)\n",
        shape.entities()
    );
    println!(
        "| backend | start | spawn → /health/ready 200 ms | warm-up decisions/s | RSS after warm-up MiB | peak RSS MiB |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for (backend, db) in [("postgres", url.as_str()), ("sqlite", &*sqlite.to_string_lossy())] {
        for start in 1..=3 {
            let node = Node::start(&format!("join-{backend}-{start}"), db, &[]);
            let ready = node.ready_after;
            // The warm-up (on the first start only): requests over the whole ledger.
            let (rate, rss, peak) = if start == 1 {
                let work = Arc::new(common::workload(shape, warmup, 0x10_1ed));
                let started = Instant::now();
                let threads: Vec<_> = (0..8)
                    .map(|k| {
                        let (work, addr) = (work.clone(), node.addr);
                        std::thread::spawn(move || {
                            let mut http = Http::new(addr);
                            for q in work.iter().skip(k).step_by(8) {
                                let body = q.to_json();
                                let a = http.call("POST", "/access/v1/evaluation", &[], Some(&body));
                                assert_eq!(a.status, 200, "{}", a.body);
                            }
                        })
                    })
                    .collect();
                for t in threads {
                    t.join().unwrap();
                }
                let rate = warmup as f64 / started.elapsed().as_secs_f64();
                let (rss, peak) = node.rss_mib();
                (format!("{rate:.0}"), format!("{rss:.0}"), format!("{peak:.0}"))
            } else {
                Default::default()
            };
            println!(
                "| {backend} | {start} | {:.0} | {rate} | {rss} | {peak} |",
                ms(ready)
            );
        }
    }
}

fn main() {
    if let Err(e) = postgres_reachable() {
        println!(
            "skipping the scale-out bench: no PostgreSQL at `{}` ({e})",
            server_url()
        );
        return;
    }
    let modes =
        std::env::var("TURNSTILE_BENCH_MODES").unwrap_or_else(|_| "inprocess,visibility,claims,join".into());
    let mode = |m: &str| modes.split(',').any(|x| x.trim() == m);
    println!(
        "PostgreSQL: {}",
        turnstile::store::postgres::redact(&server_url())
    );
    if mode("prepare") {
        // Generate the ledgers and their PostgreSQL copies, and keep them:
        // the next runs measure without waiting for them.
        for size in [
            env_usize("TURNSTILE_BENCH_SIZE", 100_000),
            env_usize("TURNSTILE_BENCH_JOIN_SIZE", 1_000_000),
        ] {
            let (sqlite, shape) = common::database(size);
            PgDatabase::ledger(&format!("bench_scaleout_{}t_v1", shape.tenants), &sqlite).keep = true;
        }
    }
    if mode("inprocess") {
        inprocess();
    }
    if mode("visibility") || mode("claims") {
        let db = PgDatabase::fresh("bench_scaleout_nodes");
        let nodes: Vec<Node> = ["node-a", "node-b", "node-c"]
            .iter()
            .map(|n| Node::start(n, &db.url, &[]))
            .collect();
        if mode("visibility") {
            visibility(&nodes);
        }
        if mode("claims") {
            claims_section(&nodes, &db.url);
        }
        drop(nodes);
    }
    if mode("join") {
        join();
    }
}
