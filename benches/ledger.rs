//! Ledger write throughput: operator adds, each checked by the seat policy
//! inside its transaction, from many concurrent callers, with the store's
//! durability settings (WAL, `synchronous=FULL`). Counts must come out exact.
//!
//! `cargo bench --bench ledger` (adds: `TURNSTILE_BENCH_ADDS`, default 20000),
//! spread over 200 tenants of 200 shop-floor seats each, like a real ledger.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Instant;

use turnstile::decide::Engine;
use turnstile::ledger::Ledger;
use turnstile::ledger::inputs::{
    NewAccount, NewHub, NewOperator, NewSubscription, NewTenant, NewUser, NumberInput,
};
use turnstile::policy::PolicyPack;
use turnstile::store::Store;
use turnstile::time::Clock;

const TENANTS: usize = 200;

async fn setup(dir: &std::path::Path, tenants: usize, seats: i64) -> Ledger {
    let pack = PolicyPack::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies")).unwrap();
    let store = Store::open(&dir.join("ledger.db")).unwrap();
    let engine = Arc::new(Engine::new(pack, store, Clock::system()).unwrap());
    let ledger = Ledger::new(engine);
    for t in 0..tenants {
        let acct = format!("acct-{t}");
        ledger
            .create_account(NewAccount {
                id: acct.clone(),
                name: "Acct".into(),
            })
            .await
            .unwrap();
        ledger
            .create_tenant(
                acct.clone(),
                NewTenant {
                    id: format!("t{t}"),
                    name: "T".into(),
                    trial_days: None,
                },
            )
            .await
            .unwrap();
        ledger
            .create_user(
                format!("t{t}"),
                NewUser {
                    id: format!("admin-{t}"),
                    name: "Admin".into(),
                    email: "a@example.com".into(),
                    role: "admin".into(),
                },
            )
            .await
            .unwrap();
        ledger
            .create_subscription(
                format!("t{t}"),
                NewSubscription {
                    kind: "shop_floor".into(),
                    quantity: seats,
                    starts_at: "2020-01-01T00:00:00Z".into(),
                    ends_at: "2099-01-01T00:00:00Z".into(),
                    payment_due_at: None,
                },
            )
            .await
            .unwrap();
        ledger
            .create_hub(
                acct,
                NewHub {
                    name: "Hub".into(),
                    tenant: None,
                },
            )
            .await
            .unwrap();
    }
    ledger
}

async fn burst(ledger: &Ledger, adds: usize, callers: usize, tenants: usize) -> (usize, usize, f64) {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..callers {
        let ledger = ledger.clone();
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut refused) = (0, 0);
            for i in (c..adds).step_by(callers) {
                let r = ledger
                    .add_operator(
                        format!("t{}", i % tenants),
                        NewOperator {
                            id: format!("op-{i}"),
                            number: NumberInput::Integer(i as u64),
                            name: format!("Operator {i}"),
                            by: None,
                        },
                    )
                    .await;
                match r {
                    Ok(_) => ok += 1,
                    Err(turnstile::ledger::LedgerError::Refused(_)) => refused += 1,
                    Err(e) => panic!("{e}"),
                }
            }
            (ok, refused)
        }));
    }
    let (mut ok, mut refused) = (0, 0);
    for t in tasks {
        let (o, r) = t.await.unwrap();
        ok += o;
        refused += r;
    }
    (ok, refused, started.elapsed().as_secs_f64())
}

/// The allocator the `turnstile` binary serves with, so the numbers are its own.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let adds: usize = std::env::var("TURNSTILE_BENCH_ADDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        println!("| callers | adds | succeeded | refused | seconds | adds/s |");
        println!("|---:|---:|---:|---:|---:|---:|");
        for callers in [1usize, 16, 64] {
            let dir = tempfile::tempdir().unwrap();
            let ledger = setup(dir.path(), TENANTS, (adds / TENANTS + 1) as i64).await;
            let n = if callers == 1 { adds / 10 } else { adds };
            let (ok, refused, secs) = burst(&ledger, n, callers, TENANTS).await;
            assert_eq!((ok, refused), (n, 0));
            println!(
                "| {callers} | {n} | {ok} | {refused} | {secs:.2} | {:.0} |",
                ok as f64 / secs
            );
            ledger.store().close();
        }
        // Exact counts at the limit: one tenant, more attempts than seats.
        let dir = tempfile::tempdir().unwrap();
        let (seats, attempts) = (500, 1_200);
        let ledger = setup(dir.path(), 1, seats as i64).await;
        let (ok, refused, secs) = burst(&ledger, attempts, 64, 1).await;
        assert_eq!(ok, seats, "exactly the seats that exist are handed out");
        assert_eq!(refused, attempts - seats);
        println!(
            "| 64, one tenant with {seats} seats | {attempts} | {ok} | {refused} | {secs:.2} | {:.0} |",
            attempts as f64 / secs
        );
        ledger.store().close();
    });
}
