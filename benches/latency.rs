//! In-process decision latency (SQLite slice + Cedar, licensing pack), as
//! percentiles, at 10³, 10⁵ and 10⁶ entities.
//!
//! `cargo bench --bench latency` (sizes: `TURNSTILE_BENCH_SIZES=1000,100000`).
//! Two workloads per size:
//! - warm: the same number of distinct requests at every size (2,000 by default,
//!   `TURNSTILE_BENCH_WORKING_SET`), spread over the whole ledger, their entities
//!   cached after one pass: the steady state of a service whose active users fit
//!   its entity cache, compared across sizes on an equal footing;
//! - cold: no entity cache at all, every request reads its slice from SQLite.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

/// The allocator the `turnstile` binary serves with, so the numbers are its own.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::{Duration, Instant};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let sizes: Vec<usize> = std::env::var("TURNSTILE_BENCH_SIZES")
        .unwrap_or_else(|_| "1000,100000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let working_set: usize = std::env::var("TURNSTILE_BENCH_WORKING_SET")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000);
    let samples: usize = std::env::var("TURNSTILE_BENCH_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000);
    println!(
        "| entities | workload | p50 µs | p90 µs | p99 µs | p99.9 µs | mean µs | decisions/s (1 thread) |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|");
    for size in sizes {
        let (db, shape) = common::database(size);
        let modes = std::env::var("TURNSTILE_BENCH_MODES").unwrap_or_else(|_| "warm,cold".into());
        for (mode, cache, distinct) in [
            ("warm", turnstile::slice::DEFAULT_CACHE_CAPACITY, working_set),
            ("cold", 0, samples),
        ] {
            if !modes.split(',').any(|m| m.trim() == mode) {
                continue;
            }
            let engine = common::engine(&db, cache);
            let work = common::workload(shape, distinct, 0x5eed + size as u64);
            // One pass to warm the cache (and SQLite's page cache).
            for q in work.iter().take(distinct.min(20_000)) {
                engine.decide(q).unwrap();
            }
            let n = if mode == "cold" { samples / 4 } else { samples };
            let mut lat = Vec::with_capacity(n);
            let mut allowed = 0usize;
            let start = Instant::now();
            for i in 0..n {
                let q = &work[i % work.len()];
                let t = Instant::now();
                let d = engine.decide(q).unwrap();
                lat.push(t.elapsed());
                allowed += usize::from(d.allowed);
            }
            let total = start.elapsed();
            lat.sort();
            let mean = total / n as u32;
            println!(
                "| {} | {mode} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.0} |",
                shape.entities(),
                us(percentile(&lat, 0.50)),
                us(percentile(&lat, 0.90)),
                us(percentile(&lat, 0.99)),
                us(percentile(&lat, 0.999)),
                us(mean),
                n as f64 / total.as_secs_f64(),
            );
            assert!(allowed > 0 && allowed < n, "the workload mixes allows and denies");
        }
    }
    // The floor: Cedar alone (`Authorizer::is_authorized` on slices already
    // built), for the same warm workload, to show what the service adds.
    if std::env::var("TURNSTILE_BENCH_MODES").map_or(true, |m| m.split(',').any(|x| x.trim() == "cedar")) {
        let (db, shape) = common::database(1000);
        let engine = common::engine(&db, 100_000);
        let pack = engine.pack();
        let work = common::workload(shape, 2_000, 0x5eed);
        let ready: Vec<_> = work
            .iter()
            .filter_map(|q| {
                match engine
                    .prepare(
                        &pack,
                        turnstile::slice::Source::Store(engine.store()),
                        common::now(),
                        q,
                    )
                    .unwrap()
                {
                    turnstile::decide::Prepared::Ready(r) => Some(r),
                    turnstile::decide::Prepared::Unknown(_) => None,
                }
            })
            .collect();
        let n = samples;
        let mut lat = Vec::with_capacity(n);
        for i in 0..n {
            let r = &ready[i % ready.len()];
            let t = Instant::now();
            std::hint::black_box(engine.evaluate(&pack, r));
            lat.push(t.elapsed());
        }
        lat.sort();
        println!(
            "| {} | cedar only (evaluate a prepared slice) | {:.1} | {:.1} | {:.1} | {:.1} | | |",
            shape.entities(),
            us(percentile(&lat, 0.50)),
            us(percentile(&lat, 0.90)),
            us(percentile(&lat, 0.99)),
            us(percentile(&lat, 0.999)),
        );
    }
    let (peak, now) = common::rss_mib();
    println!("\nRSS: peak {peak:.0} MiB, now {now:.0} MiB");
}
