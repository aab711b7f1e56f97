//! The ledger's subscriptions (R7): bought, changed, listed, paid (R8).

use super::*;

impl Ledger {
    /// R7: every purchase is a new subscription with a new number.
    pub async fn create_subscription(
        &self,
        tenant: String,
        input: NewSubscription,
    ) -> Result<SubscriptionView, LedgerError> {
        let kind = inputs::kind("kind", &input.kind)?;
        let quantity = inputs::positive("quantity", input.quantity)?;
        let starts_at = inputs::at("starts_at", &input.starts_at)?;
        let ends_at = inputs::at("ends_at", &input.ends_at)?;
        if ends_at <= starts_at {
            return Err(LedgerError::invalid(
                "ends_at",
                "`ends_at` must be after `starts_at`",
            ));
        }
        let payment_due_at = input
            .payment_due_at
            .as_deref()
            .map(|d| inputs::at("payment_due_at", d))
            .transpose()?;
        let engine = self.engine().clone();
        self.write(move |tx, now| {
            tenant_row(tx, &tenant)?;
            let mut row = SubscriptionRow {
                number: 0,
                tenant_id: tenant.clone(),
                kind,
                quantity,
                starts_at,
                ends_at,
                payment_due_at,
                paid_at: None,
                created_at: now,
            };
            row.number = tx.insert_subscription(&row)?;
            let f = facts(tx, &tenant, now)?;
            Ok(SubscriptionView::new(
                &row,
                status::subscription_state(&engine.pack(), &f, &row, now),
            ))
        })
        .await
    }

    /// Lowers a subscription (quantity down, or an earlier end) and reconciles.
    /// Whether the change may be made is the pack's (R7: never enlarged).
    pub(crate) async fn change_subscription(
        &self,
        tenant: String,
        number: i64,
        input: SubscriptionChange,
    ) -> Result<SubscriptionChanged, LedgerError> {
        if input.quantity.is_none() && input.ends_at.is_none() {
            return Err(LedgerError::invalid(
                "quantity",
                "give `quantity`, `ends_at` or both",
            ));
        }
        let quantity = input
            .quantity
            .map(|q| inputs::positive("quantity", q))
            .transpose()?;
        let ends_at = input
            .ends_at
            .as_deref()
            .map(|d| inputs::at("ends_at", d))
            .transpose()?;
        let engine = self.engine().clone();
        self.write(move |tx, now| {
            let s = tx
                .subscription(number)?
                .filter(|s| s.tenant_id == tenant)
                .ok_or_else(|| {
                    LedgerError::NotFound(format!("subscription {number} of tenant `{tenant}`"))
                })?;
            // Whether it may change is R7's, in the pack: asked with what is asked.
            let account = tx
                .tenant(&tenant)?
                .map(|t| t.account_id)
                .ok_or_else(|| LedgerError::NotFound(format!("tenant `{tenant}`")))?;
            let mut ctx = Map::new();
            if let Some(q) = quantity {
                ctx.insert("new_quantity".into(), Value::from(q));
            }
            if let Some(at) = ends_at {
                ctx.insert("new_ends_at".into(), Value::from(at));
            }
            check(
                &engine,
                tx,
                now,
                &Actor::Account(account),
                "change_subscription",
                Target::new("Subscription", number.to_string()),
                Some(ctx),
            )?;
            let quantity = quantity.unwrap_or(s.quantity);
            let ends_at = ends_at.unwrap_or(s.ends_at);
            if ends_at <= s.starts_at {
                return Err(LedgerError::invalid(
                    "ends_at",
                    "`ends_at` must be after the subscription's `starts_at`",
                ));
            }
            tx.set_subscription_term(number, ends_at, quantity)?;
            let plan = reconcile_if_allowed(&engine, tx, &tenant, now)?;
            let row = tx
                .subscription(number)?
                .ok_or_else(|| LedgerError::NotFound(format!("subscription {number}")))?;
            let f = facts(tx, &tenant, now)?;
            Ok(SubscriptionChanged {
                subscription: SubscriptionView::new(
                    &row,
                    status::subscription_state(&engine.pack(), &f, &row, now),
                ),
                reconciliation: plan,
            })
        })
        .await
    }

    pub(crate) async fn list_subscriptions(
        &self,
        tenant: String,
    ) -> Result<Vec<SubscriptionView>, LedgerError> {
        let engine = self.engine().clone();
        self.read(move |conn, now| {
            let f = facts(conn, &tenant, now)?;
            let pack = engine.pack();
            Ok(conn
                .subscriptions_of_tenant(&tenant)?
                .iter()
                .map(|s| SubscriptionView::new(s, status::subscription_state(&pack, &f, s, now)))
                .collect())
        })
        .await
    }

    /// R8: records the payment; a lock lifts at once.
    pub async fn pay(&self, tenant: String, number: i64) -> Result<SubscriptionView, LedgerError> {
        let engine = self.engine().clone();
        self.write(move |tx, now| {
            let s = tx
                .subscription(number)?
                .filter(|s| s.tenant_id == tenant)
                .ok_or_else(|| {
                    LedgerError::NotFound(format!("subscription {number} of tenant `{tenant}`"))
                })?;
            if s.paid_at.is_none() {
                tx.set_subscription_paid(number, now)?;
            }
            let row = tx
                .subscription(number)?
                .ok_or_else(|| LedgerError::NotFound(format!("subscription {number}")))?;
            let f = facts(tx, &tenant, now)?;
            Ok(SubscriptionView::new(
                &row,
                status::subscription_state(&engine.pack(), &f, &row, now),
            ))
        })
        .await
    }
}
