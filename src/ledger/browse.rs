//! browse: the ledger read a page at a time, for people (the web console).
//! Pages are keyset-paged by id, so a page costs the same on the first and
//! the ten-thousandth tenant or operator. Read-only: nothing here changes the
//! ledger or decides anything; what is in force is the notice policies' answer.

use super::views::{OperatorView, SeatsView, TenantView, UserView};
use super::{Ledger, LedgerError, status};
use crate::notice::Notice;
use crate::store::Conn;
use crate::store::candidates::Within;
use crate::store::rows::TenantFacts;

/// The most items a page holds.
pub(crate) const MAX_PAGE: usize = 200;

/// One page: its items and the cursor of the next page, if there is one.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Give this as `after` to get the next page.
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// Cuts `items` (fetched one more than `limit`) to a page.
    fn of(mut items: Vec<T>, limit: usize, key: impl Fn(&T) -> String) -> Self {
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(key)
        } else {
            None
        };
        Self { items, next }
    }
}

/// A tenant as a list shows it: its state, seats and notices.
#[derive(Debug)]
pub(crate) struct TenantSummary {
    pub tenant: TenantView,
    pub seats: SeatsView,
    /// The notices its users see now (countdowns).
    pub notices: Vec<Notice>,
    /// The notice policies whose forbid is in force now (the tenant is
    /// locked out by them), by policy id.
    pub in_force: Vec<String>,
}

fn summary(pack: &crate::policy::PolicyPack, f: &TenantFacts, now: i64) -> TenantSummary {
    let (notices, in_force) = status::standing(pack, f, now);
    TenantSummary {
        tenant: TenantView::new(f, status::trial_ends_at(pack, f)),
        seats: SeatsView::from(f),
        notices,
        in_force,
    }
}

fn clamp(limit: usize) -> usize {
    limit.clamp(1, MAX_PAGE)
}

impl Ledger {
    /// Tenants whose id or name holds `text` (every one when empty), in id
    /// order after `after`, with their state.
    pub(crate) async fn browse_tenants(
        &self,
        text: String,
        after: String,
        limit: usize,
    ) -> Result<Page<TenantSummary>, LedgerError> {
        let limit = clamp(limit);
        let engine = self.engine().clone();
        self.read(move |conn, now| {
            let pack = engine.pack();
            let rows = conn.find_tenants(text.trim(), &after, limit + 1)?;
            let mut items = Vec::with_capacity(rows.len());
            for row in rows {
                if let Some(f) = conn.tenant_facts(&row.id, now)? {
                    items.push(summary(&pack, &f, now));
                }
            }
            Ok(Page::of(items, limit, |s| s.tenant.id.clone()))
        })
        .await
    }

    /// One tenant with its state, seats and notices.
    pub(crate) async fn tenant_summary(&self, id: String) -> Result<TenantSummary, LedgerError> {
        let engine = self.engine().clone();
        self.read(move |conn, now| {
            let f = conn
                .tenant_facts(&id, now)?
                .ok_or_else(|| LedgerError::NotFound(format!("tenant `{id}`")))?;
            Ok(summary(&engine.pack(), &f, now))
        })
        .await
    }

    /// A tenant's operators in id order after `after`.
    pub(crate) async fn browse_operators(
        &self,
        tenant: String,
        after: String,
        limit: usize,
    ) -> Result<Page<OperatorView>, LedgerError> {
        let limit = clamp(limit);
        self.read(move |conn, _| {
            exists(conn, &tenant)?;
            let ids = conn.candidates("Operator", true, Within::Tenant(&tenant), &after, limit + 1)?;
            let mut items = Vec::with_capacity(ids.len());
            for id in ids {
                let Some(o) = conn.operator(&id)? else { continue };
                let owner_active = match &o.owner_user_id {
                    Some(u) => conn.user(u)?.is_none_or(|u| u.active),
                    None => true,
                };
                items.push(OperatorView::new(&o, owner_active));
            }
            Ok(Page::of(items, limit, |o| o.id.clone()))
        })
        .await
    }

    /// A tenant's users in id order after `after`.
    pub(crate) async fn browse_users(
        &self,
        tenant: String,
        after: String,
        limit: usize,
    ) -> Result<Page<UserView>, LedgerError> {
        let limit = clamp(limit);
        self.read(move |conn, _| {
            exists(conn, &tenant)?;
            let ids = conn.candidates("User", true, Within::Tenant(&tenant), &after, limit + 1)?;
            let mut items = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(u) = conn.user(&id)? {
                    items.push(UserView::from(&u));
                }
            }
            Ok(Page::of(items, limit, |u| u.id.clone()))
        })
        .await
    }
}

fn exists(conn: &dyn Conn, tenant: &str) -> Result<(), LedgerError> {
    conn.tenant(tenant)?
        .map(|_| ())
        .ok_or_else(|| LedgerError::NotFound(format!("tenant `{tenant}`")))
}
