//! The PostgreSQL backend: any number of turnstile nodes over one database.
//!
//! - **Writes.** A ledger write is one transaction. Its first statement takes
//!   the next data revision (`UPDATE meta … RETURNING`), which locks that row
//!   until commit: ledger writes are serialised across every node, exactly as
//!   SQLite's single writer serialises them on one, so a seat check and the
//!   change it allows can never interleave with another node's. The
//!   transaction records what it changed (`changes`) and announces its revision
//!   (`pg_notify`) on commit; nobody hears "done" before the commit.
//! - **Reads.** A pool of connections (r2d2), each with its prepared
//!   statements, and a statement timeout.
//! - **Caches.** A listener thread holds one connection on `LISTEN`. On every
//!   notification, and every `poll_every` anyway, it reads `changes` after the
//!   last revision it applied and marks the changed scopes stale, in revision
//!   order, so no change is skipped even when a notification is lost. When the
//!   listening connection drops it keeps polling through the pool and
//!   reconnects by itself; a gap it cannot fill (pruned changes) marks every
//!   cached entity stale.

mod pg_conn;
mod pg_copy;
mod pg_facts;
mod pg_pages;
mod writer;

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::time::{Duration, Instant};

use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use postgres::{Client, Row, Statement};

use super::candidates::Within;
use super::rows::{
    self, AccountRow, Deactivation, HubRow, OperatorRow, RoleRow, SeatKind, Seats, SubscriptionRow,
    TenantFacts, TenantRow, UserRow, UserWithRole,
};
use super::{Cell, Conn, Job, Location, Options, Shared, StoreError, Table};
use pg_conn::*;
pub use pg_conn::{PgConn, Reader};
use writer::*;

/// Schema migrations, applied in order; `meta.schema_version` counts those done.
const MIGRATIONS: &[&str] = &[include_str!("../migrations/postgres/0001_ledger.sql")];

/// Opens a connection, over TLS when the URL's `sslmode` asks for it
/// (`prefer` tries TLS, `require` insists; as with libpq, neither verifies the
/// server's certificate: use a private network or a proxy that does).
pub fn connect(url: &str) -> Result<Client, postgres::Error> {
    match tls() {
        Some(tls) => Client::connect(url, tls),
        None => Client::connect(url, postgres::NoTls),
    }
}

fn tls() -> Option<postgres_native_tls::MakeTlsConnector> {
    native_tls::TlsConnector::builder()
        .danger_accept_invalid_certs(true)
        .danger_accept_invalid_hostnames(true)
        .build()
        .ok()
        .map(postgres_native_tls::MakeTlsConnector::new)
}

/// The channel revisions are announced on.
const CHANNEL: &str = "turnstile_changes";

/// Serialises migrations when several nodes start at once.
const MIGRATION_LOCK: i64 = 0x7475_726e_7374_696c; // "turnstil"

/// How many revisions of `changes` are kept for nodes catching up.
const KEEP_CHANGES: i64 = 100_000;

/// Writer threads per node (writes serialise in the database anyway).
const WRITERS: usize = 2;

/// The URL without its password.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

fn pg_err(e: postgres::Error) -> StoreError {
    use postgres::error::SqlState;
    match e.code() {
        Some(c) if *c == SqlState::UNIQUE_VIOLATION => StoreError::Duplicate(e.to_string()),
        Some(c)
            if *c == SqlState::CHARACTER_NOT_IN_REPERTOIRE || *c == SqlState::UNTRANSLATABLE_CHARACTER =>
        {
            StoreError::Unrepresentable
        }
        Some(c)
            if *c == SqlState::QUERY_CANCELED
                || *c == SqlState::ADMIN_SHUTDOWN
                || *c == SqlState::CRASH_SHUTDOWN
                || *c == SqlState::CANNOT_CONNECT_NOW
                || *c == SqlState::TOO_MANY_CONNECTIONS
                || c.code().starts_with("08") =>
        {
            StoreError::Unavailable(e.to_string())
        }
        Some(_) => StoreError::Postgres(match e.as_db_error() {
            Some(db) => db.message().to_string(),
            None => e.to_string(),
        }),
        // No SQLSTATE: the connection itself failed.
        None => StoreError::Unavailable(e.to_string()),
    }
}

/// One connection with its prepared statements.
pub struct PgClient {
    client: OwnedClient,
    statements: HashMap<&'static str, Statement>,
}

impl PgClient {
    /// `sql` prepared once on this connection, then reused.
    fn prepared(&mut self, sql: &'static str) -> Result<Statement, StoreError> {
        if let Some(st) = self.statements.get(sql) {
            return Ok(st.clone());
        }
        let st = self.client.prepare(sql).map_err(pg_err)?;
        self.statements.insert(sql, st.clone());
        Ok(st)
    }
}

/// A client that closes on a thread of its own: the synchronous client blocks
/// on a runtime when dropped, which must not happen on an async worker (a
/// store dropped in async code, a test's end).
struct OwnedClient(Option<Client>);

impl std::ops::Deref for OwnedClient {
    type Target = Client;
    fn deref(&self) -> &Client {
        match &self.0 {
            Some(c) => c,
            None => unreachable!("a client is only taken when it is dropped"),
        }
    }
}

impl std::ops::DerefMut for OwnedClient {
    fn deref_mut(&mut self) -> &mut Client {
        match &mut self.0 {
            Some(c) => c,
            None => unreachable!("a client is only taken when it is dropped"),
        }
    }
}

impl Drop for OwnedClient {
    fn drop(&mut self) {
        if let Some(client) = self.0.take() {
            let _ = std::thread::Builder::new()
                .name("turnstile-pg-close".into())
                .spawn(move || drop(client));
        }
    }
}

/// Opens connections for the pool, each with the statement timeout set.
pub struct Manager {
    url: String,
    statement_timeout: Duration,
}

impl r2d2::ManageConnection for Manager {
    type Connection = PgClient;
    type Error = postgres::Error;

    fn connect(&self) -> Result<PgClient, postgres::Error> {
        let mut client = connect(&self.url)?;
        client.batch_execute(&format!(
            "SET statement_timeout = {}; SET application_name = 'turnstile'",
            self.statement_timeout.as_millis()
        ))?;
        Ok(PgClient {
            client: OwnedClient(Some(client)),
            statements: HashMap::new(),
        })
    }

    fn is_valid(&self, conn: &mut PgClient) -> Result<(), postgres::Error> {
        conn.client.simple_query("").map(|_| ())
    }

    fn has_broken(&self, conn: &mut PgClient) -> bool {
        conn.client.is_closed()
    }
}

type Pool = r2d2::Pool<Manager>;
pub(crate) type Pooled = r2d2::PooledConnection<Manager>;

/// The PostgreSQL backend.
pub struct Postgres {
    pool: Pool,
    shared: Arc<Shared>,
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    writers: Mutex<Vec<std::thread::JoinHandle<()>>>,
    feed: Arc<Feed>,
    listener: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// What the listener knows, shared with the rest of the backend.
struct Feed {
    stop: AtomicBool,
    /// Whether the `LISTEN` connection is up.
    listening: AtomicBool,
    /// When this node last confirmed its caches current (ms since its start).
    confirmed_ms: AtomicU64,
    started: Instant,
    /// Woken whenever the applied revision moves.
    moved: (Mutex<()>, Condvar),
}

impl Feed {
    fn confirm(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.confirmed_ms.store(ms, Ordering::SeqCst);
    }

    fn staleness_ms(&self) -> u64 {
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        now.saturating_sub(self.confirmed_ms.load(Ordering::SeqCst))
    }

    fn wake(&self) {
        let _guard = self.moved.0.lock();
        self.moved.1.notify_all();
    }
}

impl Postgres {
    /// Connects, migrates and starts the writer and listener threads. The
    /// synchronous client runs a runtime of its own, so this runs on a thread
    /// of its own: it may be called from async code (start-up, tests).
    pub(super) fn open(
        url: &str,
        location: Location,
        options: &Options,
    ) -> Result<(Self, Arc<Shared>), StoreError> {
        let (url, options) = (url.to_string(), options.clone());
        std::thread::spawn(move || Self::open_here(&url, location, &options))
            .join()
            .unwrap_or_else(|_| Err(StoreError::Commit("opening the database panicked".into())))
    }

    fn open_here(
        url: &str,
        location: Location,
        options: &Options,
    ) -> Result<(Self, Arc<Shared>), StoreError> {
        let open_err = |message: String| StoreError::Open {
            path: redact(url),
            message,
        };
        let manager = Manager {
            url: url.to_string(),
            statement_timeout: options.statement_timeout,
        };
        let pool = r2d2::Pool::builder()
            .max_size(options.pool_size.max(2))
            .min_idle(Some(1))
            // No validity round trip on every check-out: a connection that died
            // fails its first query (503) and is then dropped as broken.
            .test_on_check_out(false)
            // A request waits this long at most for a connection (the
            // database gone, or every connection busy): then 503.
            .connection_timeout(options.connect_timeout)
            .build(manager)
            .map_err(|e| open_err(e.to_string()))?;
        {
            let mut conn = pool.get().map_err(|e| open_err(e.to_string()))?;
            migrate(&mut conn.client).map_err(|e| match e {
                StoreError::TooNew { .. } => e,
                other => open_err(other.to_string()),
            })?;
        }
        let revision = {
            let mut conn = pool.get().map_err(|e| open_err(e.to_string()))?;
            let row = conn
                .client
                .query_one("SELECT value FROM meta WHERE key = 'data_revision'", &[])
                .map_err(pg_err)?;
            u64::try_from(row.get::<_, i64>(0)).unwrap_or(0)
        };
        let shared = Shared::new(location, revision);
        let feed = Arc::new(Feed {
            stop: AtomicBool::new(false),
            listening: AtomicBool::new(false),
            confirmed_ms: AtomicU64::new(0),
            started: Instant::now(),
            moved: (Mutex::new(()), Condvar::new()),
        });
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let mut writers = Vec::new();
        for i in 0..WRITERS {
            let (rx, pool, shared, feed) = (rx.clone(), pool.clone(), shared.clone(), feed.clone());
            let node = options.node_id.clone();
            let handle = std::thread::Builder::new()
                .name(format!("turnstile-pg-writer-{i}"))
                .spawn(move || writer_loop(&rx, &pool, &shared, &feed, &node))
                .map_err(|e| StoreError::Commit(format!("cannot start a writer thread: {e}")))?;
            writers.push(handle);
        }
        let listener = {
            let (pool, shared, feed) = (pool.clone(), shared.clone(), feed.clone());
            let url = url.to_string();
            let every = options.poll_every;
            std::thread::Builder::new()
                .name("turnstile-pg-listener".into())
                .spawn(move || listen_loop(&url, &pool, &shared, &feed, every))
                .map_err(|e| StoreError::Commit(format!("cannot start the listener thread: {e}")))?
        };
        feed.confirm();
        let backend = Postgres {
            pool,
            shared: shared.clone(),
            jobs: Mutex::new(Some(tx)),
            writers: Mutex::new(writers),
            feed,
            listener: Mutex::new(Some(listener)),
        };
        Ok((backend, shared))
    }

    pub(super) fn reader(&self) -> Result<Reader, StoreError> {
        let pooled = self
            .pool
            .get()
            .map_err(|e| StoreError::Unavailable(format!("no database connection: {e}")))?;
        Ok(Reader {
            conn: PgConn {
                c: RefCell::new(pooled),
            },
        })
    }

    pub(super) fn submit(&self, job: Job) -> Result<(), StoreError> {
        let sender = self
            .jobs
            .lock()
            .ok()
            .and_then(|s| s.clone())
            .ok_or(StoreError::Closed)?;
        sender.send(job).map_err(|_| StoreError::Closed)
    }

    /// Whether writer threads are there to take writes.
    pub(super) fn writable(&self) -> bool {
        let queue = self.jobs.lock().is_ok_and(|j| j.is_some());
        let threads = self
            .writers
            .lock()
            .is_ok_and(|w| w.iter().any(|h| !h.is_finished()));
        queue && threads
    }

    pub(super) fn close(&self) {
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.take();
        }
        let writers: Vec<_> = self
            .writers
            .lock()
            .map(|mut w| w.drain(..).collect())
            .unwrap_or_default();
        for h in writers {
            let _ = h.join();
        }
        self.feed.stop.store(true, Ordering::SeqCst);
        let listener = self.listener.lock().ok().and_then(|mut l| l.take());
        if let Some(h) = listener {
            let _ = h.join();
        }
    }

    pub(super) fn staleness_ms(&self) -> u64 {
        self.feed.staleness_ms()
    }

    pub(super) fn listening(&self) -> bool {
        self.feed.listening.load(Ordering::SeqCst)
    }

    /// Waits until the applied revision reaches `revision`, polling the
    /// database itself if the feed is slow.
    pub(super) fn wait_for_revision(&self, revision: u64, timeout: Duration) -> Result<bool, StoreError> {
        let deadline = Instant::now() + timeout;
        let seen = || self.shared.data_revision.load(Ordering::SeqCst) >= revision;
        let mut polled = false;
        while !seen() {
            let now = Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            if !polled && deadline - now < timeout / 2 {
                // Half the time gone: catch up directly rather than wait on the feed.
                let mut conn = self
                    .pool
                    .get()
                    .map_err(|e| StoreError::Unavailable(format!("no database connection: {e}")))?;
                catch_up(&mut conn.client, &self.shared, &self.feed)?;
                polled = true;
                continue;
            }
            let guard = self.feed.moved.0.lock().map_err(|_| StoreError::Closed)?;
            let wait = (deadline - now).min(Duration::from_millis(20));
            let _ = self.feed.moved.1.wait_timeout(guard, wait);
        }
        Ok(true)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.feed.stop.store(true, Ordering::SeqCst);
    }
}

fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let mut tx = client.transaction().map_err(pg_err)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(pg_err)?;
    let exists: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'meta')",
            &[],
        )
        .map_err(pg_err)?
        .get(0);
    let version: i64 = if exists {
        tx.query_opt("SELECT value FROM meta WHERE key = 'schema_version'", &[])
            .map_err(pg_err)?
            .map_or(0, |r| r.get(0))
    } else {
        0
    };
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(StoreError::TooNew {
            found: version,
            known,
        });
    }
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(version).unwrap_or(0))
    {
        tx.batch_execute(sql).map_err(pg_err)?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', $1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&(i as i64 + 1)],
        )
        .map_err(pg_err)?;
    }
    tx.commit().map_err(pg_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_shown_without_its_password() {
        assert_eq!(
            redact("postgres://app:s3cret@db.example:5432/ledger?sslmode=disable"),
            "postgres://app:***@db.example:5432/ledger?sslmode=disable"
        );
        assert_eq!(redact("postgres://app@db/ledger"), "postgres://app@db/ledger");
        assert_eq!(redact("postgres://db/ledger"), "postgres://db/ledger");
    }
}
