//! cli: the command line. Each command turns its arguments into a validated
//! call into the library and an exit code (0 success, 1 failure, 2 usage).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::config::Config;
use crate::policy::PolicyPack;
use crate::server::{self, Application};
use crate::store::{Location, Store};
use serde_json::{Value, json};

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

struct ProveArgs {
    policies: PathBuf,
    invariants: Option<PathBuf>,
    only: Vec<String>,
    against: Option<PathBuf>,
    expect: crate::prove::Relation,
    counterexamples: Option<PathBuf>,
    timeout: std::time::Duration,
}

async fn prove(args: ProveArgs) -> ExitCode {
    use crate::prove;
    let started = std::time::Instant::now();
    let load = |dir: &Path| {
        PolicyPack::load(dir).map_err(|e| {
            for p in &e.problems {
                eprint!("{}", p.rendered);
            }
            eprintln!("error: the pack in {} is refused", dir.display());
        })
    };
    let Ok(pack) = load(&args.policies) else {
        return ExitCode::FAILURE;
    };
    let solver = match prove::solver_path() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let file = args
        .invariants
        .clone()
        .unwrap_or_else(|| args.policies.join(prove::INVARIANTS_FILE));
    let mut invariants = prove::Invariants::default();
    if file.exists() || args.invariants.is_some() || args.against.is_none() {
        invariants = match prove::read_invariants(&file, &pack) {
            Ok(i) => i,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
    }
    let assume = invariants.assume.clone();
    // With `--against` and no explicit `--invariants` or `--only`: the
    // comparison alone (under the pack's assumption).
    let mut invariants = invariants.list;
    if args.against.is_some() && args.invariants.is_none() && args.only.is_empty() {
        invariants.clear();
    }
    if !args.only.is_empty() {
        if let Some(missing) = args
            .only
            .iter()
            .find(|id| !invariants.iter().any(|i| &i.id == *id))
        {
            eprintln!("error: `{}` has no invariant `{missing}`", file.display());
            return ExitCode::FAILURE;
        }
        invariants.retain(|i| args.only.contains(&i.id));
    }
    let what = match (&args.against, invariants.len()) {
        (Some(against), 0) => format!("{} against {}", args.policies.display(), against.display()),
        (Some(against), n) => format!(
            "{n} invariant{} of {}, and it against {}",
            if n == 1 { "" } else { "s" },
            args.policies.display(),
            against.display()
        ),
        (None, n) => format!(
            "{n} invariant{} of {}",
            if n == 1 { "" } else { "s" },
            args.policies.display()
        ),
    };
    println!(
        "proving {what} (revision {}) with {}",
        pack.revision,
        prove::solver_version(&solver)
    );
    let mut verdicts = Vec::new();
    for inv in &invariants {
        verdicts.push(prove::prove(&pack, inv, assume.as_deref(), &solver, args.timeout).await);
        print_verdict(verdicts.last(), &args.counterexamples);
    }
    if let Some(against) = &args.against {
        let Ok(baseline) = load(against) else {
            return ExitCode::FAILURE;
        };
        verdicts.push(
            prove::compare(
                &pack,
                &baseline,
                args.expect,
                assume.as_deref(),
                &solver,
                args.timeout,
            )
            .await,
        );
        print_verdict(verdicts.last(), &args.counterexamples);
    }
    let failed = verdicts.iter().filter(|v| !v.proved()).count();
    println!(
        "\n{} proved, {failed} not proved ({:.2} s)",
        verdicts.len() - failed,
        started.elapsed().as_secs_f64()
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn print_verdict(verdict: Option<&crate::prove::Verdict>, write_to: &Option<PathBuf>) {
    let Some(v) = verdict else { return };
    let about = v
        .description
        .as_deref()
        .map(|d| format!(": {d}"))
        .unwrap_or_default();
    if v.proved() {
        println!(
            "ok    {} ({}){about} — {} request shape{}, {:.2} s",
            v.id,
            v.form,
            v.shapes,
            if v.shapes == 1 { "" } else { "s" },
            v.elapsed.as_secs_f64()
        );
        return;
    }
    println!("FAIL  {} ({}){about}", v.id, v.form);
    if let Some(p) = &v.problem {
        println!("        {p}");
    }
    let Some(c) = &v.counterexample else { return };
    println!("        counterexample:");
    for line in c.shown.lines() {
        println!("          {line}");
    }
    let indent = |s: String| s.replace('\n', "\n          ");
    let subject = if c.baseline.is_some() {
        "this pack"
    } else {
        "the pack"
    };
    println!("        {subject} answers: {}", indent(c.answer.describe()));
    if let Some(b) = &c.baseline {
        println!("        the other pack answers: {}", indent(b.describe()));
    }
    if let Some(dir) = write_to {
        let path = dir.join(crate::prove::scenario_file_name(v));
        let written = crate::prove::scenario_yaml(v)
            .ok_or_else(|| "nothing to write".to_string())
            .and_then(|yaml| {
                std::fs::create_dir_all(dir)
                    .and_then(|()| std::fs::write(&path, yaml))
                    .map_err(|e| e.to_string())
            });
        match written {
            Ok(()) => println!(
                "        written to {} (`turnstile test {}` replays it)",
                path.display(),
                path.display()
            ),
            Err(e) => println!("        cannot write {}: {e}", path.display()),
        }
    }
}

fn validate(dir: &Path) -> ExitCode {
    // Every check `serve` makes: the pack itself, then what the ledger builds.
    match PolicyPack::load(dir).and_then(|pack| crate::decide::check_serving(&pack).map(|()| pack)) {
        Ok(pack) => {
            // The invariants `prove` reads must at least be well formed.
            let invariants = dir.join(crate::prove::INVARIANTS_FILE);
            if invariants.exists()
                && let Err(e) = crate::prove::read_invariants(&invariants, &pack)
            {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
            for w in &pack.warnings {
                eprint!("{}", w.rendered);
            }
            println!(
                "ok: {} policies in {}, valid at entity level {}, revision {}{}",
                pack.policies.num_of_policies(),
                dir.display(),
                pack.level,
                pack.revision,
                if pack.warnings.is_empty() {
                    String::new()
                } else {
                    format!(" ({} warnings)", pack.warnings.len())
                }
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            for p in &e.problems {
                eprint!("{}", p.rendered);
            }
            let n = e.problems.len();
            eprintln!(
                "error: {n} problem{} in {}",
                if n == 1 { "" } else { "s" },
                dir.display()
            );
            ExitCode::FAILURE
        }
    }
}

fn migrate_data(from: &Location, to: &Location, policies: Option<PathBuf>, sample: usize) -> ExitCode {
    let result = (|| -> Result<crate::migrate::Report, String> {
        if from == to {
            return Err("`--from` and `--to` name the same database".into());
        }
        let policies = policies.or_else(|| {
            let default = PathBuf::from("policies");
            default
                .join(crate::policy::SCHEMA_FILE)
                .exists()
                .then_some(default)
        });
        let pack = server::load_pack(policies.as_deref()).map_err(|e| e.to_string())?;
        let source = open_existing(from)?;
        let target = Store::open_at(to).map_err(|e| e.to_string())?;
        let now = jiff::Timestamp::now().as_second();
        let report =
            crate::migrate::migrate(&source, &target, &pack, sample, now, true).map_err(|e| e.to_string())?;
        source.close();
        target.close();
        Ok(report)
    })();
    match result {
        Ok(report) => {
            for t in &report.tables {
                let mark = if t.source == t.target { "ok" } else { "MISMATCH" };
                println!("{:>20}: {:>9} → {:>9}  {mark}", t.table, t.source, t.target);
            }
            println!(
                "{} decisions asked of both: {} differ; copied in {:.1} s from {from} to {to}",
                report.sampled,
                report.differing.len(),
                report.seconds
            );
            for d in &report.differing {
                println!("  differs: {d}");
            }
            if report.verified() {
                println!("verified: the copy is whole and answers alike");
                ExitCode::SUCCESS
            } else {
                eprintln!("error: the copy does not match its source");
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--db`, checked.
fn location(s: &str) -> Result<Location, String> {
    Location::parse(s)
}

/// Opens a database that must exist already (a SQLite file is not created).
fn open_existing(db: &Location) -> Result<Store, String> {
    if let Location::Sqlite(path) = db
        && !path.exists()
    {
        return Err(format!("no database at `{}`", path.display()));
    }
    Store::open_at(db).map_err(|e| e.to_string())
}

fn import(db: &Location, policies: &Path, file: &Path) -> ExitCode {
    let result = (|| -> Result<usize, String> {
        let pack = PolicyPack::load(policies).map_err(|e| e.to_string())?;
        let text =
            std::fs::read_to_string(file).map_err(|e| format!("cannot read `{}`: {e}", file.display()))?;
        let json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("`{}` is not valid JSON: {e}", file.display()))?;
        let store = Store::open_at(db).map_err(|e| e.to_string())?;
        let n = crate::import::import_blocking(&store, &pack, &json).map_err(|e| match &e {
            // Point into the file: `entities.json:12: entity 3: ...`.
            crate::import::ImportError::Malformed { index, .. }
            | crate::import::ImportError::LedgerType { index, .. } => {
                match crate::import::element_lines(&text).get(*index) {
                    Some(line) => format!("{}:{line}: {e}", file.display()),
                    None => format!("{}: {e}", file.display()),
                }
            }
            _ => format!("{}: {e}", file.display()),
        })?;
        store.close();
        Ok(n)
    })();
    match result {
        Ok(n) => {
            println!("imported {n} entities into {db}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// How `turnstile test` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TestFormat {
    /// A line per case, failures indented.
    Text,
    /// One JSON document: files, cases, failures, coverage.
    Json,
    /// JUnit XML, for CI dashboards.
    Junit,
}

struct TestArgs {
    target: PathBuf,
    policies: PathBuf,
    coverage: bool,
    min_coverage: Option<f64>,
    case: Option<String>,
    format: TestFormat,
    accept: bool,
    yes: bool,
}

async fn test(args: TestArgs) -> ExitCode {
    use crate::scenario;
    let pack = match PolicyPack::load(&args.policies) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    // `FILE#CASE` names one case of one file.
    let (target, mut case_filter) = match args.target.to_str().and_then(|t| t.split_once('#')) {
        Some((file, case)) => (PathBuf::from(file), Some(case.to_string())),
        None => (args.target.clone(), None),
    };
    if args.case.is_some() {
        case_filter = args.case.clone();
    }
    let files = if target.is_file() {
        vec![target.clone()]
    } else {
        match scenario::files(&target) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("error: cannot read `{}`: {e}", target.display());
                return ExitCode::FAILURE;
            }
        }
    };
    let shown = |name: &str| case_filter.as_deref().is_none_or(|f| name.contains(f));
    let (mut passed, mut failed) = (0usize, 0usize);
    let mut covered = std::collections::BTreeSet::new();
    let mut clauses = std::collections::BTreeSet::new();
    let mut report = Vec::new();
    let mut to_accept = Vec::new();
    for file in files {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match scenario::run_file(&file, pack.clone()).await {
            Ok(outcome) => {
                let mut cases = Vec::new();
                for case in outcome.cases.iter().filter(|c| shown(&c.name)) {
                    covered.extend(case.determining.iter().cloned());
                    clauses.extend(case.clauses.iter().cloned());
                    if case.passed() {
                        passed += 1;
                    } else {
                        failed += 1;
                    }
                    cases.push(json!({
                        "name": case.name,
                        "passed": case.passed(),
                        "failures": case.failures,
                        "changed": case.changed,
                    }));
                }
                let recorded = scenario::read_answers(&file).ok().flatten();
                let changed = recorded.is_none() || outcome.cases.iter().any(|c| !c.changed.is_empty());
                let broken = outcome.cases.iter().any(|c| !c.failures.is_empty());
                if args.accept && changed {
                    to_accept.push((outcome, recorded.is_none(), broken));
                }
                report.push(json!({"file": name, "cases": cases}));
            }
            Err(e) => {
                failed += 1;
                report.push(json!({"file": name, "error": e.to_string()}));
            }
        }
    }
    let mut ok = failed == 0;
    let coverage =
        (args.coverage || args.min_coverage.is_some()).then(|| scenario::coverage(&pack, &covered, &clauses));
    if let (Some(c), Some(min)) = (&coverage, args.min_coverage)
        && c.percent() + 1e-9 < min
    {
        ok = false;
    }
    match args.format {
        TestFormat::Text => print_test_text(
            &report,
            passed,
            failed,
            coverage.as_ref(),
            args.min_coverage,
            &pack,
        ),
        TestFormat::Json => {
            let cov = coverage
                .as_ref()
                .map(|c| {
                    json!({
                        "covered": c.covered,
                        "uncovered": c.uncovered,
                        "percent": c.percent(),
                        "conditions": {"seen": c.conditions_seen, "total": c.conditions_total, "unseen": c.conditions_unseen},
                    })
                });
            let doc = json!({"passed": passed, "failed": failed, "files": report, "coverage": cov});
            println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        }
        TestFormat::Junit => print!("{}", junit(&report, passed + failed, failed)),
    }
    if args.accept {
        return accept(to_accept, args.yes, ok);
    }
    if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

fn print_test_text(
    report: &[Value],
    passed: usize,
    failed: usize,
    coverage: Option<&crate::scenario::Coverage>,
    min_coverage: Option<f64>,
    pack: &PolicyPack,
) {
    for file in report {
        let name = file["file"].as_str().unwrap_or_default();
        if let Some(e) = file["error"].as_str() {
            println!("FAIL  {name}: {e}");
            continue;
        }
        for case in file["cases"].as_array().into_iter().flatten() {
            let case_name = case["name"].as_str().unwrap_or_default();
            if case["passed"] == json!(true) {
                println!("ok    {name} › {case_name}");
                continue;
            }
            println!("FAIL  {name} › {case_name}");
            for f in case["failures"].as_array().into_iter().flatten() {
                println!("        {}", f.as_str().unwrap_or_default());
            }
            let changed = case["changed"].as_array().cloned().unwrap_or_default();
            if !changed.is_empty() {
                println!(
                    "        the answer differs from the recorded one (`turnstile test --accept` shows and records it):"
                );
                for c in changed {
                    println!("          {}", c.as_str().unwrap_or_default());
                }
            }
        }
    }
    println!("\n{passed} passed, {failed} failed");
    if let Some(report) = coverage {
        println!(
            "\ncoverage: {} of {} policies determined at least one decision ({:.1}%)",
            report.covered.len(),
            report.total(),
            report.percent()
        );
        for id in &report.uncovered {
            let file = pack
                .meta
                .get(id)
                .map(|m| format!("{}:{}", m.file, m.line))
                .unwrap_or_default();
            println!("  never determining: {id}  ({file})");
        }
        println!(
            "conditions: {} of {} clause outcomes seen (each `when`/`unless` true and false)",
            report.conditions_seen, report.conditions_total
        );
        for line in &report.conditions_unseen {
            println!("  {line}");
        }
        if let Some(min) = min_coverage
            && report.percent() + 1e-9 < min
        {
            println!("coverage {:.1}% is below the minimum {min:.1}%", report.percent());
        }
    }
}

/// JUnit XML: a suite per file, a test case per step.
fn junit(report: &[Value], tests: usize, failures: usize) -> String {
    fn esc(s: &str) -> String {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&apos;")
    }
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"turnstile test\" tests=\"{tests}\" failures=\"{failures}\">\n"
    );
    for file in report {
        let name = esc(file["file"].as_str().unwrap_or_default());
        if let Some(e) = file["error"].as_str() {
            out.push_str(&format!(
                "  <testsuite name=\"{name}\" tests=\"1\" failures=\"1\">\n    <testcase classname=\"{name}\" name=\"(file)\"><failure message=\"{}\"/></testcase>\n  </testsuite>\n",
                esc(e)
            ));
            continue;
        }
        let cases = file["cases"].as_array().cloned().unwrap_or_default();
        let failed = cases.iter().filter(|c| c["passed"] != json!(true)).count();
        out.push_str(&format!(
            "  <testsuite name=\"{name}\" tests=\"{}\" failures=\"{failed}\">\n",
            cases.len()
        ));
        for c in &cases {
            let case = esc(c["name"].as_str().unwrap_or_default());
            if c["passed"] == json!(true) {
                out.push_str(&format!("    <testcase classname=\"{name}\" name=\"{case}\"/>\n"));
                continue;
            }
            let lines: Vec<String> = c["failures"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(c["changed"].as_array().into_iter().flatten())
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            let first = lines.first().cloned().unwrap_or_default();
            out.push_str(&format!(
                "    <testcase classname=\"{name}\" name=\"{case}\"><failure message=\"{}\">{}</failure></testcase>\n",
                esc(&first),
                esc(&lines.join("\n"))
            ));
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// `--accept`: shows how each file's answers differ from the recorded ones
/// and, once confirmed, records them. A file whose expectations fail is not
/// recorded: its own assertions must be fixed first.
fn accept(files: Vec<(crate::scenario::Outcome, bool, bool)>, yes: bool, expectations_ok: bool) -> ExitCode {
    use std::io::{BufRead, IsTerminal};
    let mut writable = Vec::new();
    for (outcome, new, broken) in files {
        let name = outcome.file.display().to_string();
        if broken {
            println!("\nnot recorded: {name} fails its own expectations (fix them first)");
            continue;
        }
        if new {
            println!(
                "\n{name}: no recorded answers yet; {} steps will be recorded",
                outcome.cases.len()
            );
        } else {
            println!("\n{name}:");
            for case in outcome.cases.iter().filter(|c| !c.changed.is_empty()) {
                println!("  › {}", case.name);
                for line in &case.changed {
                    println!("      {line}");
                }
            }
        }
        writable.push(outcome);
    }
    if writable.is_empty() {
        println!("\nnothing to record");
        return if expectations_ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let confirmed = yes || {
        if !std::io::stdin().is_terminal() {
            eprintln!("\nnot recorded: confirm on a terminal, or pass --yes");
            return ExitCode::FAILURE;
        }
        print!("\nrecord the new answers of {} file(s)? [y/N] ", writable.len());
        let _ = std::io::Write::flush(&mut std::io::stdout());
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
        matches!(line.trim(), "y" | "Y" | "yes")
    };
    if !confirmed {
        println!("nothing recorded");
        return ExitCode::FAILURE;
    }
    for outcome in &writable {
        match crate::scenario::write_answers(outcome) {
            Ok(path) => println!("recorded {}", path.display()),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

fn fmt(dir: &Path, check: bool) -> ExitCode {
    let results = match crate::policy::fmt::format_dir(dir, check) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot format `{}`: {e}", dir.display());
            return ExitCode::FAILURE;
        }
    };
    let mut failed = false;
    for r in &results {
        if let Some(e) = &r.error {
            failed = true;
            eprintln!("error: {}: {e}", r.path.display());
        } else if r.changed {
            if check {
                failed = true;
                println!("not formatted: {}", r.path.display());
            } else {
                println!("formatted: {}", r.path.display());
            }
        }
    }
    if !failed && check {
        println!("ok: {} policy files formatted", results.len());
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The arguments of `turnstile explain`.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// The request: AuthZEN evaluation JSON, or `@file.json`. Without it,
    /// use --subject, --action and --resource.
    pub request: Option<String>,
    /// Subject as `Type:id`, e.g. `User:ada`.
    #[arg(long, conflicts_with = "request")]
    pub subject: Option<String>,
    /// Action name.
    #[arg(long, conflicts_with = "request")]
    pub action: Option<String>,
    /// Resource as `Type:id`, e.g. `Tenant:acme-plant`.
    #[arg(long, conflicts_with = "request")]
    pub resource: Option<String>,
    /// The database holding the entities (a SQLite path or a `postgres://` URL).
    #[arg(long, env = "TURNSTILE_DB", default_value = "turnstile.db", value_parser = location)]
    pub db: Location,
    /// Policy directory.
    #[arg(long, env = "TURNSTILE_POLICIES", default_value = "policies")]
    pub policies: PathBuf,
    /// Explain at this time (RFC 3339) instead of now.
    #[arg(long)]
    pub at: Option<String>,
    /// Explain a scenario's step instead, as its service decides it then:
    /// `FILE#CASE` (the first `evaluate` step whose name contains CASE).
    #[arg(long, value_name = "FILE#CASE", conflicts_with_all = ["request", "subject", "action", "resource", "at"])]
    pub scenario: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn explain_request(a: &ExplainArgs) -> Result<serde_json::Value, String> {
    match (&a.request, &a.subject, &a.action, &a.resource) {
        (Some(r), _, _, _) => {
            let text = match r.strip_prefix('@') {
                Some(file) => {
                    std::fs::read_to_string(file).map_err(|e| format!("cannot read `{file}`: {e}"))?
                }
                None => r.clone(),
            };
            serde_json::from_str(&text).map_err(|e| format!("the request is not valid JSON: {e}"))
        }
        (None, Some(s), Some(act), Some(r)) => {
            let split = |v: &str, what: &str| -> Result<(String, String), String> {
                v.split_once(':')
                    .map(|(t, i)| (t.to_string(), i.to_string()))
                    .ok_or_else(|| format!("--{what} must be `Type:id`, not `{v}`"))
            };
            let (st, si) = split(s, "subject")?;
            let (rt, ri) = split(r, "resource")?;
            Ok(serde_json::json!({
                "subject": {"type": st, "id": si},
                "action": {"name": act},
                "resource": {"type": rt, "id": ri},
            }))
        }
        _ => Err("give a request (JSON or @file) or --subject, --action and --resource".into()),
    }
}

fn explain(a: ExplainArgs) -> ExitCode {
    let result = (|| -> Result<String, String> {
        if let Some(target) = &a.scenario {
            let (file, case) = target
                .split_once('#')
                .ok_or("`--scenario` takes `FILE#CASE`: a scenario file and (part of) a step's name")?;
            let pack = PolicyPack::load(&a.policies).map_err(|e| e.to_string())?;
            let rt = runtime().ok_or("cannot start the async runtime")?;
            let x = rt.block_on(crate::scenario::explain_case(Path::new(file), pack, case))?;
            return if a.json {
                serde_json::to_string_pretty(&x).map_err(|e| e.to_string())
            } else {
                Ok(crate::explain::render(&x))
            };
        }
        let body = explain_request(&a)?;
        let query = crate::http::authzen::parse_evaluation(&body).map_err(|e| e.to_string())?;
        let pack = PolicyPack::load(&a.policies).map_err(|e| e.to_string())?;
        let now = match &a.at {
            Some(t) => crate::time::parse(t)?,
            None => jiff::Timestamp::now().as_second(),
        };
        let store = open_existing(&a.db)?;
        let engine = crate::decide::Engine::new(pack, store.clone(), crate::time::Clock::fixed(now))
            .map_err(|e| e.to_string())?;
        let pack = engine.pack();
        let x = crate::explain::explain(&engine, &pack, crate::slice::Source::Store(&store), now, &query)
            .map_err(|e| e.to_string())?;
        store.close();
        if a.json {
            serde_json::to_string_pretty(&x).map_err(|e| e.to_string())
        } else {
            Ok(crate::explain::render(&x))
        }
    })();
    match result {
        Ok(text) => {
            println!("{}", text.trim_end());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn replay(
    log: &Path,
    candidate: &Path,
    baseline: &Path,
    db: &Location,
    source: &str,
    json: bool,
    fail_on_flip: bool,
    fail_on_change: bool,
) -> ExitCode {
    let result = (|| -> Result<crate::replay::Report, String> {
        let entries =
            crate::decision_log::read(log).map_err(|e| format!("cannot read `{}`: {e}", log.display()))?;
        let baseline = PolicyPack::load(baseline).map_err(|e| format!("baseline: {e}"))?;
        let candidate = PolicyPack::load(candidate).map_err(|e| format!("candidate: {e}"))?;
        let store = open_existing(db)?;
        let report = crate::replay::replay(&store, baseline, candidate, &entries, source)
            .map_err(|e| e.to_string())?;
        store.close();
        Ok(report)
    })();
    match result {
        Ok(report) => {
            if json {
                println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
            } else {
                print!("{}", crate::replay::render(&report));
            }
            if (fail_on_flip || fail_on_change) && !report.flips.is_empty()
                || fail_on_change && !report.changed.is_empty()
            {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn bench_data(db: &Location, entities: usize, now: Option<&str>) -> ExitCode {
    let result = (|| -> Result<crate::bench_data::Generated, String> {
        if let Location::Sqlite(path) = db
            && path.exists()
        {
            return Err(format!("`{}` exists already; choose a new file", path.display()));
        }
        let now = match now {
            Some(t) => crate::time::parse(t)?,
            None => jiff::Timestamp::now().as_second(),
        };
        let store = Store::open_at(db).map_err(|e| e.to_string())?;
        if !store
            .read(|c| c.tenants_of_account("a0"))
            .map_err(|e| e.to_string())?
            .is_empty()
        {
            store.close();
            return Err(format!(
                "`{db}` holds a generated ledger already; give an empty database"
            ));
        }
        let shape = crate::bench_data::Shape::for_entities(entities);
        let g = crate::bench_data::generate(&store, shape, now).map_err(|e| e.to_string())?;
        store.close();
        Ok(g)
    })();
    match result {
        Ok(g) => {
            println!(
                "generated {} entities ({} tenants × {} users and {} operators; {} rows) in {:.1}s into {}",
                g.entities, g.shape.tenants, g.shape.users, g.shape.operators, g.rows, g.seconds, db
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
