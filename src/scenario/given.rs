//! A scenario's given state, written into a fresh ledger in one transaction.

use super::*;

/// Writes the given state straight into the ledger tables.
pub(super) fn load_given(tx: &mut Tx<'_>, g: &Given, now: i64, pack: &PolicyPack) -> Result<(), GivenError> {
    let e = |what: &str, id: &str, err: StoreError| format!("{what} `{id}`: {err}");
    for a in &g.accounts {
        tx.insert_account(&AccountRow {
            id: a.id.clone(),
            name: a.name.clone().unwrap_or_else(|| a.id.clone()),
            created_at: now,
        })
        .map_err(|err| e("account", &a.id, err))?;
    }
    for t in &g.tenants {
        let created_at = t.created_at.unwrap_or(now);
        tx.insert_tenant(&TenantRow {
            id: t.id.clone(),
            account_id: t.account.clone(),
            name: t.name.clone().unwrap_or_else(|| t.id.clone()),
            created_at,
            trial_days: t.trial_days,
            hub: None,
        })
        .map_err(|err| e("tenant", &t.id, err))?;
        if let Some(at) = t.hub_at {
            tx.insert_hub(
                &t.id,
                &HubRow {
                    name: format!("{} hub", t.id),
                    created_at: at,
                },
            )
            .map_err(|err| e("hub of tenant", &t.id, err))?;
        }
    }
    for s in &g.subscriptions {
        tx.insert_subscription(&SubscriptionRow {
            number: 0,
            tenant_id: s.tenant.clone(),
            kind: s.kind,
            quantity: s.quantity,
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            payment_due_at: s.payment_due_at,
            paid_at: s.paid_at,
            created_at: s.starts_at.min(now),
        })
        .map_err(|err| e("subscription of tenant", &s.tenant, err))?;
    }
    for r in &g.roles {
        tx.insert_role(
            &r.tenant,
            &RoleRow {
                tenant_id: Some(r.tenant.clone()),
                name: r.name.clone(),
                levels: r.levels.clone(),
            },
        )
        .map_err(|err| e("role", &r.name, err))?;
    }
    for u in &g.users {
        tx.insert_user(&UserRow {
            id: u.id.clone(),
            tenant_id: u.tenant.clone(),
            name: u.name.clone().unwrap_or_else(|| u.id.clone()),
            email: u.email.clone().unwrap_or_else(|| format!("{}@example.com", u.id)),
            role: u.role.clone(),
            active: u.active,
            licensed_at: u.licensed_at,
            created_at: u.created_at.unwrap_or(now),
            own_operator: None,
        })
        .map_err(|err| e("user", &u.id, err))?;
    }
    for o in &g.operators {
        tx.insert_operator(&OperatorRow {
            id: o.id.clone(),
            tenant_id: o.tenant.clone(),
            number: o.number.clone(),
            name: o.name.clone().unwrap_or_else(|| o.id.clone()),
            owner_user_id: o.owner.clone(),
            active: o.active,
            created_at: o.created_at.unwrap_or(now),
            latest_production_at: None,
            deactivation: None,
        })
        .map_err(|err| e("operator", &o.id, err))?;
        for p in &o.production {
            let at = time::parse(p)?;
            tx.insert_production(&o.id, at)
                .map_err(|err| e("production of operator", &o.id, err))?;
        }
    }
    if !g.entities.is_empty() {
        let rows =
            crate::import::check(pack, &Value::Array(g.entities.clone())).map_err(|err| err.to_string())?;
        crate::import::store_rows(tx, &rows).map_err(|err| err.to_string())?;
    }
    Ok(())
}

/// Why the given state could not be written.
#[derive(Debug)]
pub(super) struct GivenError(pub(super) String);

impl From<StoreError> for GivenError {
    fn from(e: StoreError) -> Self {
        GivenError(e.to_string())
    }
}

impl From<String> for GivenError {
    fn from(e: String) -> Self {
        GivenError(e)
    }
}
