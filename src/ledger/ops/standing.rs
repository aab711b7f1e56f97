//! A tenant's seats and notices, and R9 reconciliation on demand and on schedule.

use super::*;

impl Ledger {
    /// R5: seats per kind; `shop_floor` absent for a tenant without such seats.
    pub async fn seats(&self, tenant: String) -> Result<SeatsView, LedgerError> {
        self.read(move |conn, now| Ok(SeatsView::from(&facts(conn, &tenant, now)?)))
            .await
    }

    /// R2/R8: the notices the tenant's users see now.
    pub async fn notices(&self, tenant: String) -> Result<Vec<Notice>, LedgerError> {
        let engine = self.engine().clone();
        self.read(move |conn, now| Ok(status::notices(&engine.pack(), &facts(conn, &tenant, now)?, now)))
            .await
    }

    /// R9 on demand; a dry run on a tenant in trial previews its hub's creation.
    pub async fn reconcile(&self, tenant: String, dry_run: bool) -> Result<Plan, LedgerError> {
        let engine = self.engine().clone();
        if dry_run {
            return self
                .read(move |conn, now| {
                    tenant_row(conn, &tenant)?;
                    reconcile::plan(conn, &engine.pack(), &tenant, now, true)
                })
                .await;
        }
        self.write(move |tx, now| {
            let t = tenant_row(tx, &tenant)?;
            // Whether it may be reconciled now (not in trial) is the pack's.
            check(
                &engine,
                tx,
                now,
                &Actor::Account(t.account_id.clone()),
                "reconcile",
                Target::new("Tenant", &tenant),
                None,
            )?;
            reconcile::run(tx, &engine.pack(), &tenant, now)
        })
        .await
    }

    /// Reconciles every tenant one of whose subscriptions ended since the
    /// last sweep (capacity only drops when a term ends), where the pack lets
    /// it be reconciled (not in trial). Returns the plans carried out.
    pub async fn sweep(&self) -> Result<Vec<Plan>, LedgerError> {
        let engine = self.engine().clone();
        self.write(move |tx, now| {
            let since = tx.swept_until(now)?;
            let mut plans = Vec::new();
            if now > since {
                for tenant in tx.tenants_with_ends_between(since, now)? {
                    let plan = reconcile_if_allowed(&engine, tx, &tenant, now)?;
                    if !plan.is_empty() {
                        plans.push(plan);
                    }
                }
            }
            tx.set_swept_until(now)?;
            Ok(plans)
        })
        .await
    }
}
