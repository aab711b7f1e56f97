//! Running a scenario: its given state loaded, each step sent to the real app (or to Cedar), checked against its expectations.

use super::*;

/// Runs one scenario file against `pack`, in a fresh database.
pub async fn run_file(path: &Path, pack: PolicyPack) -> Result<Outcome, ScenarioError> {
    let scenario = read(path)?;
    let setup = |message: String| ScenarioError::Setup {
        path: path.display().to_string(),
        message,
    };
    let dir = tempfile::tempdir().map_err(|e| setup(e.to_string()))?;
    let store = Store::open(&dir.path().join("scenario.db")).map_err(|e| setup(e.to_string()))?;
    run_on(path, scenario, pack, store).await
}

/// [`run_file`] on a store of the caller's (empty; any backend): the suite
/// runs the same scenarios on SQLite and on PostgreSQL.
pub async fn run_file_on(path: &Path, pack: PolicyPack, store: Store) -> Result<Outcome, ScenarioError> {
    let scenario = read(path)?;
    run_on(path, scenario, pack, store).await
}

pub(super) async fn run_on(
    path: &Path,
    scenario: Scenario,
    pack: PolicyPack,
    store: Store,
) -> Result<Outcome, ScenarioError> {
    let (cases, _) = run_until(path, &scenario, pack, store.clone(), None).await?;
    store.close();
    let mut outcome = Outcome {
        file: path.to_path_buf(),
        cases,
    };
    check_answers(&mut outcome);
    Ok(outcome)
}

/// A scenario's service at the moment of one of its steps, before it runs.
pub(super) struct Paused {
    engine: Arc<Engine>,
    step: Step,
}

/// Loads the given state and runs the steps, stopping before the first
/// whose name contains `stop` (with the clock moved to its time) if asked.
pub(super) async fn run_until(
    path: &Path,
    scenario: &Scenario,
    pack: PolicyPack,
    store: Store,
    stop: Option<&str>,
) -> Result<(Vec<CaseOutcome>, Option<Paused>), ScenarioError> {
    let setup = |message: String| ScenarioError::Setup {
        path: path.display().to_string(),
        message,
    };
    let clock = Clock::fixed(scenario.now);
    let engine = Arc::new(Engine::new(pack, store.clone(), clock.clone()).map_err(|e| setup(e.to_string()))?);
    let given = scenario.given.clone();
    let now = scenario.now;
    let pack_for_given = engine.pack();
    store
        .write(move |tx| load_given(tx, &given, now, &pack_for_given))
        .await
        .map_err(|GivenError(message)| ScenarioError::Given {
            path: path.display().to_string(),
            message,
        })?;
    let state = AppState::new(engine.clone(), TOKEN, Some("http://turnstile.test".into()), None);
    let router = http::app(state.clone());
    // Start the subscription-end sweep at `now`, as a server started then would.
    state.ledger().sweep().await.map_err(|e| setup(e.to_string()))?;

    let mut cases = Vec::with_capacity(scenario.steps.len());
    for step in &scenario.steps {
        if let Some(at) = step.at {
            clock.set(at);
            // Time passing ends subscriptions: reconcile as the server's sweep would.
            state.ledger().sweep().await.map_err(|e| setup(e.to_string()))?;
        }
        if stop.is_some_and(|name| step.name.contains(name)) {
            return Ok((
                cases,
                Some(Paused {
                    engine: engine.clone(),
                    step: step.clone(),
                }),
            ));
        }
        let mut case = match &step.cedar {
            Some(case) => run_cedar_step(&engine.pack(), step, case),
            None => run_step(&router, step).await,
        };
        case.clauses = clause_values(&engine, step).await;
        cases.push(case);
    }
    Ok((cases, None))
}

/// What each clause of each in-scope policy evaluated to for the decisions
/// of an `evaluate` or `evaluations` step (explain, at the step's time).
pub(super) async fn clause_values(engine: &Arc<Engine>, step: &Step) -> Vec<(String, usize, bool)> {
    let mut requests = Vec::new();
    if let Some(r) = &step.evaluate {
        requests.push(r.clone());
    }
    if let Some(batch) = &step.evaluations {
        let defaults = |k: &str| batch.get(k).cloned();
        for item in batch
            .get("evaluations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let mut r = serde_json::Map::new();
            for k in ["subject", "action", "resource", "context"] {
                if let Some(v) = item.get(k).cloned().or_else(|| defaults(k)) {
                    r.insert(k.to_string(), v);
                }
            }
            requests.push(Value::Object(r));
        }
    }
    if requests.is_empty() {
        return Vec::new();
    }
    let engine = engine.clone();
    tokio::task::spawn_blocking(move || {
        let pack = engine.pack();
        let now = engine.clock().now();
        let mut out = Vec::new();
        for r in &requests {
            let Ok(q) = crate::http::authzen::parse_evaluation(r) else {
                continue;
            };
            let Ok(x) = crate::explain::explain(
                &engine,
                &pack,
                crate::slice::Source::Store(engine.store()),
                now,
                &q,
            ) else {
                continue;
            };
            for p in x.policies.iter().filter(|p| p.outcome != "out_of_scope") {
                for (i, c) in p.clauses.iter().enumerate() {
                    if let Some(v) = c.value {
                        out.push((p.id.clone(), i, v));
                    }
                }
            }
        }
        out
    })
    .await
    .unwrap_or_default()
}

/// Explains the `evaluate` step of `path` whose name contains `case`, as the
/// scenario's service decides it at that step (every earlier step has run).
pub(crate) async fn explain_case(
    path: &Path,
    pack: PolicyPack,
    case: &str,
) -> Result<crate::explain::Explanation, String> {
    let scenario = read(path).map_err(|e| e.to_string())?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let store = Store::open(&dir.path().join("scenario.db")).map_err(|e| e.to_string())?;
    let (_, paused) = run_until(path, &scenario, pack, store.clone(), Some(case))
        .await
        .map_err(|e| e.to_string())?;
    let Some(Paused { engine, step }) = paused else {
        store.close();
        return Err(format!(
            "`{}` has no step whose name contains `{case}`",
            path.display()
        ));
    };
    let Some(request) = &step.evaluate else {
        store.close();
        return Err(format!(
            "step `{}` is not an `evaluate` step: nothing to explain",
            step.name
        ));
    };
    let q =
        crate::http::authzen::parse_evaluation(request).map_err(|e| format!("step `{}`: {e}", step.name))?;
    let now = engine.clock().now();
    let pack = engine.pack();
    let explained = tokio::task::spawn_blocking(move || {
        crate::explain::explain(
            &engine,
            &pack,
            crate::slice::Source::Store(engine.store()),
            now,
            &q,
        )
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string());
    store.close();
    explained
}

/// A `cedar` step: the pack asked directly, with the step's own entities.
pub(super) fn run_cedar_step(pack: &PolicyPack, step: &Step, case: &Value) -> CaseOutcome {
    let (status, response) = match crate::prove::evaluate_case(pack, case) {
        Ok(answer) => (200, answer),
        Err(message) => (400, json!({"error": {"message": {"en": message}}})),
    };
    let mut outcome = CaseOutcome::new(&step.name, json!({"cedar": case}), status, response);
    if step.evaluate.is_some() || step.evaluations.is_some() || step.http.is_some() {
        outcome
            .failures
            .push("a `cedar` step cannot also `evaluate`, send `evaluations` or call `http`".into());
    } else {
        check(step, &mut outcome);
    }
    outcome
}

pub(super) async fn run_step(router: &axum::Router, step: &Step) -> CaseOutcome {
    let (method, path, body) = match (&step.evaluate, &step.evaluations, &step.http) {
        (Some(b), None, None) => (Method::POST, "/access/v1/evaluation".to_string(), Some(b.clone())),
        (None, Some(b), None) => (
            Method::POST,
            "/access/v1/evaluations".to_string(),
            Some(b.clone()),
        ),
        (None, None, Some(h)) => (
            // Checked when the file was read: one of the API's methods.
            Method::from_bytes(h.method.to_ascii_uppercase().as_bytes()).unwrap_or(Method::OPTIONS),
            h.path.clone(),
            h.body.clone(),
        ),
        _ => {
            return CaseOutcome {
                name: step.name.clone(),
                failures: vec!["a step needs exactly one of `evaluate`, `evaluations` or `http`".into()],
                changed: Vec::new(),
                clauses: Vec::new(),
                determining: BTreeSet::new(),
                request: Value::Null,
                status: 0,
                response: Value::Null,
            };
        }
    };
    let mut req = Request::builder()
        .method(method.clone())
        .uri(&path)
        .header("authorization", format!("Bearer {TOKEN}"));
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let request_value = json!({"method": method.as_str(), "path": path, "body": body});
    let req = req.body(match &body {
        Some(b) => Body::from(b.to_string()),
        None => Body::empty(),
    });
    let (status, response) = match req {
        Ok(req) => match router.clone().oneshot(req).await {
            Ok(resp) => {
                let status = resp.status();
                let bytes = resp
                    .into_body()
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                let value = serde_json::from_slice(&bytes)
                    .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
                (status, value)
            }
            Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, json!(e.to_string())),
        },
        Err(e) => (StatusCode::BAD_REQUEST, json!(e.to_string())),
    };
    let mut outcome = CaseOutcome::new(&step.name, request_value, status.as_u16(), redact(response));
    check(step, &mut outcome);
    outcome
}

/// Policy ids that determined the answer: AuthZEN reasons or a refusal's policies.
pub(super) fn determining(response: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut add = |v: Option<&Value>| {
        if let Some(Value::Array(ids)) = v {
            out.extend(ids.iter().filter_map(Value::as_str).map(str::to_string));
        }
    };
    add(response.pointer("/context/reasons"));
    add(response.pointer("/error/policies"));
    if let Some(Value::Array(items)) = response.get("evaluations") {
        for i in items {
            if let Some(Value::Array(ids)) = i.pointer("/context/reasons") {
                out.extend(ids.iter().filter_map(Value::as_str).map(str::to_string));
            }
        }
    }
    out
}

pub(super) fn redact(mut v: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(o) => {
                for (k, val) in o.iter_mut() {
                    match k.as_str() {
                        "decision_id" => *val = json!("[decision_id]"),
                        "policy_revision" => *val = json!("[policy_revision]"),
                        "data_revision" => *val = json!("[data_revision]"),
                        _ => walk(val),
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    v
}

pub(super) fn check(step: &Step, out: &mut CaseOutcome) {
    let e = &step.expect;
    let r = &out.response;
    let mut failures = Vec::new();
    let mut expectations = 0;
    if let Some(want) = e.status {
        expectations += 1;
        if out.status != want {
            failures.push(format!(
                "expected status {want}, got {} ({})",
                out.status,
                short(r)
            ));
        }
    }
    if let Some(want) = e.decision {
        expectations += 1;
        match r.get("decision").and_then(Value::as_bool) {
            Some(got) if got == want => {}
            Some(got) => failures.push(format!(
                "expected {}, got {} (reasons {})",
                allow(want),
                allow(got),
                r.pointer("/context/reasons")
                    .map(Value::to_string)
                    .unwrap_or_default()
            )),
            None => failures.push(format!(
                "expected a decision, got status {} ({})",
                out.status,
                short(r)
            )),
        }
    }
    if let Some(want) = &e.decisions {
        expectations += 1;
        let got: Option<Vec<bool>> = r.get("evaluations").and_then(Value::as_array).map(|a| {
            a.iter()
                .filter_map(|i| i.get("decision").and_then(Value::as_bool))
                .collect()
        });
        if got.as_ref() != Some(want) {
            failures.push(format!("expected decisions {want:?}, got {got:?}"));
        }
    }
    if let Some(want) = &e.reasons {
        expectations += 1;
        let got: Vec<String> = out.determining.iter().cloned().collect();
        if &got != want {
            failures.push(format!("expected reasons {want:?}, got {got:?}"));
        }
    }
    if let Some(want) = &e.notices {
        expectations += 1;
        let got: Vec<String> = r
            .pointer("/context/notices")
            .or_else(|| r.get("notices"))
            .or(Some(r))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|n| n.get("kind").and_then(Value::as_str))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        if &got != want {
            failures.push(format!("expected notices {want:?}, got {got:?}"));
        }
    }
    if let Some(want) = &e.errors {
        expectations += 1;
        let got: Vec<String> = r
            .pointer("/context/errors")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        if &got != want {
            failures.push(format!("expected errors {want:?}, got {got:?}"));
        }
    }
    if let Some(want) = &e.body {
        expectations += 1;
        if let Some(path) = mismatch(want, r, String::new()) {
            failures.push(format!(
                "the body differs at `{path}`: expected {}, got {}",
                at(want, &path),
                at(r, &path)
            ));
        }
    }
    if expectations == 0 {
        failures.push("the step expects nothing; say what it must answer".into());
    }
    out.failures = failures;
}

pub(super) fn allow(b: bool) -> &'static str {
    if b { "allow" } else { "deny" }
}

pub(super) fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 200 {
        format!(
            "{}…",
            &s[..s.char_indices().nth(200).map(|(i, _)| i).unwrap_or(s.len())]
        )
    } else {
        s
    }
}

pub(super) fn at(v: &Value, path: &str) -> String {
    let ptr = if path.is_empty() {
        String::new()
    } else {
        format!("/{}", path.replace('.', "/"))
    };
    v.pointer(&ptr).map(short).unwrap_or_else(|| "nothing".into())
}

/// The first place where `got` does not contain `want`.
pub(super) fn mismatch(want: &Value, got: &Value, path: String) -> Option<String> {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => w.iter().find_map(|(k, wv)| {
            let p = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            match g.get(k) {
                Some(gv) => mismatch(wv, gv, p),
                None => Some(p),
            }
        }),
        (Value::Array(w), Value::Array(g)) if w.len() == g.len() => {
            w.iter().zip(g).enumerate().find_map(|(i, (wv, gv))| {
                let p = if path.is_empty() {
                    i.to_string()
                } else {
                    format!("{path}.{i}")
                };
                mismatch(wv, gv, p)
            })
        }
        (w, g) if w == g => None,
        _ => Some(path),
    }
}
