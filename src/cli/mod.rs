//! cli: the command line. Each command turns its arguments into a validated
//! call into the library and an exit code (0 success, 1 failure, 2 usage).

mod data;
mod inspect;
mod pack;
mod scenarios;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::config::Config;
use crate::policy::PolicyPack;
use crate::server::{self, Application};
use crate::store::{Location, Store};
use serde_json::{Value, json};

pub use inspect::ExplainArgs;
pub use scenarios::TestFormat;

use data::*;
use inspect::*;
use pack::*;
use scenarios::*;

/// Licensing decisions as Cedar policies over SQLite slices, served over OpenID AuthZEN.
#[derive(Debug, Parser)]
#[command(name = "turnstile", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve decisions (AuthZEN) and the licence ledger over HTTP.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "TURNSTILE_ADDR", default_value = "127.0.0.1:8180")]
        addr: SocketAddr,
        /// The database: a SQLite file (a path or `sqlite:PATH`; created and
        /// migrated on first start) or a `postgres://` URL, which any number
        /// of nodes may serve at once.
        #[arg(long, env = "TURNSTILE_DB", default_value = "turnstile.db", value_parser = location)]
        db: Location,
        /// This node's name in health, metrics and the decision log (default:
        /// host name and process id).
        #[arg(long, env = "TURNSTILE_NODE_ID")]
        node_id: Option<String>,
        /// How long decisions may be served from cached data while the
        /// database cannot confirm it is current (PostgreSQL), in seconds;
        /// past that, decisions answer 503.
        #[arg(long, env = "TURNSTILE_MAX_STALENESS", default_value_t = 30.0)]
        max_staleness: f64,
        /// How long a client may take to send a request's headers, and a
        /// kept-alive connection may stay idle, in seconds; then it is closed.
        #[arg(long, env = "TURNSTILE_HEADER_TIMEOUT", default_value_t = 10.0)]
        header_timeout: f64,
        /// The most connections served at once (more wait to be accepted).
        #[arg(long, env = "TURNSTILE_MAX_CONNECTIONS", default_value_t = 4096)]
        max_connections: usize,
        /// How long a request carrying `Turnstile-Min-Revision` may wait for
        /// this node to see that revision, in seconds; past that, 503.
        #[arg(long, env = "TURNSTILE_REVISION_WAIT", default_value_t = 2.0)]
        revision_wait: f64,
        /// Policy directory (schema.cedarschema and *.cedar). Without it,
        /// `./policies` if present, else the licensing pack built into the binary.
        #[arg(long, env = "TURNSTILE_POLICIES")]
        policies: Option<PathBuf>,
        /// Base URL announced by AuthZEN discovery (default: from the Host header).
        #[arg(long, env = "TURNSTILE_PUBLIC_URL")]
        public_url: Option<String>,
        /// A bearer token PEPs must send to ask decisions and searches (repeat
        /// for several; the env variable takes a comma-separated list). Without
        /// any, decisions are open to whoever reaches the address.
        #[arg(
            long = "decision-token",
            env = "TURNSTILE_DECISION_TOKENS",
            value_delimiter = ',',
            hide_env_values = true
        )]
        decision_tokens: Vec<String>,
        /// Log format.
        #[arg(long, value_enum, default_value = "text", env = "TURNSTILE_LOG_FORMAT")]
        log_format: LogFormat,
        /// Write one JSON line per decision to this file (`-` for stdout).
        #[arg(long, env = "TURNSTILE_DECISION_LOG")]
        decision_log: Option<PathBuf>,
        /// How many recent decisions to keep in memory for the console's
        /// decision log and its policy-impact replay (0: none, and no decision
        /// is recorded unless `--decision-log` is set).
        #[arg(long, env = "TURNSTILE_RECENT_DECISIONS", default_value_t = crate::decision_log::DEFAULT_RECENT)]
        recent_decisions: usize,
        /// The scenario folder the console checks a policy edit against (which
        /// recorded answers it would change); ignored when it does not exist.
        #[arg(long, env = "TURNSTILE_SCENARIOS", default_value = "fixtures/scenarios")]
        scenarios: PathBuf,
        /// Do not watch the policy directory (reload with SIGHUP or the API).
        #[arg(long)]
        no_watch: bool,
        /// Also serve `POST /bench/echo`, a bare JSON echo: the ceiling the HTTP
        /// benchmark compares decisions with.
        #[arg(long, hide = true)]
        echo_route: bool,
        /// Async worker threads (default: one per core).
        #[arg(long, env = "TURNSTILE_WORKERS")]
        workers: Option<usize>,
        /// Threads reading SQLite for decisions whose entities are not cached
        /// (each holds one read connection).
        #[arg(long, env = "TURNSTILE_READ_THREADS", default_value_t = DEFAULT_READ_THREADS)]
        read_threads: usize,
        /// Built entities kept in memory for decisions (0: read every entity
        /// from the database). 6-9 KB each (`cargo bench --bench memory`).
        #[arg(long, env = "TURNSTILE_CACHE_ENTITIES", default_value_t = crate::slice::DEFAULT_CACHE_CAPACITY)]
        cache_entities: usize,
    },
    /// Generate a large, realistic licence ledger for benchmarks.
    BenchData {
        /// The database to fill: a new SQLite file, or an empty `postgres://` database.
        #[arg(long, value_parser = location)]
        db: Location,
        /// About how many Cedar entities (accounts, tenants, subscriptions,
        /// users, operators) to generate: 80 per tenant.
        #[arg(long, default_value_t = 1_000_000)]
        entities: usize,
        /// The time the ledger is generated at (RFC 3339; default now).
        #[arg(long)]
        now: Option<String>,
    },
    /// Copy a ledger into another (empty) database and verify the copy: row
    /// counts per table and the same answers to a sample of decisions.
    MigrateData {
        /// The database to copy (a SQLite path or `sqlite:PATH`, or a URL).
        #[arg(long, value_parser = location)]
        from: Location,
        /// The empty database to copy into (e.g. `postgres://…`).
        #[arg(long, value_parser = location)]
        to: Location,
        /// The pack whose decisions are compared (default: `./policies` if
        /// present, else the built-in licensing pack).
        #[arg(long, env = "TURNSTILE_POLICIES")]
        policies: Option<PathBuf>,
        /// How many decisions to ask of both databases.
        #[arg(long, default_value_t = 200)]
        sample: usize,
    },
    /// Check a policy directory: parse, strict validation, entity level.
    Validate {
        /// Policy directory.
        #[arg(long, env = "TURNSTILE_POLICIES", default_value = "policies")]
        policies: PathBuf,
    },
    /// Load entities (Cedar entity JSON) for packs other than the licensing one.
    Import {
        /// The database (a SQLite path or a `postgres://` URL).
        #[arg(long, env = "TURNSTILE_DB", default_value = "turnstile.db", value_parser = location)]
        db: Location,
        /// The pack whose schema the entities must fit.
        #[arg(long, env = "TURNSTILE_POLICIES", default_value = "policies")]
        policies: PathBuf,
        /// A JSON file holding an array of Cedar entities.
        entities: PathBuf,
    },
    /// Run scenario files (*.yaml) and report each case: its expectations,
    /// and its whole answer against the recorded one (`answers/` beside the files).
    Test {
        /// Directory of scenario files, one file, or `FILE#CASE` for the cases
        /// of a file whose name contains CASE.
        dir: PathBuf,
        /// Policy directory the scenarios run against.
        #[arg(long, env = "TURNSTILE_POLICIES", default_value = "policies")]
        policies: PathBuf,
        /// Report which policies determined at least one decision.
        #[arg(long)]
        coverage: bool,
        /// Fail when fewer than this percentage of policies are covered.
        #[arg(long, value_name = "PCT")]
        min_coverage: Option<f64>,
        /// Report only the cases whose name contains this (every step still runs).
        #[arg(long, value_name = "NAME")]
        case: Option<String>,
        /// How to report.
        #[arg(long, value_enum, default_value = "text")]
        format: TestFormat,
        /// Show how each file's answers differ from the recorded ones and,
        /// once confirmed, record them.
        #[arg(long)]
        accept: bool,
        /// With `--accept`: record without asking.
        #[arg(long, requires = "accept")]
        yes: bool,
    },
    /// Prove the pack's invariants (`invariants.yaml` in the policy
    /// directory) for every request the schema allows, with the cvc5 SMT
    /// solver; with `--against`, also prove how the pack relates to another.
    Prove {
        /// Policy directory.
        #[arg(long, env = "TURNSTILE_POLICIES", default_value = "policies")]
        policies: PathBuf,
        /// The invariants file (default: `invariants.yaml` in the policy directory).
        #[arg(long)]
        invariants: Option<PathBuf>,
        /// Prove only the invariant with this id (repeat for several).
        #[arg(long = "only", value_name = "ID")]
        only: Vec<String>,
        /// Another pack (e.g. what serves today): prove that the pack
        /// relates to it as `--expect` says, under the pack's `assume`
        /// (the invariants themselves only with `--invariants` or `--only`).
        #[arg(long, value_name = "DIR")]
        against: Option<PathBuf>,
        /// How the pack must relate to `--against`.
        #[arg(long, value_enum, default_value = "restricts")]
        expect: crate::prove::Relation,
        /// Write each counterexample into this directory as a scenario file
        /// (`turnstile test DIR` replays it).
        #[arg(long, value_name = "DIR")]
        counterexamples: Option<PathBuf>,
        /// The solver's time limit for one query, in seconds.
        #[arg(long, default_value_t = 60.0)]
        timeout: f64,
    },
    /// Format policy files with the official Cedar formatter.
    Fmt {
        /// Policy directory.
        #[arg(long, env = "TURNSTILE_POLICIES", default_value = "policies")]
        policies: PathBuf,
        /// Change nothing; exit 1 if a file is not formatted.
        #[arg(long)]
        check: bool,
    },
    /// Explain a decision: the determining policies, and for every policy of
    /// the action that did not apply, the condition that failed and the values
    /// it saw.
    Explain(ExplainArgs),
    /// Re-decide logged requests against a candidate policy set and list every
    /// decision that would flip, with the policies responsible.
    Replay {
        /// Decision log (JSON lines written by `serve --decision-log`).
        #[arg(long)]
        log: PathBuf,
        /// The candidate policy directory.
        #[arg(long)]
        policies: PathBuf,
        /// The policy directory serving today.
        #[arg(long, default_value = "policies")]
        baseline: PathBuf,
        /// The database holding the entities (a SQLite path or a `postgres://` URL).
        #[arg(long, env = "TURNSTILE_DB", default_value = "turnstile.db", value_parser = location)]
        db: Location,
        /// Which logged decisions to replay: `authzen` (asked by callers) or
        /// `ledger` (checks of ledger changes).
        #[arg(long, default_value = "authzen")]
        source: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Exit 1 if any decision flips.
        #[arg(long)]
        fail_on_flip: bool,
        /// Exit 1 if any answer changes at all (a countdown, a message, a flip).
        #[arg(long)]
        fail_on_change: bool,
    },
}

/// Runs the command line.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Serve {
            addr,
            db,
            node_id,
            max_staleness,
            revision_wait,
            header_timeout,
            max_connections,
            policies,
            public_url,
            decision_tokens,
            log_format,
            decision_log,
            recent_decisions,
            scenarios,
            no_watch,
            echo_route,
            workers,
            read_threads,
            cache_entities,
        } => {
            init_tracing(log_format);
            let policies = policies.or_else(|| {
                let default = PathBuf::from("policies");
                default
                    .join(crate::policy::SCHEMA_FILE)
                    .exists()
                    .then_some(default)
            });
            let mut config = Config::new(db, policies.clone().unwrap_or_default());
            config.addr = addr;
            config.public_url = public_url;
            if let Some(id) = node_id.filter(|n| !n.trim().is_empty()) {
                config.node_id = id;
            }
            config.max_staleness = std::time::Duration::from_secs_f64(max_staleness.max(0.0));
            config.revision_wait = std::time::Duration::from_secs_f64(revision_wait.max(0.0));
            config.header_timeout = std::time::Duration::from_secs_f64(header_timeout.max(0.1));
            config.max_connections = max_connections.max(1);
            config.decision_tokens = decision_tokens
                .into_iter()
                .filter(|t| !t.trim().is_empty())
                .collect();
            config.decision_log = decision_log;
            config.recent_decisions = recent_decisions;
            config.scenarios = scenarios.is_dir().then_some(scenarios);
            config.watch = !no_watch;
            config.echo_route = echo_route;
            config.cache_entities = cache_entities;
            config.admin_token = std::env::var("TURNSTILE_ADMIN_TOKEN")
                .ok()
                .filter(|t| !t.is_empty());
            runtime_with(workers, read_threads)
                .map_or(ExitCode::FAILURE, |rt| rt.block_on(serve(config, policies)))
        }
        Command::Validate { policies } => validate(&policies),
        Command::MigrateData {
            from,
            to,
            policies,
            sample,
        } => migrate_data(&from, &to, policies, sample),
        Command::Import {
            db,
            policies,
            entities,
        } => import(&db, &policies, &entities),
        Command::Test {
            dir,
            policies,
            coverage,
            min_coverage,
            case,
            format,
            accept,
            yes,
        } => runtime().map_or(ExitCode::FAILURE, |rt| {
            rt.block_on(test(TestArgs {
                target: dir,
                policies,
                coverage,
                min_coverage,
                case,
                format,
                accept,
                yes,
            }))
        }),
        Command::Prove {
            policies,
            invariants,
            only,
            against,
            expect,
            counterexamples,
            timeout,
        } => runtime().map_or(ExitCode::FAILURE, |rt| {
            rt.block_on(prove(ProveArgs {
                policies,
                invariants,
                only,
                against,
                expect,
                counterexamples,
                timeout: std::time::Duration::from_secs_f64(timeout.clamp(0.001, 86_400.0)),
            }))
        }),
        Command::Fmt { policies, check } => fmt(&policies, check),
        Command::BenchData { db, entities, now } => bench_data(&db, entities, now.as_deref()),
        Command::Explain(args) => explain(args),
        Command::Replay {
            log,
            policies,
            baseline,
            db,
            source,
            json,
            fail_on_flip,
            fail_on_change,
        } => replay(
            &log,
            &policies,
            &baseline,
            &db,
            &source,
            json,
            fail_on_flip,
            fail_on_change,
        ),
    }
}

/// Blocking threads by default: SQLite reads of a cached database are CPU
/// work, so more threads than a few per core only add context switches and
/// read connections (each with its own page cache).
const DEFAULT_READ_THREADS: usize = 8;

fn runtime() -> Option<tokio::runtime::Runtime> {
    runtime_with(None, DEFAULT_READ_THREADS)
}

/// The async runtime, with `workers` worker threads (default: one per core)
/// and at most `blocking` threads for blocking work (SQLite reads).
fn runtime_with(workers: Option<usize>, blocking: usize) -> Option<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = workers {
        builder.worker_threads(n.max(1));
    }
    builder.max_blocking_threads(blocking.max(1));
    match builder.enable_all().build() {
        Ok(rt) => Some(rt),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            None
        }
    }
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

async fn serve(config: Config, policies: Option<PathBuf>) -> ExitCode {
    let app = match Application::build(config, policies.clone()).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(token) = &app.generated_token {
        // Printed once, to the terminal only; never logged.
        eprintln!(
            "TURNSTILE_ADMIN_TOKEN is not set; the ledger's admin token for this run is:\n\n    {token}\n"
        );
    }
    let pack = app.state().engine().pack();
    let addr = app.local_addr().map(|a| a.to_string()).unwrap_or_default();
    tracing::info!(
        %addr,
        policies = %policies.as_deref().map(|p| p.display().to_string()).unwrap_or_else(|| "embedded licensing pack".into()),
        policy_revision = %pack.revision,
        entity_level = pack.level,
        "turnstile is serving"
    );
    match app.run_until(server::shutdown_signal()).await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
