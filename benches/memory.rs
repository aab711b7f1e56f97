//! Memory: what the decision caches cost, in live heap bytes, counted by the
//! allocator itself (not RSS, which also holds freed pages and SQLite's file
//! cache). Decides random requests over a generated ledger of 10^6 entities
//! with the default cache, then with none, and prints the heap each holds.
//!
//! `cargo bench --bench memory` (size: `TURNSTILE_BENCH_SIZES`, requests:
//! `TURNSTILE_BENCH_SAMPLES`, default 200000).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicIsize, Ordering};

/// mimalloc (the binary's allocator), counting the bytes live.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { mimalloc::MiMalloc.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn mib(bytes: isize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn main() {
    let size: usize = std::env::var("TURNSTILE_BENCH_SIZES")
        .ok()
        .and_then(|s| s.split(',').next_back().and_then(|s| s.trim().parse().ok()))
        .unwrap_or(1_000_000);
    let n: usize = std::env::var("TURNSTILE_BENCH_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000);
    let (db, shape) = common::database(size);
    println!(
        "| entities | cache (entities) | requests | entities cached | slices cached | heap MiB | bytes per cached entity |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let mut baseline = None;
    for cache in [0, turnstile::slice::DEFAULT_CACHE_CAPACITY] {
        let before = LIVE.load(Ordering::Relaxed);
        let engine = common::engine(&db, cache);
        for q in common::workload(shape, n, 0x3e3 + cache as u64) {
            engine.decide(&q).unwrap();
        }
        let heap = LIVE.load(Ordering::Relaxed) - before;
        let (entities, slices) = engine.cached();
        let per = match baseline {
            Some(base) if entities > 0 => format!("{:.0}", (heap - base) as f64 / entities as f64),
            _ => "".into(),
        };
        println!(
            "| {size} | {cache} | {n} | {entities} | {slices} | {:.1} | {per} |",
            mib(heap)
        );
        baseline.get_or_insert(heap);
        drop(engine);
    }
}
