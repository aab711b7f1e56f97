//! bench_data: large, realistic licence ledgers for benchmarks.
//!
//! Each tenant gets its own account, a hub, a user and a shop-floor
//! subscription, `users` users (the first an admin; most licensed) and
//! `operators` operators (a few inactive, one user operator), each operator
//! with production records. Rows go in with one transaction per batch of
//! tenants. Entity counts are Cedar entities: accounts, tenants, subscriptions,
//! users and operators (production records are rows, not entities).

use std::time::Instant;

use serde::Serialize;

use crate::store::rows::{AccountRow, HubRow, OperatorRow, SeatKind, SubscriptionRow, TenantRow, UserRow};
use crate::store::{Conn, Store, StoreError};

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
    pub(crate) fn entities_per_tenant(&self) -> usize {
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
    tx: &dyn Conn,
    shape: Shape,
    first: usize,
    last: usize,
    now: i64,
) -> Result<usize, StoreError> {
    let mut rows = 0;
    let year = 365 * 86_400;
    for t in first..last {
        let tid = tenant_id(t);
        let aid = format!("a{t}");
        let created = now - 200 * 86_400;
        tx.insert_account(&AccountRow {
            id: aid.clone(),
            name: format!("Account {t}"),
            created_at: created,
        })?;
        tx.insert_tenant(&TenantRow {
            id: tid.clone(),
            account_id: aid,
            name: format!("Tenant {t}"),
            created_at: created,
            trial_days: None,
            hub: None,
        })?;
        tx.insert_hub(
            &tid,
            &HubRow {
                name: "Hub".into(),
                created_at: created + 20 * 86_400,
            },
        )?;
        // Every tenant pays on time but one in fifty, which is 10 days late.
        let (due, paid) = if t % 50 == 7 {
            (now - 10 * 86_400, None)
        } else {
            (created + 30 * 86_400, Some(created + 25 * 86_400))
        };
        let user_seats = i64::try_from(shape.users).unwrap_or(i64::MAX);
        let seat_count = i64::try_from(shape.operators).unwrap_or(i64::MAX) + 4;
        for (kind, quantity) in [(SeatKind::User, user_seats), (SeatKind::ShopFloor, seat_count)] {
            tx.insert_subscription(&SubscriptionRow {
                number: 0,
                tenant_id: tid.clone(),
                kind,
                quantity,
                starts_at: created,
                ends_at: created + 2 * year,
                payment_due_at: Some(due),
                paid_at: paid,
                created_at: created,
            })?;
        }
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
            tx.insert_user(&UserRow {
                email: format!("{uid}@example.com"),
                id: uid,
                tenant_id: tid.clone(),
                name: format!("User {u}"),
                role: role.into(),
                active: true,
                licensed_at: licensed,
                created_at: created,
                own_operator: None,
            })?;
            rows += 1;
        }
        for o in 0..shape.operators {
            let owner = (o == 0).then(|| user_id(t, 1));
            let active = o % 20 != 19;
            tx.insert_operator(&OperatorRow {
                id: operator_id(t, o),
                tenant_id: tid.clone(),
                number: o.to_string(),
                name: format!("Operator {o}"),
                owner_user_id: owner,
                active,
                created_at: created,
                latest_production_at: None,
                deactivation: None,
            })?;
            for p in 0..shape.production {
                let at = now - i64::try_from((o * 7 + p * 3) % 90).unwrap_or(0) * 86_400;
                tx.insert_production(&operator_id(t, o), at)?;
            }
            rows += 1 + shape.production;
        }
    }
    Ok(rows)
}
