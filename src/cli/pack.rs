//! The pack's own commands: `validate`, `fmt` and `prove`.

use super::*;

pub(super) struct ProveArgs {
    pub(super) policies: PathBuf,
    pub(super) invariants: Option<PathBuf>,
    pub(super) only: Vec<String>,
    pub(super) against: Option<PathBuf>,
    pub(super) expect: crate::prove::Relation,
    pub(super) counterexamples: Option<PathBuf>,
    pub(super) timeout: std::time::Duration,
}

pub(super) async fn prove(args: ProveArgs) -> ExitCode {
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

pub(super) fn print_verdict(verdict: Option<&crate::prove::Verdict>, write_to: &Option<PathBuf>) {
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

pub(super) fn validate(dir: &Path) -> ExitCode {
    // Every check `serve` makes: the pack itself, then what the ledger builds.
    match PolicyPack::load(dir).and_then(|pack| crate::contract::check(&pack).map(|()| pack)) {
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

pub(super) fn fmt(dir: &Path, check: bool) -> ExitCode {
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
