//! Shared set-up for the benchmarks: generated ledgers of a given size (kept
//! under the target directory between runs) and request workloads.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use turnstile::bench_data::{self, Shape};
use turnstile::decide::{Engine, Query, Target};
use turnstile::policy::PolicyPack;
use turnstile::store::Store;
use turnstile::time::{self, Clock};

/// The time the ledgers are generated at and decided at.
pub const NOW: &str = "2026-06-01T00:00:00Z";

pub fn now() -> i64 {
    time::parse(NOW).unwrap()
}

/// A generated ledger of about `entities` entities, generated once and reused.
pub fn database(entities: usize) -> (PathBuf, Shape) {
    let shape = Shape::for_entities(entities);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("ledger-{}t-v1.db", shape.tenants));
    let done = path.with_extension("done");
    if !done.exists() {
        for ext in ["db", "db-wal", "db-shm"] {
            let _ = std::fs::remove_file(path.with_extension(ext));
        }
        let store = Store::open(&path).unwrap();
        let g = bench_data::generate(&store, shape, now()).unwrap();
        store.close();
        eprintln!(
            "generated {} entities ({} rows) in {:.1}s at {}",
            g.entities,
            g.rows,
            g.seconds,
            path.display()
        );
        std::fs::write(&done, "").unwrap();
    }
    (path, shape)
}

/// An engine over `db` with the licensing pack and an entity cache of `cache`.
pub fn engine(db: &Path, cache: usize) -> Arc<Engine> {
    let pack = PolicyPack::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("policies")).unwrap();
    let store = Store::open(db).unwrap();
    Arc::new(Engine::with_cache(pack, store, Clock::fixed(now()), cache).unwrap())
}

/// A small deterministic generator (xorshift), so runs compare.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// `n` requests over the whole ledger: 70% a user opening management, 20% an
/// operator recording production, 10% a user viewing reports.
pub fn workload(shape: Shape, n: usize, seed: u64) -> Vec<Query> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| {
            let t = rng.below(shape.tenants);
            let tenant = Target::new("Tenant", bench_data::tenant_id(t));
            match rng.below(10) {
                0..=6 => Query::new(
                    Target::new("User", bench_data::user_id(t, rng.below(shape.users))),
                    "access_management",
                    tenant,
                ),
                7 | 8 => Query::new(
                    Target::new("Operator", bench_data::operator_id(t, rng.below(shape.operators))),
                    "record_production",
                    tenant,
                ),
                _ => Query::new(
                    Target::new("User", bench_data::user_id(t, rng.below(shape.users))),
                    "view",
                    Target::new("Category", "reports"),
                ),
            }
        })
        .collect()
}

/// Peak and current resident memory of this process, in MiB (Linux).
pub fn rss_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(0.0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}
