//! `turnstile test`: scenario files against a pack, their recorded answers, coverage, JUnit.

use super::*;

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

pub(super) struct TestArgs {
    pub(super) target: PathBuf,
    pub(super) policies: PathBuf,
    pub(super) coverage: bool,
    pub(super) min_coverage: Option<f64>,
    pub(super) case: Option<String>,
    pub(super) format: TestFormat,
    pub(super) accept: bool,
    pub(super) yes: bool,
}

pub(super) async fn test(args: TestArgs) -> ExitCode {
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

pub(super) fn print_test_text(
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
pub(super) fn junit(report: &[Value], tests: usize, failures: usize) -> String {
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
pub(super) fn accept(
    files: Vec<(crate::scenario::Outcome, bool, bool)>,
    yes: bool,
    expectations_ok: bool,
) -> ExitCode {
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
