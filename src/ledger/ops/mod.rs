//! The ledger's operations, one function each. Reads run on the read pool off
//! the async workers; changes run as one job of the writer: facts, policy check
//! and write in one transaction.

mod accounts;
mod operators;
mod standing;
mod subscriptions;
mod users;

use serde::Serialize;
use serde_json::{Map, Value};

use super::inputs::{
    self, ByOnly, LinkOperator, NewAccount, NewHub, NewOperator, NewOwnOperator, NewProduction, NewRole,
    NewSubscription, NewTenant, NewUser, OperatorChange, SubscriptionChange, UserChange,
};
use super::reconcile::{self, Plan};
use super::views::{AccountView, OperatorView, RoleView, SeatsView, SubscriptionView, TenantView, UserView};
use super::{Actor, Ledger, LedgerError, check, status};
use crate::decide::{Engine, Target};
use crate::notice::Notice;
use crate::store::rows::{
    AccountRow, BUILTIN_ROLES, HubRow, OperatorRow, RoleRow, SubscriptionRow, TenantFacts, TenantRow,
    UserRow, is_conflict,
};
use crate::store::{Conn, StoreError, Tx};

/// `POST /v1/accounts/{account}/hubs` answers this.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HubCreated {
    pub tenant: TenantView,
    pub reconciliation: Plan,
}

/// `PATCH /v1/tenants/{tenant}/subscriptions/{number}` answers this.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct SubscriptionChanged {
    pub subscription: SubscriptionView,
    pub reconciliation: Plan,
}

/// A change that moved seats: the entity and the seats after it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WithSeats<T> {
    #[serde(flatten)]
    pub item: T,
    pub seats: SeatsView,
}

/// A production record.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProductionRecorded {
    pub operator: String,
    #[schema(format = DateTime)]
    pub at: String,
}

fn tenant_row(conn: &dyn Conn, id: &str) -> Result<TenantRow, LedgerError> {
    conn.tenant(id)?
        .ok_or_else(|| LedgerError::NotFound(format!("tenant `{id}`")))
}

fn facts(conn: &dyn Conn, id: &str, now: i64) -> Result<TenantFacts, LedgerError> {
    conn.tenant_facts(id, now)?
        .ok_or_else(|| LedgerError::NotFound(format!("tenant `{id}`")))
}

fn user_row(conn: &dyn Conn, id: &str) -> Result<UserRow, LedgerError> {
    conn.user(id)?
        .ok_or_else(|| LedgerError::NotFound(format!("user `{id}`")))
}

fn operator_row(conn: &dyn Conn, id: &str) -> Result<OperatorRow, LedgerError> {
    conn.operator(id)?
        .ok_or_else(|| LedgerError::NotFound(format!("operator `{id}`")))
}

/// The actor of a change: the user named in `by`, or else the tenant's account.
fn actor(conn: &dyn Conn, by: Option<&str>, tenant: &TenantRow) -> Result<Actor, LedgerError> {
    match by {
        Some(u) => {
            let u = inputs::id("by", u)?;
            if conn.user(&u)?.is_none() {
                return Err(LedgerError::NotFound(format!("user `{u}` (in `by`)")));
            }
            Ok(Actor::User(u))
        }
        None => Ok(Actor::Account(tenant.account_id.clone())),
    }
}

fn conflict_or(e: StoreError, field: &str, what: String) -> LedgerError {
    if is_conflict(&e) {
        LedgerError::conflict("duplicate", Some(field), what)
    } else {
        LedgerError::Store(e)
    }
}

fn operator_view(conn: &dyn Conn, o: &OperatorRow) -> Result<OperatorView, LedgerError> {
    let owner_active = match &o.owner_user_id {
        Some(u) => conn.user(u)?.is_none_or(|u| u.active),
        None => true,
    };
    Ok(OperatorView::new(o, owner_active))
}

/// Refuses a new operator whose id exists or whose number the tenant uses (409).
fn new_operator_free(tx: &Tx<'_>, tenant: &str, id: &str, number: &str) -> Result<(), LedgerError> {
    if tx.operator_number_taken(tenant, number)? {
        return Err(LedgerError::conflict(
            "duplicate",
            Some("number"),
            format!("operator number `{number}` is already used in tenant `{tenant}`"),
        ));
    }
    if tx.operator_exists(id)? {
        return Err(LedgerError::conflict(
            "duplicate",
            Some("id"),
            format!("operator `{id}` already exists"),
        ));
    }
    Ok(())
}

impl Ledger {
    pub(super) async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Conn, i64) -> Result<T, LedgerError> + Send + 'static,
    ) -> Result<T, LedgerError> {
        let store = self.store().clone();
        let now = self.clock().now();
        tokio::task::spawn_blocking(move || {
            let conn = store.reader()?;
            f(&conn, now)
        })
        .await
        .map_err(|e| LedgerError::Store(StoreError::Commit(e.to_string())))?
    }

    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Tx<'_>, i64) -> Result<T, LedgerError> + Send + 'static,
    ) -> Result<T, LedgerError> {
        let now = self.clock().now();
        self.store().write(move |tx| f(tx, now)).await
    }
}

/// R9 after a change that may lower capacity, where the pack's `reconcile`
/// allows it (a tenant in trial holds no seats: nothing to take back); an
/// empty plan where it does not.
fn reconcile_if_allowed(
    engine: &Engine,
    tx: &mut Tx<'_>,
    tenant: &str,
    now: i64,
) -> Result<Plan, LedgerError> {
    let t = tenant_row(tx, tenant)?;
    match check(
        engine,
        tx,
        now,
        &Actor::Account(t.account_id.clone()),
        "reconcile",
        Target::new("Tenant", tenant),
        None,
    ) {
        Ok(_) => reconcile::run(tx, &engine.pack(), tenant, now),
        Err(LedgerError::Refused(_)) => {
            reconcile::plan(tx, &engine.pack(), tenant, now, false).map(|mut p| {
                p.operators.clear();
                p.licenses.clear();
                p
            })
        }
        Err(e) => Err(e),
    }
}
