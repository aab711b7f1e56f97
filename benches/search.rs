//! AuthZEN search latency, in process (`Engine::search`, licensing pack): a
//! resource search for one user over the operators of a tenant that has 10^4
//! of them (`transfer_operator`: which operators may this admin transfer), in a
//! generated ledger of 10^6 entities and in one of 10^4, to show that the cost
//! does not grow with the rest of the store. Also the subject search of the
//! same tenant (which operators may record production).
//!
//! `cargo bench --bench search` (sizes: `TURNSTILE_BENCH_SIZES`, default
//! `1000,1000000`: the generated ledger, to which the big tenant is added;
//! repetitions: `TURNSTILE_BENCH_SAMPLES`, default 200; rows:
//! `TURNSTILE_BENCH_MODES`, default `repeated,fresh,uncached,walk`). For each
//! size, with the service's default entity cache unless said otherwise:
//! - `repeated`: the first page (default limit, 100) asked again and again:
//!   its candidates' entities and slices are cached after the first time;
//! - `fresh`: the first page on an engine whose caches are empty (same
//!   database and connections): every entity read from SQLite once;
//! - `uncached`: the first page with no entity cache at all
//!   (`--cache-entities 0`): every decision reads all its entities;
//! - `walk`: every page, followed with the next token (10^4 candidates): the
//!   time of one page, and of the whole walk.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

/// The allocator the `turnstile` binary serves with, so the numbers are its own.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use turnstile::bench_data::{self, Shape};
use turnstile::decide::{Engine, Query, Target};
use turnstile::search::{DEFAULT_LIMIT, Page, Search, Searched};
use turnstile::store::Store;
use turnstile::time::Clock;

/// Operators of the searched tenant.
const OPERATORS: usize = 10_000;

/// The generated ledger of about `entities` entities plus one tenant with
/// [`OPERATORS`] operators (numbered after the others), made once and kept
/// beside the other benches' ledgers. Returns the path, the big tenant's
/// number and the entities stored, counted.
fn database(entities: usize) -> (PathBuf, usize, usize) {
    let (base, shape) = common::database(entities);
    let path = base.with_file_name(format!("search-{}t-{OPERATORS}ops-v2.db", shape.tenants));
    let done = path.with_extension("done");
    let big = Shape {
        tenants: 1,
        users: 20,
        operators: OPERATORS,
        production: 2,
    };
    if !done.exists() {
        for ext in ["db", "db-wal", "db-shm"] {
            let _ = std::fs::remove_file(path.with_extension(ext));
        }
        // The generated ledger may still have part of its data in its WAL.
        std::fs::copy(&base, &path).unwrap();
        let wal = base.with_extension("db-wal");
        if wal.exists() {
            std::fs::copy(&wal, path.with_extension("db-wal")).unwrap();
        }
        let store = Store::open(&path).unwrap();
        let g = bench_data::generate_from(&store, shape.tenants, big, common::now()).unwrap();
        store.close();
        eprintln!(
            "added a tenant of {} entities ({} rows) in {:.1}s at {}",
            g.entities,
            g.rows,
            g.seconds,
            path.display()
        );
        std::fs::write(&done, "").unwrap();
    }
    (path.clone(), shape.tenants, entities_in(&path))
}

/// The Cedar entities stored in the ledger at `path`, counted.
fn entities_in(path: &std::path::Path) -> usize {
    let conn = rusqlite::Connection::open(path).unwrap();
    let count: i64 = conn
        .query_row(
            "SELECT (SELECT COUNT(*) FROM accounts) + (SELECT COUNT(*) FROM tenants)
                  + (SELECT COUNT(*) FROM subscriptions) + (SELECT COUNT(*) FROM users)
                  + (SELECT COUNT(*) FROM operators)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    usize::try_from(count).unwrap()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A search for the tenant numbered `t`, from its first page.
fn search(searched: Searched, t: usize) -> Search {
    let query = match searched {
        // Which operators of the tenant may its admin transfer.
        Searched::Resource => Query::new(
            Target::new("User", bench_data::user_id(t, 0)),
            "transfer_operator",
            Target::new("Operator", ""),
        ),
        // Which operators may record production on the tenant.
        _ => Query::new(
            Target::new("Operator", ""),
            "record_production",
            Target::new("Tenant", bench_data::tenant_id(t)),
        ),
    };
    Search {
        searched,
        query,
        limit: DEFAULT_LIMIT,
        after: None,
    }
}

/// Times `f` `n` times; sorted latencies.
fn timed(n: usize, mut f: impl FnMut() -> Page) -> (Vec<Duration>, Page) {
    let mut lat = Vec::with_capacity(n);
    let mut last = Page::default();
    for _ in 0..n {
        let t = Instant::now();
        last = f();
        lat.push(t.elapsed());
    }
    lat.sort();
    (lat, last)
}

fn row(entities: usize, what: &str, lat: &[Duration], page: &Page) {
    println!(
        "| {entities} | {what} | {:.2} | {:.2} | {:.2} | {} | {} |",
        ms(percentile(lat, 0.50)),
        ms(percentile(lat, 0.99)),
        ms(lat[lat.len() - 1]),
        page.results.len(),
        page.examined,
    );
}

/// Walks every page of `s`: the latency of each page, each walk's total,
/// and the results of the last walk.
fn walk(engine: &Engine, s: &Search, walks: usize) -> (Vec<Duration>, Vec<Duration>, usize, usize) {
    let mut pages = Vec::new();
    let mut totals = Vec::new();
    let (mut results, mut examined) = (0, 0);
    for _ in 0..walks {
        let mut s = s.clone();
        let started = Instant::now();
        (results, examined) = (0, 0);
        loop {
            let t = Instant::now();
            let page = engine.search(&s).unwrap();
            pages.push(t.elapsed());
            results += page.results.len();
            examined += page.examined;
            match page.next {
                Some(next) => s.after = Some(next),
                None => break,
            }
        }
        totals.push(started.elapsed());
    }
    pages.sort();
    totals.sort();
    (pages, totals, results, examined)
}

fn main() {
    let sizes: Vec<usize> = std::env::var("TURNSTILE_BENCH_SIZES")
        .unwrap_or_else(|_| "1000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let samples: usize = std::env::var("TURNSTILE_BENCH_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let walks = (samples / 20).max(3);
    println!("| entities | search | p50 ms | p99 ms | max ms | results | candidates decided |");
    println!("|---:|---|---:|---:|---:|---:|---:|");
    let modes =
        std::env::var("TURNSTILE_BENCH_MODES").unwrap_or_else(|_| "repeated,fresh,uncached,walk".into());
    let mode = |m: &str| modes.split(',').any(|x| x.trim() == m);
    for size in sizes {
        let (db, t, entities) = database(size);
        let engine = common::engine(&db, turnstile::slice::DEFAULT_CACHE_CAPACITY);
        let uncached = common::engine(&db, 0);
        for searched in [Searched::Resource, Searched::Subject] {
            let s = search(searched, t);
            let name = match searched {
                Searched::Resource => "resource (User transfer_operator Operator)",
                _ => "subject (Operator record_production Tenant)",
            };
            // One run to warm SQLite's page cache and the entity cache.
            let first = engine.search(&s).unwrap();
            assert_eq!(first.results.len(), DEFAULT_LIMIT, "a full first page");
            if mode("repeated") {
                let (lat, page) = timed(samples, || engine.search(&s).unwrap());
                row(entities, &format!("{name}: first page, repeated"), &lat, &page);
            }
            if mode("fresh") {
                let mut lat = Vec::with_capacity(samples);
                let mut page = Page::default();
                for _ in 0..samples {
                    let fresh = Engine::with_cache(
                        (*engine.pack()).clone(),
                        engine.store().clone(),
                        Clock::fixed(common::now()),
                        turnstile::slice::DEFAULT_CACHE_CAPACITY,
                    )
                    .unwrap();
                    let started = Instant::now();
                    page = fresh.search(&s).unwrap();
                    lat.push(started.elapsed());
                }
                lat.sort();
                row(
                    entities,
                    &format!("{name}: first page, empty caches"),
                    &lat,
                    &page,
                );
            }
            if mode("uncached") {
                let (lat, page) = timed(samples, || uncached.search(&s).unwrap());
                row(
                    entities,
                    &format!("{name}: first page, no entity cache"),
                    &lat,
                    &page,
                );
            }
            if mode("walk") {
                let (pages, totals, results, examined) = walk(&engine, &s, walks);
                assert!(results > OPERATORS * 9 / 10, "most operators match: {results}");
                let per_walk = pages.len() / walks;
                println!(
                    "| {entities} | {name}: one page of a walk through all | {:.2} | {:.2} | {:.2} | {} | {} |",
                    ms(percentile(&pages, 0.50)),
                    ms(percentile(&pages, 0.99)),
                    ms(pages[pages.len() - 1]),
                    results / per_walk,
                    examined / per_walk,
                );
                println!(
                    "| {entities} | {name}: whole walk ({per_walk} pages, {walks} walks) | {:.2} | {:.2} | {:.2} | {results} | {examined} |",
                    ms(percentile(&totals, 0.50)),
                    ms(percentile(&totals, 0.99)),
                    ms(totals[totals.len() - 1]),
                );
            }
        }
    }
    let (peak, now) = common::rss_mib();
    println!("\nRSS: peak {peak:.0} MiB, now {now:.0} MiB");
}
