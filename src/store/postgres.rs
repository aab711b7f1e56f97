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

/// Schema migrations, applied in order; `meta.schema_version` counts those done.
const MIGRATIONS: &[&str] = &[include_str!("migrations/postgres/0001_ledger.sql")];

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
pub type Pooled = r2d2::PooledConnection<Manager>;

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

/// Runs write jobs, one transaction each, until the channel closes.
fn writer_loop(rx: &Mutex<mpsc::Receiver<Job>>, pool: &Pool, shared: &Shared, feed: &Feed, node: &str) {
    loop {
        let job = match rx.lock() {
            Ok(r) => match r.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
            Err(_) => return,
        };
        let started = Instant::now();
        let mut conn = match pool.get() {
            Ok(c) => c,
            Err(e) => {
                // Run nothing: the job's caller hears the database is unavailable.
                fail(
                    job,
                    StoreError::Unavailable(format!("no database connection: {e}")),
                );
                continue;
            }
        };
        run_job(&mut conn, job, shared, feed, node);
        metrics::histogram!("turnstile_store_commit_seconds").record(started.elapsed().as_secs_f64());
    }
}

/// Completes a job that could not run.
fn fail(job: Job, error: StoreError) {
    // The job runs against a connection that refuses everything, so its
    // caller gets the error through its own result.
    let broken = Broken(error.to_string());
    let mut touched = Vec::new();
    let (_, done) = job(&broken, &mut touched);
    done(Err(error));
}

fn run_job(conn: &mut Pooled, job: Job, shared: &Shared, feed: &Feed, node: &str) {
    let begin = (|| -> Result<i64, StoreError> {
        conn.client.batch_execute("BEGIN").map_err(pg_err)?;
        // The ledger lock: held until commit, taken before anything is read.
        let st =
            conn.prepared("UPDATE meta SET value = value + 1 WHERE key = 'data_revision' RETURNING value")?;
        let row = conn.client.query_one(&st, &[]).map_err(pg_err)?;
        get(&row, 0)
    })();
    let revision = match begin {
        Ok(r) => r,
        Err(e) => {
            let _ = conn.client.batch_execute("ROLLBACK");
            fail(job, e);
            return;
        }
    };
    let mut touched = Vec::new();
    let (ok, done) = {
        let pg = PgConn {
            c: RefCell::new(&mut **conn),
        };
        job(&pg, &mut touched)
    };
    if !ok {
        let rolled = conn.client.batch_execute("ROLLBACK").map_err(pg_err);
        done(rolled.map(|()| u64::try_from(revision - 1).unwrap_or(0)));
        return;
    }
    touched.sort();
    touched.dedup();
    let outcome = (|| -> Result<(), StoreError> {
        let scopes = touched.join("\n");
        let at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(0))
            .unwrap_or(0);
        let st = conn.prepared("INSERT INTO changes (revision, scopes, node, at) VALUES ($1, $2, $3, $4)")?;
        conn.client
            .execute(&st, &[&revision, &scopes, &node, &at])
            .map_err(pg_err)?;
        if revision % 1000 == 0 {
            conn.client
                .execute(
                    "DELETE FROM changes WHERE revision <= $1",
                    &[&(revision - KEEP_CHANGES)],
                )
                .map_err(pg_err)?;
        }
        let st = conn.prepared("SELECT pg_notify($1, $2)")?;
        conn.client
            .execute(&st, &[&CHANNEL, &revision.to_string()])
            .map_err(pg_err)?;
        conn.client.batch_execute("COMMIT").map_err(pg_err)
    })();
    match outcome {
        Ok(()) => {
            // This node knows its own change at once; the listener will see the
            // revision too and skip it.
            let revision = u64::try_from(revision).unwrap_or(0);
            shared.generations.bump(&touched);
            if shared.data_revision.load(Ordering::SeqCst) + 1 == revision {
                shared.advance(revision);
            }
            feed.wake();
            done(Ok(revision));
        }
        Err(e) => {
            let _ = conn.client.batch_execute("ROLLBACK");
            done(Err(match e {
                // Lost before COMMIT answered: whether it landed is unknown,
                // and it was not acknowledged.
                StoreError::Unavailable(m) => StoreError::Unavailable(format!(
                    "the connection to the database was lost while committing ({m}); the change was not acknowledged"
                )),
                other => StoreError::Commit(other.to_string()),
            }));
        }
    }
}

/// Applies every change after the revision this node has applied, in order.
fn catch_up(client: &mut Client, shared: &Shared, feed: &Feed) -> Result<(), StoreError> {
    let applied = i64::try_from(shared.data_revision.load(Ordering::SeqCst)).unwrap_or(i64::MAX);
    let rows = client
        .query(
            "SELECT revision, scopes FROM changes WHERE revision > $1 ORDER BY revision LIMIT 10000",
            &[&applied],
        )
        .map_err(pg_err)?;
    let head: i64 = client
        .query_one("SELECT value FROM meta WHERE key = 'data_revision'", &[])
        .map_err(pg_err)?
        .get(0);
    let mut next = applied;
    for row in &rows {
        let revision: i64 = row.get(0);
        if revision != next + 1 {
            // A revision still in flight (taken, not yet committed) or pruned:
            // stop here; a pruned one is handled below.
            break;
        }
        let scopes: String = row.get(1);
        let scopes: Vec<String> = scopes.lines().map(str::to_string).collect();
        shared.generations.bump(&scopes);
        next = revision;
    }
    if next == applied && head > applied {
        // Changes we cannot replay one by one (pruned, or older than the
        // table): trust nothing cached, and move on to the oldest we have.
        let oldest: Option<i64> = client
            .query_one("SELECT MIN(revision) FROM changes", &[])
            .map_err(pg_err)?
            .get(0);
        if oldest.is_none_or(|o| o > applied + 1) {
            shared.generations.bump_all();
            next = oldest.map_or(head, |o| o - 1).max(applied);
        }
    }
    if next > applied {
        shared.advance(u64::try_from(next).unwrap_or(0));
        feed.wake();
    }
    feed.confirm();
    Ok(())
}

/// Listens for revisions; polls when it cannot listen; reconnects by itself.
fn listen_loop(url: &str, pool: &Pool, shared: &Shared, feed: &Feed, every: Duration) {
    while !feed.stop.load(Ordering::SeqCst) {
        match connect(url).and_then(|mut c| c.batch_execute(&format!("LISTEN {CHANNEL}")).map(|()| c)) {
            Ok(mut client) => {
                feed.listening.store(true, Ordering::SeqCst);
                if catch_up(&mut client, shared, feed).is_err() {
                    feed.listening.store(false, Ordering::SeqCst);
                    continue;
                }
                loop {
                    if feed.stop.load(Ordering::SeqCst) {
                        return;
                    }
                    // Wait for one notification (or the poll interval), then
                    // drain any others already there.
                    let heard = {
                        let mut notes = client.notifications();
                        let mut it = notes.timeout_iter(every);
                        match it.next() {
                            Ok(Some(_)) => Ok(true),
                            Ok(None) => Ok(false),
                            Err(e) => Err(e),
                        }
                    };
                    match heard {
                        Ok(_) => {
                            // Drain what else has arrived, then read the changes.
                            let drained = {
                                let mut notes = client.notifications();
                                let mut it = notes.iter();
                                loop {
                                    match it.next() {
                                        Ok(Some(_)) => continue,
                                        Ok(None) => break Ok(()),
                                        Err(e) => break Err(e),
                                    }
                                }
                            };
                            if drained.is_err() || catch_up(&mut client, shared, feed).is_err() {
                                break;
                            }
                        }
                        Err(_) => break,
                    }
                }
                feed.listening.store(false, Ordering::SeqCst);
                tracing::warn!("the change feed from PostgreSQL dropped; polling until it is back");
            }
            Err(e) => {
                feed.listening.store(false, Ordering::SeqCst);
                tracing::debug!(error = %e, "cannot listen for changes; polling");
                // Poll through the pool meanwhile.
                if let Ok(mut conn) = pool.get() {
                    let _ = catch_up(&mut conn.client, shared, feed);
                }
                std::thread::sleep(every);
            }
        }
    }
}

/// A connection that refuses everything: what a job sees when it cannot run.
struct Broken(String);

/// A connection the pool lent: a read connection, or the writer's during a
/// transaction.
pub struct PgConn<C> {
    c: RefCell<C>,
}

/// A pooled read connection; goes back to the pool when dropped.
pub struct Reader {
    conn: PgConn<Pooled>,
}

impl std::ops::Deref for Reader {
    type Target = PgConn<Pooled>;
    fn deref(&self) -> &Self::Target {
        &self.conn
    }
}

impl<C: std::ops::DerefMut<Target = PgClient>> PgConn<C> {
    fn statement(&self, sql: &'static str) -> Result<Statement, StoreError> {
        let mut c = self.c.borrow_mut();
        let pg: &mut PgClient = &mut c;
        if let Some(st) = pg.statements.get(sql) {
            return Ok(st.clone());
        }
        let st = pg.client.prepare(sql).map_err(pg_err)?;
        pg.statements.insert(sql, st.clone());
        Ok(st)
    }

    fn query(&self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, StoreError> {
        let st = self.statement(sql)?;
        match self.c.borrow_mut().client.query(&st, params).map_err(pg_err) {
            // An id no row can hold matches no row.
            Err(StoreError::Unrepresentable) => Ok(Vec::new()),
            other => other,
        }
    }

    fn query_opt(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, StoreError> {
        let st = self.statement(sql)?;
        match self.c.borrow_mut().client.query_opt(&st, params).map_err(pg_err) {
            Err(StoreError::Unrepresentable) => Ok(None),
            other => other,
        }
    }

    fn query_one(&self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<Row, StoreError> {
        let st = self.statement(sql)?;
        self.c.borrow_mut().client.query_one(&st, params).map_err(pg_err)
    }

    fn execute(&self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, StoreError> {
        let st = self.statement(sql)?;
        self.c.borrow_mut().client.execute(&st, params).map_err(pg_err)
    }
}

fn get<'a, T: postgres::types::FromSql<'a>>(row: &'a Row, i: usize) -> Result<T, StoreError> {
    row.try_get(i).map_err(|e| StoreError::Corrupt(e.to_string()))
}

const TENANT_SQL: &str = "SELECT t.id, t.account_id, t.name, t.created_at, t.trial_days, h.name, h.created_at
     FROM tenants t LEFT JOIN hubs h ON h.tenant_id = t.id WHERE t.id = $1";
const TENANTS_OF_ACCOUNT_SQL: &str =
    "SELECT t.id, t.account_id, t.name, t.created_at, t.trial_days, h.name, h.created_at
     FROM tenants t LEFT JOIN hubs h ON h.tenant_id = t.id WHERE t.account_id = $1 ORDER BY t.id";

fn tenant_row(r: &Row) -> Result<TenantRow, StoreError> {
    let hub_name: Option<String> = get(r, 5)?;
    let hub_at: Option<i64> = get(r, 6)?;
    Ok(TenantRow {
        id: get(r, 0)?,
        account_id: get(r, 1)?,
        name: get(r, 2)?,
        created_at: get(r, 3)?,
        trial_days: get(r, 4)?,
        hub: match (hub_name, hub_at) {
            (Some(name), Some(created_at)) => Some(HubRow { name, created_at }),
            _ => None,
        },
    })
}

const USER_SQL: &str =
    "SELECT u.id, u.tenant_id, u.name, u.email, u.role, u.active, u.licensed_at, u.created_at,
     (SELECT o.id FROM operators o WHERE o.owner_user_id = u.id) FROM users u WHERE u.id = $1";
const USERS_OF_TENANT_SQL: &str =
    "SELECT u.id, u.tenant_id, u.name, u.email, u.role, u.active, u.licensed_at, u.created_at,
     (SELECT o.id FROM operators o WHERE o.owner_user_id = u.id) FROM users u WHERE u.tenant_id = $1
     ORDER BY u.created_at, u.id";

fn user_row(r: &Row) -> Result<UserRow, StoreError> {
    Ok(UserRow {
        id: get(r, 0)?,
        tenant_id: get(r, 1)?,
        name: get(r, 2)?,
        email: get(r, 3)?,
        role: get(r, 4)?,
        active: get(r, 5)?,
        licensed_at: get(r, 6)?,
        created_at: get(r, 7)?,
        own_operator: get(r, 8)?,
    })
}

const OPERATOR_SQL: &str = "SELECT o.id, o.tenant_id, o.number, o.name, o.owner_user_id, o.active, o.created_at,
     (SELECT MAX(p.at) FROM production_records p WHERE p.operator_id = o.id),
     (SELECT d.reason FROM deactivations d WHERE d.subject_kind = 'operator' AND d.subject_id = o.id ORDER BY d.id DESC LIMIT 1),
     (SELECT d.at FROM deactivations d WHERE d.subject_kind = 'operator' AND d.subject_id = o.id ORDER BY d.id DESC LIMIT 1)
     FROM operators o WHERE o.id = $1";
const OPERATORS_OF_TENANT_SQL: &str = "SELECT o.id, o.tenant_id, o.number, o.name, o.owner_user_id, o.active, o.created_at,
     (SELECT MAX(p.at) FROM production_records p WHERE p.operator_id = o.id),
     (SELECT d.reason FROM deactivations d WHERE d.subject_kind = 'operator' AND d.subject_id = o.id ORDER BY d.id DESC LIMIT 1),
     (SELECT d.at FROM deactivations d WHERE d.subject_kind = 'operator' AND d.subject_id = o.id ORDER BY d.id DESC LIMIT 1)
     FROM operators o WHERE o.tenant_id = $1 ORDER BY o.created_at, o.id";

fn operator_row(r: &Row) -> Result<OperatorRow, StoreError> {
    let active: bool = get(r, 5)?;
    let reason: Option<String> = get(r, 8)?;
    let at: Option<i64> = get(r, 9)?;
    Ok(OperatorRow {
        id: get(r, 0)?,
        tenant_id: get(r, 1)?,
        number: get(r, 2)?,
        name: get(r, 3)?,
        owner_user_id: get(r, 4)?,
        active,
        created_at: get(r, 6)?,
        latest_production_at: get(r, 7)?,
        deactivation: match (active, reason, at) {
            (false, Some(reason), Some(at)) => Some(Deactivation { reason, at }),
            _ => None,
        },
    })
}

const SUBSCRIPTION_SQL: &str =
    "SELECT number, tenant_id, kind, quantity, starts_at, ends_at, payment_due_at, paid_at, created_at
     FROM subscriptions WHERE number = $1";
const SUBSCRIPTIONS_OF_TENANT_SQL: &str =
    "SELECT number, tenant_id, kind, quantity, starts_at, ends_at, payment_due_at, paid_at, created_at
     FROM subscriptions WHERE tenant_id = $1 ORDER BY number";

fn subscription_row(r: &Row) -> Result<SubscriptionRow, StoreError> {
    let kind: String = get(r, 2)?;
    Ok(SubscriptionRow {
        number: get(r, 0)?,
        tenant_id: get(r, 1)?,
        kind: SeatKind::parse(&kind).unwrap_or(SeatKind::User),
        quantity: get(r, 3)?,
        starts_at: get(r, 4)?,
        ends_at: get(r, 5)?,
        payment_due_at: get(r, 6)?,
        paid_at: get(r, 7)?,
        created_at: get(r, 8)?,
    })
}

fn strings(rows: Vec<Row>) -> Result<Vec<String>, StoreError> {
    rows.iter().map(|r| get(r, 0)).collect()
}

impl<C: std::ops::DerefMut<Target = PgClient>> Conn for PgConn<C> {
    fn account(&self, id: &str) -> Result<Option<AccountRow>, StoreError> {
        self.query_opt("SELECT id, name, created_at FROM accounts WHERE id = $1", &[&id])?
            .map(|r| {
                Ok(AccountRow {
                    id: get(&r, 0)?,
                    name: get(&r, 1)?,
                    created_at: get(&r, 2)?,
                })
            })
            .transpose()
    }

    fn tenant(&self, id: &str) -> Result<Option<TenantRow>, StoreError> {
        self.query_opt(TENANT_SQL, &[&id])?
            .map(|r| tenant_row(&r))
            .transpose()
    }

    fn account_of_tenant(&self, tenant: &str) -> Result<Option<String>, StoreError> {
        self.query_opt("SELECT account_id FROM tenants WHERE id = $1", &[&tenant])?
            .map(|r| get(&r, 0))
            .transpose()
    }

    fn tenants_of_account(&self, account: &str) -> Result<Vec<TenantRow>, StoreError> {
        self.query(TENANTS_OF_ACCOUNT_SQL, &[&account])?
            .iter()
            .map(tenant_row)
            .collect()
    }

    fn find_tenants(&self, text: &str, after: &str, limit: usize) -> Result<Vec<TenantRow>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.query(
            "SELECT t.id, t.account_id, t.name, t.created_at, t.trial_days, h.name, h.created_at
             FROM tenants t LEFT JOIN hubs h ON h.tenant_id = t.id
             WHERE t.id > $2 AND ($1 = '' OR strpos(lower(t.id), lower($1)) > 0 OR strpos(lower(t.name), lower($1)) > 0)
             ORDER BY t.id LIMIT $3",
            &[&text, &after, &limit],
        )?
        .iter()
        .map(tenant_row)
        .collect()
    }

    fn tenant_facts(&self, id: &str, now: i64) -> Result<Option<TenantFacts>, StoreError> {
        let Some(tenant) = self.tenant(id)? else {
            return Ok(None);
        };
        let r = self.query_one(
            "SELECT
               (SELECT COALESCE(SUM(quantity), 0)::BIGINT FROM subscriptions
                  WHERE tenant_id = $1 AND kind = 'user' AND starts_at <= $2 AND $2 < ends_at),
               (SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND licensed_at IS NOT NULL),
               (SELECT COALESCE(SUM(quantity), 0)::BIGINT FROM subscriptions
                  WHERE tenant_id = $1 AND kind = 'shop_floor' AND starts_at <= $2 AND $2 < ends_at),
               (SELECT COUNT(*) FROM operators WHERE tenant_id = $1 AND active AND owner_user_id IS NULL),
               EXISTS (SELECT 1 FROM subscriptions WHERE tenant_id = $1 AND kind = 'shop_floor'),
               (SELECT MIN(payment_due_at) FROM subscriptions
                  WHERE tenant_id = $1 AND paid_at IS NULL AND payment_due_at IS NOT NULL),
               (SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND role = 'admin' AND active),
               (SELECT MIN(t) FROM (
                  SELECT starts_at AS t FROM subscriptions WHERE tenant_id = $1 AND starts_at > $2
                  UNION ALL
                  SELECT ends_at FROM subscriptions WHERE tenant_id = $1 AND ends_at > $2) AS x)",
            &[&id, &now],
        )?;
        Ok(Some(TenantFacts {
            tenant,
            user: Seats {
                total: get(&r, 0)?,
                used: get(&r, 1)?,
            },
            shop_floor: Seats {
                total: get(&r, 2)?,
                used: get(&r, 3)?,
            },
            has_shop_floor: get(&r, 4)?,
            earliest_unpaid_due_at: get(&r, 5)?,
            active_admins: get(&r, 6)?,
            next_change_at: get(&r, 7)?,
        }))
    }

    fn user(&self, id: &str) -> Result<Option<UserRow>, StoreError> {
        self.query_opt(USER_SQL, &[&id])?
            .map(|r| user_row(&r))
            .transpose()
    }

    fn users_of_tenant(&self, tenant: &str) -> Result<Vec<UserRow>, StoreError> {
        self.query(USERS_OF_TENANT_SQL, &[&tenant])?
            .iter()
            .map(user_row)
            .collect()
    }

    fn role(&self, tenant: &str, name: &str) -> Result<Option<RoleRow>, StoreError> {
        let row = self.query_opt(
            "SELECT tenant_id, name, levels FROM roles WHERE tenant_id IN ($1, '') AND name = $2
             ORDER BY tenant_id DESC LIMIT 1",
            &[&tenant, &name],
        )?;
        row.map(|r| rows::parse_role(get(&r, 0)?, get(&r, 1)?, &get::<String>(&r, 2)?))
            .transpose()
    }

    fn roles_of_tenant(&self, tenant: &str) -> Result<Vec<RoleRow>, StoreError> {
        self.query(
            "SELECT tenant_id, name, levels FROM roles WHERE tenant_id IN ($1, '') ORDER BY tenant_id, name",
            &[&tenant],
        )?
        .iter()
        .map(|r| rows::parse_role(get(r, 0)?, get(r, 1)?, &get::<String>(r, 2)?))
        .collect()
    }

    fn operator(&self, id: &str) -> Result<Option<OperatorRow>, StoreError> {
        self.query_opt(OPERATOR_SQL, &[&id])?
            .map(|r| operator_row(&r))
            .transpose()
    }

    fn operators_of_tenant(&self, tenant: &str) -> Result<Vec<OperatorRow>, StoreError> {
        self.query(OPERATORS_OF_TENANT_SQL, &[&tenant])?
            .iter()
            .map(operator_row)
            .collect()
    }

    fn operator_exists(&self, id: &str) -> Result<bool, StoreError> {
        get(
            &self.query_one("SELECT EXISTS (SELECT 1 FROM operators WHERE id = $1)", &[&id])?,
            0,
        )
    }

    fn operator_number_taken(&self, tenant: &str, number: &str) -> Result<bool, StoreError> {
        get(
            &self.query_one(
                "SELECT EXISTS (SELECT 1 FROM operators WHERE tenant_id = $1 AND number = $2)",
                &[&tenant, &number],
            )?,
            0,
        )
    }

    fn subscription(&self, number: i64) -> Result<Option<SubscriptionRow>, StoreError> {
        self.query_opt(SUBSCRIPTION_SQL, &[&number])?
            .map(|r| subscription_row(&r))
            .transpose()
    }

    fn subscriptions_of_tenant(&self, tenant: &str) -> Result<Vec<SubscriptionRow>, StoreError> {
        self.query(SUBSCRIPTIONS_OF_TENANT_SQL, &[&tenant])?
            .iter()
            .map(subscription_row)
            .collect()
    }

    fn tenants_with_ends_between(&self, after: i64, until: i64) -> Result<Vec<String>, StoreError> {
        strings(self.query(
            "SELECT DISTINCT tenant_id FROM subscriptions WHERE ends_at > $1 AND ends_at <= $2 ORDER BY tenant_id",
            &[&after, &until],
        )?)
    }

    fn user_with_role(&self, id: &str) -> Result<Option<UserWithRole>, StoreError> {
        let row = self.query_opt(
            "SELECT u.id, u.tenant_id, u.name, u.email, u.role, u.active, u.licensed_at, u.created_at,
                    (SELECT o.id FROM operators o WHERE o.owner_user_id = u.id),
                    t.account_id,
                    COALESCE((SELECT r.levels FROM roles r WHERE r.tenant_id = u.tenant_id AND r.name = u.role),
                             (SELECT r.levels FROM roles r WHERE r.tenant_id = '' AND r.name = u.role))
             FROM users u LEFT JOIN tenants t ON t.id = u.tenant_id WHERE u.id = $1",
            &[&id],
        )?;
        row.map(|r| Ok((user_row(&r)?, get(&r, 9)?, get(&r, 10)?)))
            .transpose()
    }

    fn operator_with_account(&self, id: &str) -> Result<Option<(OperatorRow, Option<String>)>, StoreError> {
        let row = self.query_opt(
            "SELECT o.id, o.tenant_id, o.number, o.name, o.owner_user_id, o.active, o.created_at, t.account_id
             FROM operators o LEFT JOIN tenants t ON t.id = o.tenant_id WHERE o.id = $1",
            &[&id],
        )?;
        row.map(|r| {
            Ok((
                OperatorRow {
                    id: get(&r, 0)?,
                    tenant_id: get(&r, 1)?,
                    number: get(&r, 2)?,
                    name: get(&r, 3)?,
                    owner_user_id: get(&r, 4)?,
                    active: get(&r, 5)?,
                    created_at: get(&r, 6)?,
                    latest_production_at: None,
                    deactivation: None,
                },
                get(&r, 7)?,
            ))
        })
        .transpose()
    }

    fn insert_account(&self, a: &AccountRow) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3)",
            &[&a.id, &a.name, &a.created_at],
        )?;
        Ok(())
    }

    fn insert_tenant(&self, t: &TenantRow) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO tenants (id, account_id, name, created_at, trial_days) VALUES ($1, $2, $3, $4, $5)",
            &[&t.id, &t.account_id, &t.name, &t.created_at, &t.trial_days],
        )?;
        Ok(())
    }

    fn insert_hub(&self, tenant: &str, hub: &HubRow) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO hubs (tenant_id, name, created_at) VALUES ($1, $2, $3)",
            &[&tenant, &hub.name, &hub.created_at],
        )?;
        Ok(())
    }

    fn insert_subscription(&self, s: &SubscriptionRow) -> Result<i64, StoreError> {
        get(
            &self.query_one(
                "INSERT INTO subscriptions (tenant_id, kind, quantity, starts_at, ends_at, payment_due_at, paid_at, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING number",
                &[
                    &s.tenant_id,
                    &s.kind.as_str(),
                    &s.quantity,
                    &s.starts_at,
                    &s.ends_at,
                    &s.payment_due_at,
                    &s.paid_at,
                    &s.created_at,
                ],
            )?,
            0,
        )
    }

    fn set_subscription_paid(&self, number: i64, at: i64) -> Result<(), StoreError> {
        self.execute(
            "UPDATE subscriptions SET paid_at = $2 WHERE number = $1 AND paid_at IS NULL",
            &[&number, &at],
        )?;
        Ok(())
    }

    fn set_subscription_term(&self, number: i64, ends_at: i64, quantity: i64) -> Result<(), StoreError> {
        self.execute(
            "UPDATE subscriptions SET ends_at = $2, quantity = $3 WHERE number = $1",
            &[&number, &ends_at, &quantity],
        )?;
        Ok(())
    }

    fn insert_role(&self, tenant: &str, role: &RoleRow) -> Result<(), StoreError> {
        let levels = serde_json::to_string(&role.levels).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.execute(
            "INSERT INTO roles (tenant_id, name, levels) VALUES ($1, $2, $3)",
            &[&tenant, &role.name, &levels],
        )?;
        Ok(())
    }

    fn insert_user(&self, u: &UserRow) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO users (id, tenant_id, name, email, role, active, licensed_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &u.id,
                &u.tenant_id,
                &u.name,
                &u.email,
                &u.role,
                &u.active,
                &u.licensed_at,
                &u.created_at,
            ],
        )?;
        Ok(())
    }

    fn set_user_active(&self, id: &str, active: bool) -> Result<(), StoreError> {
        self.execute("UPDATE users SET active = $2 WHERE id = $1", &[&id, &active])?;
        Ok(())
    }

    fn set_user_role(&self, id: &str, role: &str) -> Result<(), StoreError> {
        self.execute("UPDATE users SET role = $2 WHERE id = $1", &[&id, &role])?;
        Ok(())
    }

    fn set_license(&self, id: &str, at: Option<i64>) -> Result<(), StoreError> {
        self.execute("UPDATE users SET licensed_at = $2 WHERE id = $1", &[&id, &at])?;
        Ok(())
    }

    fn insert_operator(&self, o: &OperatorRow) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO operators (id, tenant_id, number, name, owner_user_id, active, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &o.id,
                &o.tenant_id,
                &o.number,
                &o.name,
                &o.owner_user_id,
                &o.active,
                &o.created_at,
            ],
        )?;
        Ok(())
    }

    fn set_operator_active(&self, id: &str, active: bool) -> Result<(), StoreError> {
        self.execute("UPDATE operators SET active = $2 WHERE id = $1", &[&id, &active])?;
        Ok(())
    }

    fn link_operator(&self, id: &str, user: &str, name: &str) -> Result<(), StoreError> {
        self.execute(
            "UPDATE operators SET owner_user_id = $2, name = $3 WHERE id = $1",
            &[&id, &user, &name],
        )?;
        Ok(())
    }

    fn insert_production(&self, operator: &str, at: i64) -> Result<i64, StoreError> {
        get(
            &self.query_one(
                "INSERT INTO production_records (operator_id, at) VALUES ($1, $2) RETURNING id",
                &[&operator, &at],
            )?,
            0,
        )
    }

    fn insert_deactivation(
        &self,
        tenant: &str,
        subject_kind: &str,
        subject_id: &str,
        reason: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO deactivations (tenant_id, subject_kind, subject_id, reason, at) VALUES ($1, $2, $3, $4, $5)",
            &[&tenant, &subject_kind, &subject_id, &reason, &at],
        )?;
        Ok(())
    }

    fn entity_json(&self, ty: &str, id: &str) -> Result<Option<String>, StoreError> {
        self.query_opt(
            "SELECT json FROM entities WHERE type = $1 AND id = $2",
            &[&ty, &id],
        )?
        .map(|r| get(&r, 0))
        .transpose()
    }

    fn put_entity(&self, ty: &str, id: &str, json: &str) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO entities (type, id, json) VALUES ($1, $2, $3)
             ON CONFLICT (type, id) DO UPDATE SET json = excluded.json",
            &[&ty, &id, &json],
        )?;
        Ok(())
    }

    fn delete_entity(&self, ty: &str, id: &str) -> Result<bool, StoreError> {
        Ok(self.execute("DELETE FROM entities WHERE type = $1 AND id = $2", &[&ty, &id])? > 0)
    }

    fn entities_page(
        &self,
        ty: Option<&str>,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<(String, String, String)>, StoreError> {
        let (after_ty, after_id) = after.unwrap_or(("", ""));
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = match ty {
            Some(ty) => self.query(
                "SELECT type, id, json FROM entities WHERE type = $1 AND id > $2 ORDER BY type, id LIMIT $3",
                &[&ty, &after_id, &limit],
            )?,
            None => self.query(
                "SELECT type, id, json FROM entities WHERE (type, id) > ($1, $2) ORDER BY type, id LIMIT $3",
                &[&after_ty, &after_id, &limit],
            )?,
        };
        rows.iter()
            .map(|r| Ok((get(r, 0)?, get(r, 1)?, get(r, 2)?)))
            .collect()
    }

    fn entity_count(&self) -> Result<i64, StoreError> {
        get(&self.query_one("SELECT COUNT(*) FROM entities", &[])?, 0)
    }

    fn candidates(
        &self,
        ty: &str,
        ledger: bool,
        within: Within<'_>,
        after: &str,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        if !ledger {
            return strings(self.query(
                "SELECT id FROM entities WHERE type = $1 AND id > $2 ORDER BY id LIMIT $3",
                &[&ty, &after, &limit],
            )?);
        }
        let numbers = |rows: Vec<Row>| -> Result<Vec<String>, StoreError> {
            rows.iter()
                .map(|r| get::<i64>(r, 0).map(|n| n.to_string()))
                .collect()
        };
        match (ty, within) {
            ("User", Within::Tenant(t)) => strings(self.query(
                "SELECT id FROM users WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3",
                &[&t, &after, &limit],
            )?),
            ("User", Within::Account(a)) => strings(self.query(
                "SELECT x.id FROM users x JOIN tenants t ON t.id = x.tenant_id
                 WHERE t.account_id = $1 AND x.id > $2 ORDER BY x.id LIMIT $3",
                &[&a, &after, &limit],
            )?),
            ("User", Within::All) => strings(self.query(
                "SELECT id FROM users WHERE id > $1 ORDER BY id LIMIT $2",
                &[&after, &limit],
            )?),
            ("Operator", Within::Tenant(t)) => strings(self.query(
                "SELECT id FROM operators WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3",
                &[&t, &after, &limit],
            )?),
            ("Operator", Within::Account(a)) => strings(self.query(
                "SELECT x.id FROM operators x JOIN tenants t ON t.id = x.tenant_id
                 WHERE t.account_id = $1 AND x.id > $2 ORDER BY x.id LIMIT $3",
                &[&a, &after, &limit],
            )?),
            ("Operator", Within::All) => strings(self.query(
                "SELECT id FROM operators WHERE id > $1 ORDER BY id LIMIT $2",
                &[&after, &limit],
            )?),
            ("Tenant", Within::Tenant(t)) => Ok((t > after).then(|| t.to_string()).into_iter().collect()),
            ("Tenant", Within::Account(a)) => strings(self.query(
                "SELECT id FROM tenants WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3",
                &[&a, &after, &limit],
            )?),
            ("Tenant", Within::All) => strings(self.query(
                "SELECT id FROM tenants WHERE id > $1 ORDER BY id LIMIT $2",
                &[&after, &limit],
            )?),
            ("Account", Within::Tenant(t)) => strings(self.query(
                "SELECT account_id FROM tenants WHERE id = $1 AND account_id > $2 LIMIT $3",
                &[&t, &after, &limit],
            )?),
            ("Account", Within::Account(a)) => Ok((a > after).then(|| a.to_string()).into_iter().collect()),
            ("Account", Within::All) => strings(self.query(
                "SELECT id FROM accounts WHERE id > $1 ORDER BY id LIMIT $2",
                &[&after, &limit],
            )?),
            ("Subscription", _) => {
                let after = super::candidates::number_cursor(after);
                match within {
                    Within::Tenant(t) => numbers(self.query(
                        "SELECT number FROM subscriptions WHERE tenant_id = $1 AND number > $2 ORDER BY number LIMIT $3",
                        &[&t, &after, &limit],
                    )?),
                    Within::Account(a) => numbers(self.query(
                        "SELECT s.number FROM subscriptions s JOIN tenants t ON t.id = s.tenant_id
                         WHERE t.account_id = $1 AND s.number > $2 ORDER BY s.number LIMIT $3",
                        &[&a, &after, &limit],
                    )?),
                    Within::All => numbers(self.query(
                        "SELECT number FROM subscriptions WHERE number > $1 ORDER BY number LIMIT $2",
                        &[&after, &limit],
                    )?),
                }
            }
            ("Category", _) => Ok(super::candidates::categories_after(after, limit)),
            _ => Ok(Vec::new()),
        }
    }

    fn ping(&self) -> Result<(), StoreError> {
        self.query_one("SELECT 1", &[])?;
        Ok(())
    }

    fn swept_until(&self, now: i64) -> Result<i64, StoreError> {
        self.execute(
            "INSERT INTO meta (key, value) VALUES ('swept_until', $1) ON CONFLICT (key) DO NOTHING",
            &[&now],
        )?;
        get(
            &self.query_one("SELECT value FROM meta WHERE key = 'swept_until'", &[])?,
            0,
        )
    }

    fn set_swept_until(&self, at: i64) -> Result<(), StoreError> {
        self.execute("UPDATE meta SET value = $1 WHERE key = 'swept_until'", &[&at])?;
        Ok(())
    }

    fn dump(&self, table: &Table, offset: i64, limit: i64) -> Result<Vec<Vec<Cell>>, StoreError> {
        let rows = self
            .c
            .borrow_mut()
            .client
            .query(table.select_sql("$").as_str(), &[&limit, &offset])
            .map_err(pg_err)?;
        rows.iter()
            .map(|r| {
                (0..table.columns.len())
                    .map(|i| {
                        if table.booleans.contains(&table.columns[i]) {
                            let b: Option<bool> = get(r, i)?;
                            return Ok(b.map_or(Cell::Null, |b| Cell::Int(i64::from(b))));
                        }
                        if let Ok(n) = r.try_get::<_, Option<i64>>(i) {
                            return Ok(n.map_or(Cell::Null, Cell::Int));
                        }
                        let t: Option<String> = get(r, i)?;
                        Ok(t.map_or(Cell::Null, Cell::Text))
                    })
                    .collect()
            })
            .collect()
    }

    fn load(&self, table: &Table, rows: &[Vec<Cell>]) -> Result<(), StoreError> {
        use std::io::Write;
        // COPY in text format: one round trip for the whole chunk.
        let mut text = String::new();
        for row in rows {
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    text.push('\t');
                }
                match cell {
                    Cell::Null => text.push_str("\\N"),
                    Cell::Int(n) => text.push_str(&n.to_string()),
                    Cell::Text(t) => {
                        for ch in t.chars() {
                            match ch {
                                '\\' => text.push_str("\\\\"),
                                '\t' => text.push_str("\\t"),
                                '\n' => text.push_str("\\n"),
                                '\r' => text.push_str("\\r"),
                                c => text.push(c),
                            }
                        }
                    }
                }
            }
            text.push('\n');
        }
        let mut c = self.c.borrow_mut();
        let sql = format!("COPY {} ({}) FROM STDIN", table.name, table.columns.join(", "));
        let mut writer = c.client.copy_in(sql.as_str()).map_err(pg_err)?;
        writer
            .write_all(text.as_bytes())
            .map_err(|e| StoreError::Postgres(format!("COPY into `{}`: {e}", table.name)))?;
        writer.finish().map_err(pg_err)?;
        Ok(())
    }

    fn after_load(&self) -> Result<(), StoreError> {
        self.c
            .borrow_mut()
            .client
            .batch_execute(
                "SELECT setval(pg_get_serial_sequence('subscriptions', 'number'), COALESCE(MAX(number), 0) + 1, false) FROM subscriptions;
                 SELECT setval(pg_get_serial_sequence('production_records', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM production_records;
                 SELECT setval(pg_get_serial_sequence('deactivations', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM deactivations;",
            )
            .map_err(pg_err)
    }

    fn count_rows(&self, table: &Table) -> Result<i64, StoreError> {
        let row = self
            .c
            .borrow_mut()
            .client
            .query_one(
                format!("SELECT COUNT(*) FROM {} WHERE {}", table.name, table.only).as_str(),
                &[],
            )
            .map_err(pg_err)?;
        get(&row, 0)
    }
}

/// Every query fails with the reason the job could not run.
macro_rules! refuse {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        impl Conn for Broken {
            $(fn $name(&self, $(_: $ty),*) -> Result<$ret, StoreError> {
                Err(StoreError::Unavailable(self.0.clone()))
            })*
        }
    };
}

super::conn_methods!(refuse);

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
