//! store: the only module that speaks SQL.
//!
//! One interface, [`Conn`], holds every query the rest of the crate asks of a
//! database: the ledger's rows, the facts a decision needs, the generic
//! entities, search candidates. Each backend implements it once, beside the
//! others: [`sqlite`] (the embedded default: one file, a single writer thread
//! that groups jobs into transactions, a small pool of read connections) and
//! [`postgres`] (any number of nodes over one database: a write is one
//! transaction holding the ledger lock, committed changes are announced to the
//! other nodes). Callers read through [`Store::read`] / [`Store::reader`] and
//! write through [`Store::write`]; nobody hears "done" before the transaction
//! holding their change is committed. This module never builds a Cedar entity
//! and never decides anything.

pub mod candidates;
mod conn;
mod copy;
pub mod postgres;
pub mod rows;
pub mod sqlite;
pub mod testing;
mod tx;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub use conn::Conn;
pub(crate) use conn::{conn_tracked, conn_untracked};
pub use copy::{Cell, TABLES, Table};
pub use tx::{Generations, Tx, scope};

/// Everything that can go wrong below the SQL line.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
    #[error("database error: {0}")]
    Postgres(String),
    #[error("cannot open the database `{path}`: {message}")]
    Open { path: String, message: String },
    #[error("the database was written by a newer turnstile (schema version {found}, this one knows {known})")]
    TooNew { found: i64, known: i64 },
    #[error("the database writer has stopped")]
    Closed,
    #[error("the change could not be committed: {0}")]
    Commit(String),
    #[error("a write panicked and was rolled back")]
    Panicked,
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// A UNIQUE or PRIMARY KEY violation, on any backend.
    #[error("duplicate key: {0}")]
    Duplicate(String),
    /// Text the database cannot hold (a NUL character, on PostgreSQL): such a
    /// value names nothing stored and cannot be stored.
    #[error("text with a NUL character cannot be stored")]
    Unrepresentable,
    /// The database cannot be reached now (connection refused or lost, pool
    /// exhausted, statement timed out): try again later.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match &e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                StoreError::Duplicate(e.to_string())
            }
            rusqlite::Error::SqliteFailure(f, _)
                if f.code == rusqlite::ErrorCode::DatabaseBusy
                    || f.code == rusqlite::ErrorCode::DatabaseLocked =>
            {
                StoreError::Unavailable(e.to_string())
            }
            _ => StoreError::Sqlite(e),
        }
    }
}

impl StoreError {
    /// Whether the database could not be reached (as opposed to a refusal or a
    /// bug): the HTTP layer answers 503 for these.
    pub(crate) fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_) | StoreError::Closed)
    }
}

/// Where the data lives, as `--db` / `TURNSTILE_DB` name it: a path or
/// `sqlite:PATH` (the embedded default), or a `postgres://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Location {
    /// Reads `--db`: `postgres://…` or `postgresql://…` is PostgreSQL;
    /// `sqlite:PATH` or a plain path is a SQLite file.
    pub fn parse(db: &str) -> Result<Self, String> {
        let trimmed = db.trim();
        if trimmed.is_empty() {
            return Err("the database location is empty".into());
        }
        if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
            return Ok(Location::Postgres(trimmed.to_string()));
        }
        if let Some(path) = trimmed
            .strip_prefix("sqlite://")
            .or_else(|| trimmed.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err("`sqlite:` needs a file path, e.g. `sqlite:./turnstile.db`".into());
            }
            return Ok(Location::Sqlite(PathBuf::from(path)));
        }
        if let Some((scheme, _)) = trimmed.split_once("://") {
            return Err(format!(
                "`{scheme}://` is not a database this service speaks: give a file path, `sqlite:PATH` or a `postgres://` URL"
            ));
        }
        Ok(Location::Sqlite(PathBuf::from(trimmed)))
    }

    /// The backend's name, for health and metrics.
    pub fn backend(&self) -> &'static str {
        match self {
            Location::Sqlite(_) => "sqlite",
            Location::Postgres(_) => "postgres",
        }
    }

    /// How to name it in messages: the path, or the URL without its password.
    pub fn display(&self) -> String {
        match self {
            Location::Sqlite(p) => p.display().to_string(),
            Location::Postgres(url) => postgres::redact(url),
        }
    }
}

impl From<PathBuf> for Location {
    fn from(p: PathBuf) -> Self {
        Location::Sqlite(p)
    }
}

impl From<&Path> for Location {
    fn from(p: &Path) -> Self {
        Location::Sqlite(p.to_path_buf())
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display())
    }
}

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    backend: Arc<Backend>,
    shared: Arc<Shared>,
}

/// The backends, each in its own module.
enum Backend {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

/// What every backend keeps up to date for the caches above it.
pub(crate) struct Shared {
    /// Change counters per scope, for caches built on top of the store.
    pub(crate) generations: Generations,
    /// The revision of the data this node has seen: the number of committed
    /// write transactions (persisted in the database, shared by every node).
    pub(crate) data_revision: AtomicU64,
    pub(crate) location: Location,
}

impl Shared {
    fn new(location: Location, revision: u64) -> Arc<Self> {
        Arc::new(Self {
            generations: Generations::default(),
            data_revision: AtomicU64::new(revision),
            location,
        })
    }

    /// Records a revision committed here or seen from another node: the
    /// counter only moves forward.
    pub(crate) fn advance(&self, revision: u64) {
        self.data_revision.fetch_max(revision, Ordering::SeqCst);
    }
}

/// A job for a writer: runs inside the write transaction (in a savepoint of
/// its own on SQLite) and returns whether it succeeded and what to do once the
/// transaction is committed (or not).
pub(crate) type Job = Box<dyn FnOnce(&dyn Conn, &mut Vec<String>) -> (bool, Completion) + Send>;
/// Tells a job's caller how its transaction ended: the revision it committed.
pub(crate) type Completion = Box<dyn FnOnce(Result<u64, StoreError>) + Send>;

/// What the store can say about itself, for health and metrics.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Status {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// The path, or the URL without its password.
    pub location: String,
    /// The data revision this node has seen.
    pub data_revision: u64,
    /// Milliseconds since this node last heard from the database that its
    /// caches are current (0 on SQLite, where this node makes every change).
    pub staleness_ms: u64,
    /// Whether the change feed from the other nodes is connected (always
    /// true on SQLite).
    pub listening: bool,
}

tokio::task_local! {
    /// The highest revision committed by the writes of the task running in
    /// [`track_revision`].
    static COMMITTED: Arc<AtomicU64>;
}

/// Runs `f`, and answers with the highest data revision any write it made
/// committed (0: none): what an HTTP answer reports to its caller.
pub(crate) async fn track_revision<F: std::future::Future>(f: F) -> (F::Output, u64) {
    let cell = Arc::new(AtomicU64::new(0));
    let out = COMMITTED.scope(cell.clone(), f).await;
    (out, cell.load(Ordering::SeqCst))
}

impl Store {
    /// Opens (creating and migrating if needed) the SQLite database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_at(&Location::Sqlite(path.to_path_buf()))
    }

    /// Opens the database at `location`, creating and migrating it if needed.
    pub fn open_at(location: &Location) -> Result<Self, StoreError> {
        Self::open_with(location, &Options::default())
    }

    /// [`Store::open_at`] with options.
    pub fn open_with(location: &Location, options: &Options) -> Result<Self, StoreError> {
        let (backend, shared) = match location {
            Location::Sqlite(path) => {
                let (b, shared) = sqlite::Sqlite::open(path, location.clone())?;
                (Backend::Sqlite(b), shared)
            }
            Location::Postgres(url) => {
                let (b, shared) = postgres::Postgres::open(url, location.clone(), options)?;
                (Backend::Postgres(b), shared)
            }
        };
        let store = Store {
            backend: Arc::new(backend),
            shared,
        };
        // Read once now, so a database that cannot be read fails start-up
        // (PostgreSQL has read its revision already, on a thread of its own).
        if matches!(&*store.backend, Backend::Sqlite(_)) {
            store.read(|c| c.ping())?;
        }
        Ok(store)
    }

    /// Where the data lives.
    pub fn location(&self) -> &Location {
        &self.shared.location
    }

    /// The data revision this node has seen: committed write transactions,
    /// counted by the database (every node counts the same ones).
    pub fn data_revision(&self) -> u64 {
        self.shared.data_revision.load(Ordering::SeqCst)
    }

    /// Change counters for caches.
    pub(crate) fn generations(&self) -> &Generations {
        &self.shared.generations
    }

    /// The backend's state, for health and metrics.
    pub fn status(&self) -> Status {
        let (staleness_ms, listening) = match &*self.backend {
            Backend::Sqlite(_) => (0, true),
            Backend::Postgres(p) => (p.staleness_ms(), p.listening()),
        };
        Status {
            backend: self.shared.location.backend(),
            location: self.shared.location.display(),
            data_revision: self.data_revision(),
            staleness_ms,
            listening,
        }
    }

    /// How long ago the database last confirmed this node's caches current,
    /// in milliseconds (0 on SQLite). Cheap: decisions ask it every time.
    pub(crate) fn staleness_ms(&self) -> u64 {
        match &*self.backend {
            Backend::Sqlite(_) => 0,
            Backend::Postgres(p) => p.staleness_ms(),
        }
    }

    /// Waits until this node has seen data revision `revision` (its caches
    /// know every change up to it), at most `timeout`. Blocking.
    pub(crate) fn wait_for_revision(
        &self,
        revision: u64,
        timeout: std::time::Duration,
    ) -> Result<bool, StoreError> {
        if self.data_revision() >= revision {
            return Ok(true);
        }
        match &*self.backend {
            Backend::Sqlite(_) => Ok(self.data_revision() >= revision),
            Backend::Postgres(p) => p.wait_for_revision(revision, timeout),
        }
    }

    /// Runs `f` on a read connection. Blocking: call it from a blocking
    /// context (`spawn_blocking`), never directly on an async worker.
    pub fn read<T>(&self, f: impl FnOnce(&dyn Conn) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let reader = self.reader()?;
        f(&*reader)
    }

    /// A read connection held until the guard is dropped, for callers that
    /// read several rows in a row (a decision's slice). Blocking, like [`Store::read`].
    pub fn reader(&self) -> Result<Reader<'_>, StoreError> {
        match &*self.backend {
            Backend::Sqlite(s) => Ok(Reader::Sqlite(s.reader()?)),
            Backend::Postgres(p) => Ok(Reader::Postgres(Box::new(p.reader()?))),
        }
    }

    /// Runs `f` in a write transaction. It is acknowledged (the future resolves
    /// with `Ok`) only after the transaction holding it is committed; if `f` fails,
    /// its changes are rolled back and nothing else is affected.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut Tx<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.write_with_revision(f).await.map(|(v, _)| v)
    }

    /// [`Store::write`], answering with the data revision the change committed
    /// (for read-your-writes across nodes).
    pub(crate) async fn write_with_revision<T, E, F>(&self, f: F) -> Result<(T, u64), E>
    where
        F: FnOnce(&mut Tx<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(f, tx)?;
        let out = rx.await.map_err(|_| E::from(StoreError::Closed))?;
        if let Ok((_, revision)) = &out {
            let _ = COMMITTED.try_with(|c| c.fetch_max(*revision, Ordering::SeqCst));
        }
        out
    }

    /// [`Store::write`] for callers outside the async runtime (CLI, fixtures).
    pub fn write_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut Tx<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(f, tx)?;
        rx.blocking_recv()
            .map_err(|_| E::from(StoreError::Closed))?
            .map(|(v, _)| v)
    }

    fn submit<T, E, F>(&self, f: F, reply: tokio::sync::oneshot::Sender<Result<(T, u64), E>>) -> Result<(), E>
    where
        F: FnOnce(&mut Tx<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let job: Job = Box::new(move |conn, touched| {
            let mut t = Tx::new(conn);
            let result = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut t))) {
                Ok(r) => r,
                Err(_) => Err(E::from(StoreError::Panicked)),
            };
            let ok = result.is_ok();
            if ok {
                touched.append(&mut t.into_touched());
            }
            let done: Completion = Box::new(move |commit| {
                let out = match (result, commit) {
                    (Ok(v), Ok(revision)) => Ok((v, revision)),
                    (Ok(_), Err(e)) => Err(E::from(e)),
                    (Err(e), _) => Err(e),
                };
                let _ = reply.send(out);
            });
            (ok, done)
        });
        match &*self.backend {
            Backend::Sqlite(s) => s.submit(job).map_err(E::from),
            Backend::Postgres(p) => p.submit(job).map_err(E::from),
        }
    }

    /// Stops accepting writes, lets the writer finish what is queued, and waits
    /// for it. Writes submitted afterwards fail with [`StoreError::Closed`].
    /// Whether this node can take ledger writes now (its writer is running):
    /// readiness asks it beside a read.
    pub(crate) fn writable(&self) -> bool {
        match &*self.backend {
            Backend::Sqlite(s) => s.writable(),
            Backend::Postgres(p) => p.writable(),
        }
    }

    pub fn close(&self) {
        match &*self.backend {
            Backend::Sqlite(s) => s.close(),
            Backend::Postgres(p) => p.close(),
        }
    }
}

/// How a store is run, beyond where it is.
#[derive(Debug, Clone)]
pub struct Options {
    /// Connections in the pool (PostgreSQL): readers and writers together.
    pub pool_size: u32,
    /// How long one statement may run before the database cancels it.
    pub statement_timeout: std::time::Duration,
    /// How long a request may wait for a connection (PostgreSQL): the
    /// database gone or every connection busy, it then answers 503.
    pub connect_timeout: std::time::Duration,
    /// How often a node polls the revision table when its change feed is
    /// down (and, more rarely, when it is up, to catch a lost notification).
    pub poll_every: std::time::Duration,
    /// A name for this node in logs, health and the database's view of it.
    pub node_id: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            pool_size: 12,
            statement_timeout: std::time::Duration::from_secs(5),
            connect_timeout: std::time::Duration::from_secs(5),
            poll_every: std::time::Duration::from_millis(500),
            node_id: default_node_id(),
        }
    }
}

/// The host name and process id: unique enough among a deployment's nodes.
pub(crate) fn default_node_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".into());
    format!("{host}-{}", std::process::id())
}

/// A read connection; goes back to its pool when dropped.
pub enum Reader<'s> {
    Sqlite(sqlite::Reader<'s>),
    Postgres(Box<postgres::Reader>),
}

impl std::ops::Deref for Reader<'_> {
    type Target = dyn Conn;
    fn deref(&self) -> &Self::Target {
        match self {
            Reader::Sqlite(r) => &**r,
            Reader::Postgres(r) => &***r,
        }
    }
}

#[cfg(test)]
mod tests;
