//! cli: the command line. Each command turns its arguments into a validated
//! call into the library and an exit code (0 success, 1 failure, 2 usage).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::config::Config;
use crate::policy::PolicyPack;
use crate::server::{self, Application};

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
        /// SQLite database file; created and migrated on first start.
        #[arg(long, env = "TURNSTILE_DB", default_value = "turnstile.db")]
        db: PathBuf,
        /// Policy directory (schema.cedarschema and *.cedar). Without it,
        /// `./policies` if present, else the licensing pack built into the binary.
        #[arg(long, env = "TURNSTILE_POLICIES")]
        policies: Option<PathBuf>,
        /// Base URL announced by AuthZEN discovery (default: from the Host header).
        #[arg(long, env = "TURNSTILE_PUBLIC_URL")]
        public_url: Option<String>,
        /// Log format.
        #[arg(long, value_enum, default_value = "text", env = "TURNSTILE_LOG_FORMAT")]
        log_format: LogFormat,
    },
    /// Check a policy directory: parse, strict validation, entity level.
    Validate {
        /// Policy directory.
        #[arg(long, env = "TURNSTILE_POLICIES", default_value = "policies")]
        policies: PathBuf,
    },
    /// Load entities (Cedar entity JSON) for packs other than the licensing one.
    Import {
        /// SQLite database file.
        #[arg(long, env = "TURNSTILE_DB", default_value = "turnstile.db")]
        db: PathBuf,
        /// The pack whose schema the entities must fit.
        #[arg(long, env = "TURNSTILE_POLICIES", default_value = "policies")]
        policies: PathBuf,
        /// A JSON file holding an array of Cedar entities.
        entities: PathBuf,
    },
    /// Run scenario files (*.yaml) and report each case.
    Test {
        /// Directory of scenario files, or one file.
        dir: PathBuf,
        /// Policy directory the scenarios run against.
        #[arg(long, env = "TURNSTILE_POLICIES", default_value = "policies")]
        policies: PathBuf,
    },
}

/// Runs the command line.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Serve {
            addr,
            db,
            policies,
            public_url,
            log_format,
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
            config.admin_token = std::env::var("TURNSTILE_ADMIN_TOKEN")
                .ok()
                .filter(|t| !t.is_empty());
            runtime().map_or(ExitCode::FAILURE, |rt| rt.block_on(serve(config, policies)))
        }
        Command::Validate { policies } => validate(&policies),
        Command::Import {
            db,
            policies,
            entities,
        } => import(&db, &policies, &entities),
        Command::Test { dir, policies } => {
            runtime().map_or(ExitCode::FAILURE, |rt| rt.block_on(test(&dir, &policies)))
        }
    }
}

fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
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

fn validate(dir: &Path) -> ExitCode {
    match PolicyPack::load(dir) {
        Ok(pack) => {
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

fn import(db: &Path, policies: &Path, file: &Path) -> ExitCode {
    let result = (|| -> Result<usize, String> {
        let pack = PolicyPack::load(policies).map_err(|e| e.to_string())?;
        let text =
            std::fs::read_to_string(file).map_err(|e| format!("cannot read `{}`: {e}", file.display()))?;
        let json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("`{}` is not valid JSON: {e}", file.display()))?;
        let store = crate::store::Store::open(db).map_err(|e| e.to_string())?;
        let n = crate::import::import_blocking(&store, &pack, &json).map_err(|e| e.to_string())?;
        store.close();
        Ok(n)
    })();
    match result {
        Ok(n) => {
            println!("imported {n} entities into {}", db.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn test(target: &Path, policies: &Path) -> ExitCode {
    let pack = match PolicyPack::load(policies) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let files = if target.is_file() {
        vec![target.to_path_buf()]
    } else {
        match crate::scenario::files(target) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("error: cannot read `{}`: {e}", target.display());
                return ExitCode::FAILURE;
            }
        }
    };
    let (mut passed, mut failed) = (0usize, 0usize);
    for file in files {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match crate::scenario::run_file(&file, pack.clone()).await {
            Ok(outcome) => {
                for case in &outcome.cases {
                    if case.passed() {
                        passed += 1;
                        println!("ok    {name} › {}", case.name);
                    } else {
                        failed += 1;
                        println!("FAIL  {name} › {}", case.name);
                        for f in &case.failures {
                            println!("        {f}");
                        }
                    }
                }
            }
            Err(e) => {
                failed += 1;
                println!("FAIL  {name}: {e}");
            }
        }
    }
    println!("\n{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
