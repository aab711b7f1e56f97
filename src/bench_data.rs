//! bench_data: large, realistic licence ledgers for benchmarks.
//!
//! Each tenant gets its own account, a hub, a user and a shop-floor
//! subscription, `users` users (the first an admin; most licensed) and
//! `operators` operators (a few inactive, one user operator), each operator
//! with production records. Rows go in with one transaction per batch of
//! tenants. Entity counts are Cedar entities: accounts, tenants, subscriptions,
//! users and operators (production records are rows, not entities).

use std::time::Instant;

use rusqlite::params;
use serde::Serialize;

use crate::store::{Store, StoreError, scope};

/// The shape of a generated ledger.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Shape {
    pub tenants: usize,
    pub users: usize,
    pub operators: usize,
    pub production: usize,
}

impl Shape {
    /// Cedar entities per tenant: account, tenant, 2 subscriptions, users, operators.
    pub fn entities_per_tenant(&self) -> usize {
        4 + self.users + self.operators
    }

    /// The shape giving about `entities` entities with 20 users and 56 operators per tenant.
    pub fn for_entities(entities: usize) -> Self {
        let base = Shape {
            tenants: 1,
            users: 20,
            operators: 56,
            production: 2,
        };
        Shape {
            tenants: (entities / base.entities_per_tenant()).max(1),
            ..base
        }
    }

    pub fn entities(&self) -> usize {
        self.tenants * self.entities_per_tenant()
    }
}

/// What was generated.
#[derive(Debug, Clone, Serialize)]
pub struct Generated {
    pub shape: Shape,
    pub entities: usize,
    pub rows: usize,
    pub seconds: f64,
}

/// The id of the `i`-th tenant's `j`-th user, as generated.
pub fn user_id(tenant: usize, user: usize) -> String {
    format!("u{tenant}-{user}")
}

pub fn tenant_id(tenant: usize) -> String {
    format!("t{tenant}")
}

pub fn operator_id(tenant: usize, op: usize) -> String {
    format!("o{tenant}-{op}")
}

/// Fills `store` (expected empty) with `shape` as of `now`.
pub fn generate(store: &Store, shape: Shape, now: i64) -> Result<Generated, StoreError> {
    generate_from(store, 0, shape, now)
}

/// Adds `shape.tenants` tenants of `shape` numbered from `first` (their ids
/// follow [`tenant_id`] and the others): a ledger already generated can gain
/// tenants of another shape, such as one with 10^4 operators.
pub fn generate_from(store: &Store, first: usize, shape: Shape, now: i64) -> Result<Generated, StoreError> {
    let started = Instant::now();
    let per_batch = 500;
    let mut rows = 0usize;
    let end = first + shape.tenants;
    let mut first = first;
    while first < end {
        let last = (first + per_batch).min(end);
        rows += store.write_blocking(move |tx| -> Result<usize, StoreError> {
            let rows = insert_tenants(tx, shape, first, last, now)?;
            for t in first..last {
                tx.touch(scope::tenant(&tenant_id(t)));
            }
            Ok(rows)
        })?;
        first = last;
    }
    Ok(Generated {
        shape,
        entities: shape.entities(),
        rows,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn insert_tenants(
    tx: &rusqlite::Connection,
    shape: Shape,
    first: usize,
    last: usize,
    now: i64,
) -> Result<usize, StoreError> {
    let mut rows = 0;
    let mut account = tx.prepare_cached("INSERT INTO accounts (id, name, created_at) VALUES (?1, ?2, ?3)")?;
    let mut tenant = tx.prepare_cached(
        "INSERT INTO tenants (id, account_id, name, created_at, trial_days) VALUES (?1, ?2, ?3, ?4, NULL)",
    )?;
    let mut hub = tx.prepare_cached("INSERT INTO hubs (tenant_id, name, created_at) VALUES (?1, ?2, ?3)")?;
    let mut sub = tx.prepare_cached(
                "INSERT INTO subscriptions (tenant_id, kind, quantity, starts_at, ends_at, payment_due_at, paid_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?4)",
            )?;
    let mut user = tx.prepare_cached(
        "INSERT INTO users (id, tenant_id, name, email, role, active, licensed_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7)",
    )?;
    let mut op = tx.prepare_cached(
        "INSERT INTO operators (id, tenant_id, number, name, owner_user_id, active, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut prod = tx.prepare_cached("INSERT INTO production_records (operator_id, at) VALUES (?1, ?2)")?;
    let year = 365 * 86_400;
    for t in first..last {
        let tid = tenant_id(t);
        let aid = format!("a{t}");
        let created = now - 200 * 86_400;
        account.execute(params![aid, format!("Account {t}"), created])?;
        tenant.execute(params![tid, aid, format!("Tenant {t}"), created])?;
        hub.execute(params![tid, "Hub", created + 20 * 86_400])?;
        // Every tenant pays on time but one in fifty, which is 10 days late.
        let (due, paid) = if t % 50 == 7 {
            (now - 10 * 86_400, None)
        } else {
            (created + 30 * 86_400, Some(created + 25 * 86_400))
        };
        let user_seats = i64::try_from(shape.users).unwrap_or(i64::MAX);
        let seat_count = i64::try_from(shape.operators).unwrap_or(i64::MAX) + 4;
        sub.execute(params![
            tid,
            "user",
            user_seats,
            created,
            created + 2 * year,
            due,
            paid
        ])?;
        sub.execute(params![
            tid,
            "shop_floor",
            seat_count,
            created,
            created + 2 * year,
            due,
            paid
        ])?;
        rows += 5;
        for u in 0..shape.users {
            let role = match u {
                0 => "admin",
                1..=3 => "manager",
                _ => "viewer",
            };
            // Most users hold a licence; every tenth does not.
            let licensed = (u % 10 != 9).then_some(created + 21 * 86_400);
            let uid = user_id(t, u);
            user.execute(params![
                uid,
                tid,
                format!("User {u}"),
                format!("{uid}@example.com"),
                role,
                licensed,
                created
            ])?;
            rows += 1;
        }
        for o in 0..shape.operators {
            let owner = (o == 0).then(|| user_id(t, 1));
            let active = o % 20 != 19;
            op.execute(params![
                operator_id(t, o),
                tid,
                o.to_string(),
                format!("Operator {o}"),
                owner,
                active,
                created
            ])?;
            for p in 0..shape.production {
                let at = now - i64::try_from((o * 7 + p * 3) % 90).unwrap_or(0) * 86_400;
                prod.execute(params![operator_id(t, o), at])?;
            }
            rows += 1 + shape.production;
        }
    }
    Ok(rows)
}
