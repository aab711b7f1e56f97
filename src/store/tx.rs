//! tx: a write transaction as callers see it. Reads go straight through;
//! every write records the cache scopes it changes, so no caller can forget
//! to, and the change counters that tell a cache entry it is stale.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use super::candidates::Within;
use super::rows::{
    AccountRow, HubRow, OperatorRow, RoleRow, SubscriptionRow, TenantFacts, TenantRow, UserRow, UserWithRole,
};
use super::{Cell, Conn, StoreError, Table};

/// Reads go straight through; every write records what it changes first.
macro_rules! reads_through {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        $(fn $name(&self, $($arg: $ty),*) -> Result<$ret, StoreError> {
            self.conn.$name($($arg),*)
        })*
    };
}

impl Conn for Tx<'_> {
    crate::store::conn_untracked!(reads_through);

    fn insert_account(&self, a: &AccountRow) -> Result<(), StoreError> {
        self.touch(scope::account(&a.id));
        self.conn.insert_account(a)
    }

    fn insert_tenant(&self, t: &TenantRow) -> Result<(), StoreError> {
        self.touch_tenant(&t.id);
        self.touch(scope::account(&t.account_id));
        self.conn.insert_tenant(t)
    }

    fn insert_hub(&self, tenant: &str, hub: &HubRow) -> Result<(), StoreError> {
        self.touch_tenant(tenant);
        self.conn.insert_hub(tenant, hub)
    }

    fn insert_subscription(&self, s: &SubscriptionRow) -> Result<i64, StoreError> {
        self.touch_tenant(&s.tenant_id);
        self.conn.insert_subscription(s)
    }

    fn set_subscription_paid(&self, number: i64, at: i64) -> Result<(), StoreError> {
        self.tenant_of_subscription(number)?;
        self.conn.set_subscription_paid(number, at)
    }

    fn set_subscription_term(&self, number: i64, ends_at: i64, quantity: i64) -> Result<(), StoreError> {
        self.tenant_of_subscription(number)?;
        self.conn.set_subscription_term(number, ends_at, quantity)
    }

    fn insert_role(&self, tenant: &str, role: &RoleRow) -> Result<(), StoreError> {
        self.touch_tenant(tenant);
        self.conn.insert_role(tenant, role)
    }

    fn insert_user(&self, u: &UserRow) -> Result<(), StoreError> {
        self.touch_tenant(&u.tenant_id);
        self.conn.insert_user(u)
    }

    fn set_user_active(&self, id: &str, active: bool) -> Result<(), StoreError> {
        self.tenant_of_user(id)?;
        self.conn.set_user_active(id, active)
    }

    fn set_user_role(&self, id: &str, role: &str) -> Result<(), StoreError> {
        self.tenant_of_user(id)?;
        self.conn.set_user_role(id, role)
    }

    fn set_license(&self, id: &str, at: Option<i64>) -> Result<(), StoreError> {
        self.tenant_of_user(id)?;
        self.conn.set_license(id, at)
    }

    fn insert_operator(&self, o: &OperatorRow) -> Result<(), StoreError> {
        self.touch_tenant(&o.tenant_id);
        self.conn.insert_operator(o)
    }

    fn set_operator_active(&self, id: &str, active: bool) -> Result<(), StoreError> {
        self.tenant_of_operator(id)?;
        self.conn.set_operator_active(id, active)
    }

    fn link_operator(&self, id: &str, user: &str, name: &str) -> Result<(), StoreError> {
        self.tenant_of_operator(id)?;
        self.conn.link_operator(id, user, name)
    }

    fn insert_production(&self, operator: &str, at: i64) -> Result<i64, StoreError> {
        self.tenant_of_operator(operator)?;
        self.conn.insert_production(operator, at)
    }

    fn insert_deactivation(
        &self,
        tenant: &str,
        subject_kind: &str,
        subject_id: &str,
        reason: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        self.touch_tenant(tenant);
        self.conn
            .insert_deactivation(tenant, subject_kind, subject_id, reason, at)
    }

    fn put_entity(&self, ty: &str, id: &str, json: &str) -> Result<(), StoreError> {
        self.touch(scope::GENERIC.to_string());
        self.conn.put_entity(ty, id, json)
    }

    fn delete_entity(&self, ty: &str, id: &str) -> Result<bool, StoreError> {
        self.touch(scope::GENERIC.to_string());
        self.conn.delete_entity(ty, id)
    }

    fn load(&self, table: &Table, rows: &[Vec<Cell>]) -> Result<(), StoreError> {
        if table.name == "entities" {
            self.touch(scope::GENERIC.to_string());
        }
        if let Some(column) = table.tenant_column {
            for row in rows {
                if let Some(Cell::Text(t)) = row.get(column) {
                    self.touch_tenant(t);
                }
            }
        }
        if table.name == "accounts" {
            for row in rows {
                if let Some(Cell::Text(a)) = row.first() {
                    self.touch(scope::account(a));
                }
            }
        }
        self.conn.load(table, rows)
    }
}

/// Change counters: each scope (a tenant, an account, the generic entities)
/// carries the value of a global counter at its last committed change, so a cache
/// entry built before that change can tell it is stale. Each scope's counter is
/// a shared cell: a cache entry keeps its cell and checks it with one atomic load.
#[derive(Default)]
pub struct Generations {
    counter: AtomicU64,
    scopes: RwLock<HashMap<String, Arc<AtomicU64>>>,
}

impl Generations {
    /// The generation of `scope` now.
    pub fn get(&self, scope: &str) -> u64 {
        self.cell(scope).load(Ordering::SeqCst)
    }

    /// The counter cell of `scope` (created at 0 if the scope never changed).
    pub fn cell(&self, scope: &str) -> Arc<AtomicU64> {
        let found = match self.scopes.read() {
            Ok(map) => map.get(scope).cloned(),
            Err(poisoned) => poisoned.into_inner().get(scope).cloned(),
        };
        if let Some(c) = found {
            return c;
        }
        let mut map = match self.scopes.write() {
            Ok(map) => map,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.entry(scope.to_string()).or_default().clone()
    }

    /// The global change counter now: an entry built from rows read after this
    /// call is fresh while every scope it depends on is at or below it.
    pub fn current(&self) -> u64 {
        self.counter.load(Ordering::SeqCst)
    }

    /// Marks `scopes` changed (by a commit here or on another node).
    pub(crate) fn bump(&self, scopes: &[String]) {
        if scopes.is_empty() {
            return;
        }
        let value = self.counter.fetch_add(1, Ordering::SeqCst) + 1;
        let mut map = match self.scopes.write() {
            Ok(map) => map,
            Err(poisoned) => poisoned.into_inner(),
        };
        for s in scopes {
            map.entry(s.clone()).or_default().store(value, Ordering::SeqCst);
        }
    }

    /// Marks every scope changed: after a gap in what this node heard from the
    /// others, nothing cached can be trusted.
    pub(crate) fn bump_all(&self) {
        let value = self.counter.fetch_add(1, Ordering::SeqCst) + 1;
        let map = match self.scopes.read() {
            Ok(map) => map,
            Err(poisoned) => poisoned.into_inner(),
        };
        for cell in map.values() {
            cell.store(value, Ordering::SeqCst);
        }
    }
}

/// The write transaction as a job sees it: the connection and the scopes the
/// job changed.
///
/// Every write made through it records the cache scopes it changes (the
/// tenant a row belongs to, its account, the generic entities), so no caller
/// can forget to: the scopes are marked stale on this node when the
/// transaction commits, and on every other node when they hear of it.
pub struct Tx<'c> {
    conn: &'c dyn Conn,
    touched: std::cell::RefCell<Vec<String>>,
}

impl<'c> Tx<'c> {
    pub(crate) fn new(conn: &'c dyn Conn) -> Self {
        Self {
            conn,
            touched: std::cell::RefCell::new(Vec::new()),
        }
    }

    /// Records that this job changed `scope` (see [`scope`]).
    fn touch(&self, scope: String) {
        let mut touched = self.touched.borrow_mut();
        if !touched.contains(&scope) {
            touched.push(scope);
        }
    }

    fn touch_tenant(&self, tenant: &str) {
        self.touch(scope::tenant(tenant));
    }

    /// The tenant of a user, an operator or a subscription about to change.
    fn tenant_of_user(&self, id: &str) -> Result<(), StoreError> {
        if let Some(u) = self.conn.user(id)? {
            self.touch_tenant(&u.tenant_id);
        }
        Ok(())
    }

    fn tenant_of_operator(&self, id: &str) -> Result<(), StoreError> {
        if let Some((o, _)) = self.conn.operator_with_account(id)? {
            self.touch_tenant(&o.tenant_id);
        }
        Ok(())
    }

    fn tenant_of_subscription(&self, number: i64) -> Result<(), StoreError> {
        if let Some(s) = self.conn.subscription(number)? {
            self.touch_tenant(&s.tenant_id);
        }
        Ok(())
    }

    pub(crate) fn into_touched(self) -> Vec<String> {
        self.touched.into_inner()
    }
}

#[cfg(test)]
impl Tx<'_> {
    /// Marks a scope changed without writing (store tests only).
    pub(crate) fn touch_for_test(&self, scope: String) {
        self.touch(scope);
    }
}

impl<'c> std::ops::Deref for Tx<'c> {
    type Target = dyn Conn + 'c;
    fn deref(&self) -> &Self::Target {
        self.conn
    }
}

/// Cache scopes: what a change invalidates.
pub mod scope {
    pub fn tenant(id: &str) -> String {
        format!("t:{id}")
    }
    pub fn account(id: &str) -> String {
        format!("a:{id}")
    }
    pub(crate) const GENERIC: &str = "generic";
}
