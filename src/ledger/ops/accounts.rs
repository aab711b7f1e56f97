//! The ledger's accounts, tenants and hubs (R1: a hub ends the trial).

use super::*;

impl Ledger {
    pub async fn create_account(&self, input: NewAccount) -> Result<AccountView, LedgerError> {
        let row = AccountRow {
            id: inputs::id("id", &input.id)?,
            name: inputs::name("name", &input.name)?,
            created_at: self.clock().now(),
        };
        self.write(move |tx, _| {
            tx.insert_account(&row)
                .map_err(|e| conflict_or(e, "id", format!("account `{}` already exists", row.id)))?;
            Ok(AccountView::new(&row, Vec::new()))
        })
        .await
    }

    pub(crate) async fn get_account(&self, id: String) -> Result<AccountView, LedgerError> {
        self.read(move |conn, _| {
            let a = conn
                .account(&id)?
                .ok_or_else(|| LedgerError::NotFound(format!("account `{id}`")))?;
            let tenants = conn.tenants_of_account(&id)?.into_iter().map(|t| t.id).collect();
            Ok(AccountView::new(&a, tenants))
        })
        .await
    }

    // ------------------------------------------------------------ tenants

    pub async fn create_tenant(&self, account: String, input: NewTenant) -> Result<TenantView, LedgerError> {
        let id = inputs::id("id", &input.id)?;
        let name = inputs::name("name", &input.name)?;
        let trial_days = inputs::trial_days(input.trial_days)?;
        let engine = self.engine().clone();
        self.write(move |tx, now| {
            if tx.account(&account)?.is_none() {
                return Err(LedgerError::NotFound(format!("account `{account}`")));
            }
            let row = TenantRow {
                id: id.clone(),
                account_id: account.clone(),
                name,
                created_at: now,
                trial_days,
                hub: None,
            };
            tx.insert_tenant(&row)
                .map_err(|e| conflict_or(e, "id", format!("tenant `{id}` already exists")))?;
            let f = facts(tx, &id, now)?;
            let pack = engine.pack();
            Ok(TenantView::new(&f, status::trial_ends_at(&pack, &f)))
        })
        .await
    }

    pub(crate) async fn get_tenant(&self, id: String) -> Result<TenantView, LedgerError> {
        let engine = self.engine().clone();
        self.read(move |conn, now| {
            let f = facts(conn, &id, now)?;
            Ok(TenantView::new(&f, status::trial_ends_at(&engine.pack(), &f)))
        })
        .await
    }

    /// R1: creates the hub of one of the account's tenants, ending its trial,
    /// and reconciles its seats (R9) in the same transaction.
    pub async fn create_hub(&self, account: String, input: NewHub) -> Result<HubCreated, LedgerError> {
        let name = inputs::name("name", &input.name)?;
        let engine = self.engine().clone();
        self.write(move |tx, now| {
            if tx.account(&account)?.is_none() {
                return Err(LedgerError::NotFound(format!("account `{account}`")));
            }
            let tenants = tx.tenants_of_account(&account)?;
            let tenant = match (&input.tenant, tenants.len()) {
                (Some(t), _) => tenants
                    .iter()
                    .find(|x| &x.id == t)
                    .ok_or_else(|| LedgerError::NotFound(format!("tenant `{t}` of account `{account}`")))?,
                (None, 0) => {
                    return Err(LedgerError::conflict(
                        "no_tenant",
                        None,
                        format!("account `{account}` has no tenant to create a hub for"),
                    ));
                }
                (None, 1) => &tenants[0],
                (None, _) => {
                    return Err(LedgerError::TenantRequired {
                        candidates: tenants.iter().map(|t| t.id.clone()).collect(),
                    });
                }
            };
            let tenant_id = tenant.id.clone();
            check(
                &engine,
                tx,
                now,
                &Actor::Account(account.clone()),
                "create_hub",
                Target::new("Tenant", &tenant_id),
                None,
            )?;
            tx.insert_hub(
                &tenant_id,
                &HubRow {
                    name,
                    created_at: now,
                },
            )?;
            let plan = reconcile_if_allowed(&engine, tx, &tenant_id, now)?;
            let f = facts(tx, &tenant_id, now)?;
            Ok(HubCreated {
                tenant: TenantView::new(&f, None),
                reconciliation: plan,
            })
        })
        .await
    }
}
