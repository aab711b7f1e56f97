//! observe: what the service says about itself — Prometheus metrics at
//! `GET /metrics`, one tracing span per request (matched route, request id),
//! and the request limits (body size, time).
//!
//! Metrics kept: `http_request_duration_seconds{route,method,status}`,
//! `turnstile_decisions_total{result,source}`, `turnstile_policy_reloads_total{outcome}`, `turnstile_policy_on_disk_refused`,
//! `turnstile_decision_log_dropped_total`, `turnstile_store_commit_seconds`,
//! `turnstile_store_batch_jobs`, `turnstile_entity_loads_total{from="database"}`
//! (cache misses) and `turnstile_entity_load_seconds`. Nothing here sees a token
//! or a body.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// The process-wide metrics recorder (installed once; every app shares it).
pub fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let buckets = [
                0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01,
                0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ];
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets)
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            describe();
            Some(handle)
        })
        .as_ref()
}

fn describe() {
    metrics::describe_histogram!(
        "http_request_duration_seconds",
        metrics::Unit::Seconds,
        "time to answer a request, by matched route, method and status"
    );
    metrics::describe_counter!(
        "turnstile_decisions_total",
        "decisions made, by result and source"
    );
    metrics::describe_counter!("turnstile_policy_reloads_total", "policy reloads, by outcome");
    metrics::describe_gauge!(
        "turnstile_policy_on_disk_refused",
        "1 while the policy files on disk are refused and the last good set serves"
    );
    metrics::gauge!("turnstile_policy_on_disk_refused").set(0.0);
    metrics::describe_counter!(
        "turnstile_decision_log_dropped_total",
        "decision-log entries dropped because the queue was full"
    );
    metrics::describe_histogram!(
        "turnstile_store_commit_seconds",
        metrics::Unit::Seconds,
        "time to run and commit one write transaction (a batch of ledger jobs)"
    );
    metrics::describe_histogram!(
        "turnstile_store_batch_jobs",
        "ledger jobs grouped in one transaction"
    );
    metrics::describe_counter!(
        "turnstile_entity_loads_total",
        "entities read from the database because the cache did not hold them"
    );
    metrics::describe_histogram!(
        "turnstile_entity_load_seconds",
        metrics::Unit::Seconds,
        "time to read and build one entity from the database"
    );
}

/// `GET /metrics`: Prometheus text exposition.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "health",
    summary = "Prometheus metrics",
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain", body = String)),
)]
pub async fn metrics(axum::extract::State(state): axum::extract::State<super::AppState>) -> Response {
    let engine = state.engine();
    let status = engine.store().status();
    let labels = [
        ("node", engine.node().to_string()),
        ("backend", status.backend.to_string()),
    ];
    metrics::gauge!("turnstile_data_revision", &labels).set(status.data_revision as f64);
    metrics::gauge!("turnstile_store_staleness_seconds", &labels).set(status.staleness_ms as f64 / 1000.0);
    metrics::gauge!("turnstile_store_listening", &labels).set(if status.listening { 1.0 } else { 0.0 });
    let body = handle().map(PrometheusHandle::render).unwrap_or_default();
    (
        [(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

/// Times every request and records it under its matched route (never the raw
/// path, whose ids would explode the label set), inside a span carrying the
/// route and the request id.
pub(crate) async fn track(req: Request, next: Next) -> Response {
    use tracing::Instrument;
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().clone();
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let span = tracing::info_span!("request", %method, %route, request_id = %request_id);
    let resp = next.run(req).instrument(span.clone()).await;
    let status = resp.status().as_u16();
    let elapsed = started.elapsed();
    metrics::histogram!(
        "http_request_duration_seconds",
        "route" => route,
        "method" => method.to_string(),
        "status" => status.to_string()
    )
    .record(elapsed.as_secs_f64());
    span.in_scope(|| {
        if status >= 500 {
            tracing::error!(status, latency_us = elapsed.as_micros() as u64, "answered");
        } else {
            tracing::debug!(status, latency_us = elapsed.as_micros() as u64, "answered");
        }
    });
    resp
}

/// The limits every request lives within.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The largest body accepted (larger: 413).
    pub max_body: usize,
    /// How long a request may take (longer: 503).
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body: 1024 * 1024,
            timeout: Duration::from_secs(10),
        }
    }
}
