//! The README's curl examples, replayed in order against the real app on an
//! empty database: each answer must be the one the README shows, times,
//! decision ids, the policy revision and data revisions aside.

use axum::body::Body;
use axum::http::Request;
use serde_json::Value;

use crate::common::{TOKEN, TestApp, repo_path};

/// One `curl` command of the README and the answer shown under it.
#[derive(Debug)]
struct Example {
    command: String,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
    expected: Value,
}

/// The fenced blocks of a Markdown text: (info string, content).
fn fenced_blocks(text: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, String)> = None;
    for line in text.lines() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => open = Some((info.trim().to_string(), String::new())),
            (Some(_), Some(_)) => blocks.extend(open.take()),
            (Some((_, content)), None) => {
                content.push_str(line);
                content.push('\n');
            }
            (None, None) => {}
        }
    }
    blocks
}

/// Splits a command line the way a POSIX shell does for words in single
/// quotes (all the README uses) and plain words.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                word.get_or_insert_with(String::new);
            }
            c if c.is_whitespace() && !quoted => words.extend(word.take()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    assert!(!quoted, "unbalanced quote in `{line}`");
    words.extend(word);
    words
}

fn parse_curl(command: &str, expected: Value) -> Example {
    let words = shell_words(command);
    assert_eq!(words[0], "curl");
    let (mut method, mut url, mut headers, mut body) = (None, None, Vec::new(), None);
    let mut args = words[1..].iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-s" => {}
            "-X" => method = args.next().cloned(),
            "-H" => {
                let h = args.next().expect("a header after -H");
                let (k, v) = h.split_once(':').expect("a header `name: value`");
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
            "-d" => body = args.next().cloned(),
            a if a.starts_with("http://") => url = Some(a.to_string()),
            a => panic!("the README test does not know the curl argument `{a}` in `{command}`"),
        }
    }
    let url = url.expect("a URL");
    let path = url
        .strip_prefix("http://127.0.0.1:8180")
        .expect("examples talk to the default address")
        .to_string();
    let method = method.unwrap_or_else(|| if body.is_some() { "POST" } else { "GET" }.into());
    Example {
        command: command.to_string(),
        method,
        path,
        headers,
        body,
        expected,
    }
}

/// Every `sh` block that is one curl command, with the `json` block after it.
fn examples(readme: &str) -> Vec<Example> {
    let blocks = fenced_blocks(readme);
    blocks
        .windows(2)
        .filter(|w| w[0].0 == "sh" && w[0].1.trim_start().starts_with("curl ") && w[1].0 == "json")
        .map(|w| {
            let expected = serde_json::from_str(&w[1].1)
                .unwrap_or_else(|e| panic!("the README shows invalid JSON after `{}`: {e}", w[0].1.trim()));
            parse_curl(w[0].1.trim(), expected)
        })
        .collect()
}

/// `2026-11-24T04:38:26Z`: an RFC 3339 UTC time to the second.
fn is_time(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// The answer with what changes from run to run replaced by placeholders.
fn normalized(v: &Value) -> Value {
    match v {
        Value::String(s) if is_time(s) => Value::String("<time>".into()),
        Value::Array(items) => Value::Array(items.iter().map(normalized).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = match k.as_str() {
                        "decision_id" | "policy_revision" => Value::String(format!("<{k}>")),
                        // A count of committed writes: a served node may have
                        // made some of its own (the subscription-end sweep).
                        "data_revision" if v.is_u64() => Value::String("<data_revision>".into()),
                        _ => normalized(v),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

#[test]
fn the_readme_parser_reads_quoted_words_and_times() {
    assert_eq!(
        shell_words(r#"curl -s -H 'A: b c' -d '{"x":"y z"}' http://h"#),
        ["curl", "-s", "-H", "A: b c", "-d", r#"{"x":"y z"}"#, "http://h"]
    );
    assert!(is_time("2026-11-24T04:38:26Z"));
    assert!(!is_time("2026-11-24 04:38:26Z"));
}

#[tokio::test]
async fn every_curl_example_of_the_readme_gives_the_answer_it_shows() {
    let readme = std::fs::read_to_string(repo_path("README.md")).unwrap();
    let examples = examples(&readme);
    assert!(
        examples.len() >= 15,
        "only {} curl examples with an answer found in the README",
        examples.len()
    );
    let app = TestApp::licensing();
    for ex in examples {
        let mut req = Request::builder().method(ex.method.as_str()).uri(&ex.path);
        for (k, v) in &ex.headers {
            let v = v.replace("Bearer dev-secret", &format!("Bearer {TOKEN}"));
            req = req.header(k.as_str(), v);
        }
        let body = ex.body.clone().map(Body::from).unwrap_or_else(Body::empty);
        let (status, _, answer) = app.send(req.body(body).unwrap()).await;
        assert!(
            status.is_success() || status.is_client_error(),
            "`{}` answered {status}",
            ex.command
        );
        assert_eq!(
            normalized(&answer),
            normalized(&ex.expected),
            "the README's answer to `{}` is not what the service gives",
            ex.command
        );
    }
}

/// The `(method, path)` pairs the README's ledger table documents.
fn ledger_table_routes(readme: &str) -> std::collections::BTreeSet<(String, String)> {
    let start = readme.find("## The licence ledger").expect("a ledger section");
    let section = &readme[start..];
    let end = section[3..].find("\n## ").map_or(section.len(), |i| i + 3);
    let mut routes = std::collections::BTreeSet::new();
    for line in section[..end].lines().filter(|l| l.starts_with("| `")) {
        let cell = line.split(" | ").next().unwrap_or_default();
        let words: Vec<String> = cell
            .split(|c: char| c == '`' || c.is_whitespace() || c == '|')
            .filter(|w| !w.is_empty() && *w != "/")
            .map(str::to_string)
            .collect();
        let methods: Vec<&String> = words
            .iter()
            .filter(|w| ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&w.as_str()))
            .collect();
        let path = words
            .iter()
            .find(|w| w.starts_with("/v1/"))
            .map(|p| p.split('[').next().unwrap_or(p).to_string());
        if let Some(path) = path {
            for m in methods {
                routes.insert((m.clone(), path.clone()));
            }
        }
    }
    routes
}

#[tokio::test]
async fn the_readme_ledger_table_lists_every_ledger_route_and_no_other() {
    let readme = std::fs::read_to_string(repo_path("README.md")).unwrap();
    let documented = ledger_table_routes(&readme);
    let app = TestApp::licensing();
    let req = axum::http::Request::builder()
        .uri("/openapi.json")
        .body(Body::empty())
        .unwrap();
    let (_, _, doc) = app.send(req).await;
    let mut served = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if op["tags"] == serde_json::json!(["ledger"]) {
                served.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    assert!(!served.is_empty());
    let missing: Vec<_> = served.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&served).collect();
    assert!(
        missing.is_empty(),
        "ledger routes the README's table does not list: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "README rows that name no ledger route: {extra:?}"
    );
}
