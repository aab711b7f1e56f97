//! server: builds the service from a [`Config`] and runs it until asked to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;

use crate::config::Config;
use crate::decide::Engine;
use crate::decision_log::{self, DecisionLog};
use crate::http::AppState;
use crate::policy::{PackError, PolicyPack, SourceFile};
use crate::store::{Store, StoreError};
use crate::time::Clock;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_pack.rs"));
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the policies cannot serve:\n{0}")]
    Pack(#[from] PackError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot open the decision log `{path}`: {source}")]
    DecisionLog { path: String, source: std::io::Error },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// The licensing pack built into the binary.
pub fn embedded_pack() -> Result<PolicyPack, PackError> {
    let files = embedded::FILES
        .iter()
        .map(|(name, text)| SourceFile {
            name: (*name).to_string(),
            text: (*text).to_string(),
        })
        .collect();
    PolicyPack::from_files(Path::new("<embedded>"), files)
}

/// Loads the pack at `dir`; the embedded licensing pack if `dir` is `None`.
pub(crate) fn load_pack(dir: Option<&Path>) -> Result<PolicyPack, PackError> {
    match dir {
        Some(d) => PolicyPack::load(d),
        None => embedded_pack(),
    }
}

/// A random admin token, for a newcomer who did not choose one.
pub(crate) fn generate_token() -> String {
    let mut bytes = [0u8; 24];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS randomness: fall back on a ULID's (still unguessable enough for a
        // local trial, and reported as such).
        return format!("tt_{}", ulid::Ulid::new());
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("tt_{hex}")
}

/// A service ready to run: policies loaded, database open, port bound.
pub struct Application {
    listener: tokio::net::TcpListener,
    /// Connection limits: header/idle timeout, connections at once.
    limits: ConnectionLimits,
    router: Router,
    state: AppState,
    /// Keeps the policy directory watched while the service runs.
    _watcher: Option<notify::RecommendedWatcher>,
    /// The generated admin token, if none was configured.
    pub generated_token: Option<String>,
}

impl Application {
    /// Loads and validates the policies (refusing to start on any problem), opens
    /// and migrates the database, binds the address (port 0 picks a free one).
    pub async fn build(config: Config, policies: Option<PathBuf>) -> Result<Self, StartError> {
        let pack = load_pack(policies.as_deref())?;
        crate::contract::check(&pack)?;
        let options = crate::store::Options {
            node_id: config.node_id.clone(),
            ..crate::store::Options::default()
        };
        let store = Store::open_with(&config.db, &options)?;
        let engine = Arc::new(Engine::with_cache(
            pack,
            store,
            Clock::system(),
            config.cache_entities,
        )?);
        engine.set_node(&config.node_id);
        engine.set_max_staleness(config.max_staleness);
        if config.decision_log.is_some() || config.recent_decisions > 0 {
            let target = config
                .decision_log
                .as_deref()
                .map_or(decision_log::Target::Memory, decision_log::Target::parse);
            let log = DecisionLog::open(target, decision_log::DEFAULT_CAPACITY, config.recent_decisions)
                .map_err(|source| StartError::DecisionLog {
                    path: config
                        .decision_log
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default(),
                    source,
                })?;
            engine.set_log(Arc::new(log));
        }
        Self::with_engine(config, engine, policies).await
    }

    /// Builds around an engine made elsewhere (tests, scenarios); `policies` is
    /// the directory its pack came from, if any (for reloads).
    pub async fn with_engine(
        config: Config,
        engine: Arc<Engine>,
        policies: Option<PathBuf>,
    ) -> Result<Self, StartError> {
        let (token, generated_token) = match &config.admin_token {
            Some(t) => (t.clone(), None),
            None => {
                let t = generate_token();
                (t.clone(), Some(t))
            }
        };
        crate::http::observe::handle();
        let state = AppState::new(engine, &token, config.public_url.clone(), policies)
            .with_limits(crate::http::observe::Limits {
                max_body: config.max_body,
                timeout: config.request_timeout,
            })
            .with_decision_tokens(&config.decision_tokens)
            .with_revision_wait(config.revision_wait)
            .with_scenarios(config.scenarios.clone());
        if !state.decisions_need_token() && !config.addr.ip().is_loopback() {
            tracing::warn!(
                addr = %config.addr,
                "decisions are served without authentication on a non-loopback address: anyone who \
                 reaches it may ask; set --decision-token (TURNSTILE_DECISION_TOKENS) for your PEPs"
            );
        }
        let watcher = if config.watch {
            match state.reloader().watch() {
                Ok(w) => w,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot watch the policy directory; reload with SIGHUP or POST /v1/admin/reload");
                    None
                }
            }
        } else {
            None
        };
        #[cfg(unix)]
        if state.reloader().dir().is_some() {
            state.reloader().on_sighup();
        }
        let mut router = crate::app(state.clone());
        if config.echo_route {
            router = router.route(
                "/bench/echo",
                axum::routing::post(
                    |axum::Json(v): axum::Json<serde_json::Value>| async move { axum::Json(v) },
                ),
            );
        }
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .map_err(|source| StartError::Bind {
                addr: config.addr,
                source,
            })?;
        Ok(Self {
            listener,
            limits: ConnectionLimits {
                header_timeout: config.header_timeout,
                max_connections: config.max_connections.max(1),
            },
            router,
            state,
            _watcher: watcher,
            generated_token,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serves until `shutdown` resolves, then finishes the requests in flight.
    /// Meanwhile a sweep reconciles tenants whose subscriptions end (R9).
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let sweeper = tokio::spawn(sweep_forever(self.state.clone()));
        let served = serve_connections(self.listener, self.router, self.limits, shutdown).await;
        sweeper.abort();
        // Everything answered is durable already; flush what the log still holds.
        if let Some(log) = self.state.engine().log() {
            log.close();
        }
        self.state.engine().store().close();
        served
    }
}

/// What a connection may take of the server.
#[derive(Debug, Clone, Copy)]
struct ConnectionLimits {
    header_timeout: std::time::Duration,
    max_connections: usize,
}

/// Serves HTTP/1 and HTTP/2 on `listener` until `shutdown`, then lets the
/// connections in flight finish. Unlike a bare `axum::serve`, a client must
/// send each request's headers within `header_timeout` (a kept-alive
/// connection idle that long is closed too), and at most `max_connections`
/// are served at once: slow or idle clients cannot hold the server.
async fn serve_connections(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::service::TowerToHyperService;

    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        // The connection's hard limits sit above the API's own (`http::MAX_HEADERS`,
        // `http::MAX_HEADER_BYTES`): up to them a caller gets a 431 in JSON; past
        // them hyper closes with an empty one.
        .max_headers(4 * crate::http::MAX_HEADERS)
        .max_buf_size(4 * crate::http::MAX_HEADER_BYTES);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(limits.header_timeout))
        .keep_alive_timeout(limits.header_timeout)
        .max_concurrent_streams(256);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // Wait for a free slot before accepting: extra clients wait in the
        // kernel's queue rather than hold file descriptors here.
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: pause, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        metrics::gauge!("turnstile_http_connections").increment(1.0);
        let service = TowerToHyperService::new(router.clone());
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection closed");
            }
            metrics::gauge!("turnstile_http_connections").decrement(1.0);
            drop(permit);
        });
    }
    drop(listener);
    // Let the requests in flight finish (bounded, like the request timeout).
    let _ = tokio::time::timeout(std::time::Duration::from_secs(30), graceful.shutdown()).await;
    Ok(())
}

/// How often the subscription-end sweep runs.
pub(crate) const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Reconciles, every [`SWEEP_EVERY`], the tenants whose subscriptions ended
/// since the last sweep (capacity drops when a term ends, R9).
async fn sweep_forever(state: AppState) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    loop {
        tick.tick().await;
        match state.ledger().sweep().await {
            Ok(plans) => {
                for p in plans {
                    tracing::info!(
                        tenant = %p.tenant,
                        operators = p.operators.len(),
                        licenses = p.licenses.len(),
                        "subscription ended: seats reconciled"
                    );
                }
            }
            Err(e) => tracing::error!(error = %e, "the reconciliation sweep failed"),
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
