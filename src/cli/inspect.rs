//! `explain` and `replay`: why a request gets its answer, and what a candidate pack would change.

use super::*;

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

pub(super) fn explain_request(a: &ExplainArgs) -> Result<serde_json::Value, String> {
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

pub(super) fn explain(a: ExplainArgs) -> ExitCode {
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
pub(super) fn replay(
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
