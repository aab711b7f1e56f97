//! Criterion benchmarks of the in-process decision path (warm entity cache),
//! at 10³, 10⁵ and 10⁶ entities, and of a 50-item batch sharing a subject.
//!
//! `cargo bench --bench decision` (sizes: `TURNSTILE_BENCH_SIZES`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

/// The allocator the `turnstile` binary serves with, so the numbers are its own.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};

fn decisions(c: &mut Criterion) {
    let sizes: Vec<usize> = std::env::var("TURNSTILE_BENCH_SIZES")
        .unwrap_or_else(|_| "1000,100000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let mut group = c.benchmark_group("decide");
    for size in sizes {
        let (db, shape) = common::database(size);
        let engine = common::engine(&db, 100_000);
        let work = common::workload(shape, 2_000, 42);
        for q in &work {
            engine.decide(q).unwrap();
        }
        let mut i = 0usize;
        group.bench_function(format!("warm/{}", shape.entities()), |b| {
            b.iter(|| {
                i = (i + 1) % work.len();
                black_box(engine.decide(&work[i]).unwrap())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, decisions);
criterion_main!(benches);
