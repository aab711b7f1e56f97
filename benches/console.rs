//! Console pages, server time: each page rendered by the real router in
//! process (login cookie, HTML and all), over a generated ledger of 10^4
//! tenants plus one tenant with 10^4 operators. The bound: every page
//! in at most 50 ms for that tenant.
//!
//! `cargo bench --bench console` (repetitions: `TURNSTILE_BENCH_SAMPLES`,
//! default 50). Prints p50, p99 and the largest time per page, and the HTML
//! size.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

/// The allocator the `turnstile` binary serves with, so the numbers are its own.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;
use turnstile::bench_data::{self, Shape};
use turnstile::decide::{Query, Target};
use turnstile::decision_log::{DecisionLog, Target as LogTarget};
use turnstile::http::AppState;

const TENANTS: usize = 10_000;
const OPERATORS: usize = 10_000;
const TOKEN: &str = "bench-token";

/// 10^4 small tenants, then one with 10^4 operators; made once and kept.
fn database() -> (PathBuf, usize) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("console-{TENANTS}t-{OPERATORS}ops-v1.db"));
    let done = path.with_extension("done");
    if !done.exists() {
        for ext in ["db", "db-wal", "db-shm"] {
            let _ = std::fs::remove_file(path.with_extension(ext));
        }
        let store = turnstile::store::Store::open(&path).unwrap();
        let small = Shape {
            tenants: TENANTS,
            users: 3,
            operators: 3,
            production: 1,
        };
        let g = bench_data::generate(&store, small, common::now()).unwrap();
        let big = Shape {
            tenants: 1,
            users: 20,
            operators: OPERATORS,
            production: 2,
        };
        let h = bench_data::generate_from(&store, TENANTS, big, common::now()).unwrap();
        store.close();
        eprintln!(
            "generated {} + {} entities in {:.1}s at {}",
            g.entities,
            h.entities,
            g.seconds + h.seconds,
            path.display()
        );
        std::fs::write(&done, "").unwrap();
    }
    (path, TENANTS)
}

async fn send(router: &axum::Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, usize) {
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let len = resp.into_body().collect().await.unwrap().to_bytes().len();
    (status, headers, len)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let samples: usize = std::env::var("TURNSTILE_BENCH_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let (db, big) = database();
    let engine = common::engine(&db, turnstile::slice::DEFAULT_CACHE_CAPACITY);
    engine.set_log(Arc::new(
        DecisionLog::open(LogTarget::Memory, 65_536, 1_000).unwrap(),
    ));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let big_id = bench_data::tenant_id(big);
    // A thousand decisions for the log page and the impact replay.
    for i in 0..1_000 {
        let t = i % TENANTS;
        let q = Query::new(
            Target::new("User", bench_data::user_id(t, 0)),
            "access_management",
            Target::new("Tenant", bench_data::tenant_id(t)),
        );
        engine.decide(&q).unwrap();
    }
    std::thread::sleep(Duration::from_millis(200));
    let state = AppState::new(engine.clone(), TOKEN, None, None);
    let router = turnstile::app(state);
    let cookie = rt.block_on(async {
        let req = Request::post("/console/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(format!("token={TOKEN}&next=%2Fconsole%2Ftenants")))
            .unwrap();
        let (status, headers, _) = send(&router, req).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        headers["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string()
    });
    let middle = bench_data::operator_id(big, OPERATORS / 2);
    let pages = [
        ("tenants, first page", "/console/tenants".to_string()),
        (
            "tenants, a page in the middle",
            format!("/console/tenants?after={}", bench_data::tenant_id(TENANTS / 2)),
        ),
        (
            "tenants, search by name",
            "/console/tenants?q=tenant%209999".to_string(),
        ),
        ("tenant of 10^4 operators", format!("/console/tenants/{big_id}")),
        (
            "tenant of 10^4 operators, operators page in the middle",
            format!("/console/tenants/{big_id}?operators_after={middle}"),
        ),
        (
            "playground, a decision explained",
            format!(
                "/console/playground?subject_type=User&subject_id={}&action=access_management&resource_type=Tenant&resource_id={big_id}",
                bench_data::user_id(big, 0)
            ),
        ),
        ("policies", "/console/policies".to_string()),
        ("decision log, 1,000 kept", "/console/log".to_string()),
        (
            "decision log, filtered",
            "/console/log?decision=deny&action=access_management".to_string(),
        ),
    ];
    println!(
        "console pages, server time over {samples} requests each ({TENANTS} tenants + one of {OPERATORS} operators)"
    );
    println!(
        "{:<58} {:>9} {:>9} {:>9} {:>9}",
        "page", "p50 ms", "p99 ms", "max ms", "KiB"
    );
    let mut worst = Duration::ZERO;
    for (name, path) in &pages {
        let mut lat = Vec::with_capacity(samples);
        let mut size = 0;
        rt.block_on(async {
            for _ in 0..samples {
                let req = Request::get(path.as_str())
                    .header("cookie", &cookie)
                    .body(Body::empty())
                    .unwrap();
                let t = Instant::now();
                let (status, _, len) = send(&router, req).await;
                lat.push(t.elapsed());
                assert_eq!(status, StatusCode::OK, "{path}");
                size = len;
            }
        });
        lat.sort();
        let max = *lat.last().unwrap();
        worst = worst.max(percentile(&lat, 0.99));
        println!(
            "{:<58} {:>9.2} {:>9.2} {:>9.2} {:>9.1}",
            name,
            percentile(&lat, 0.5).as_secs_f64() * 1e3,
            percentile(&lat, 0.99).as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3,
            size as f64 / 1024.0
        );
    }
    println!(
        "worst p99: {:.2} ms (bound: 50 ms) {}",
        worst.as_secs_f64() * 1e3,
        if worst <= Duration::from_millis(50) {
            "ok"
        } else {
            "OVER"
        }
    );
}
