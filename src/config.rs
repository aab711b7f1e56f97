//! config: the validated settings of a running service.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::store::Location;

/// Everything `serve` needs, checked.
#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    /// Where the data lives: a SQLite file or a PostgreSQL URL.
    pub db: Location,
    /// This node's name in health, metrics and the decision log.
    pub node_id: String,
    /// How long decisions may be served from cached data the database has not
    /// confirmed current (PostgreSQL); past that, decisions answer 503.
    pub max_staleness: Duration,
    /// How long a request asking `Turnstile-Min-Revision` may wait for it.
    pub revision_wait: Duration,
    pub policies: PathBuf,
    /// The ledger's bearer token; `None` makes the service generate one.
    pub admin_token: Option<String>,
    /// Bearer tokens a PEP must present to ask decisions (AuthZEN evaluation and
    /// search); empty: decisions are open to anyone who reaches the address.
    pub decision_tokens: Vec<String>,
    /// The base URL announced by AuthZEN discovery; derived from `Host` if unset.
    pub public_url: Option<String>,
    /// The largest request body accepted, in bytes.
    pub max_body: usize,
    /// How long one request may take before it is answered 503.
    pub request_timeout: Duration,
    /// Where decisions are logged (`-` for stdout), if anywhere.
    pub decision_log: Option<PathBuf>,
    /// How many recent decisions are kept in memory (the console's log).
    pub recent_decisions: usize,
    /// The scenario folder the console checks policy edits against.
    pub scenarios: Option<PathBuf>,
    /// Watch the policy directory and reload on change.
    pub watch: bool,
    /// Serve `POST /bench/echo` (benchmarks only).
    pub echo_route: bool,
    /// How long a client may take to send a request's headers, and how long a
    /// kept-alive connection may stay idle, before it is closed.
    pub header_timeout: Duration,
    /// The most connections served at once; more wait in the accept queue.
    pub max_connections: usize,
    /// How many built entities the decision cache keeps (0: none); bounds memory.
    pub cache_entities: usize,
}

impl Config {
    /// The defaults `turnstile serve` starts from.
    pub fn new(db: impl Into<Location>, policies: PathBuf) -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8180)),
            db: db.into(),
            node_id: crate::store::default_node_id(),
            max_staleness: Duration::from_secs(30),
            revision_wait: Duration::from_secs(2),
            policies,
            admin_token: None,
            decision_tokens: Vec::new(),
            public_url: None,
            max_body: 1024 * 1024,
            request_timeout: Duration::from_secs(10),
            decision_log: None,
            recent_decisions: crate::decision_log::DEFAULT_RECENT,
            scenarios: None,
            watch: true,
            echo_route: false,
            cache_entities: crate::slice::DEFAULT_CACHE_CAPACITY,
            header_timeout: Duration::from_secs(10),
            max_connections: 4096,
        }
    }
}
