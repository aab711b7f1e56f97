//! The ledger's operators (R5, R6) and their production records.

use super::*;

impl Ledger {
    /// R5: adds a seat operator; refused when every shop-floor seat is taken.
    pub async fn add_operator(
        &self,
        tenant: String,
        input: NewOperator,
    ) -> Result<WithSeats<OperatorView>, LedgerError> {
        let id = inputs::id("id", &input.id)?;
        let number = input.number.normalized()?;
        let name = inputs::name("name", &input.name)?;
        let engine = self.engine().clone();
        self.write(move |tx, now| {
            let t = tenant_row(tx, &tenant)?;
            let actor = actor(tx, input.by.as_deref(), &t)?;
            new_operator_free(tx, &tenant, &id, &number)?;
            check(
                &engine,
                tx,
                now,
                &actor,
                "add_operator",
                Target::new("Tenant", &tenant),
                None,
            )?;
            let row = OperatorRow {
                id: id.clone(),
                tenant_id: tenant.clone(),
                number,
                name,
                owner_user_id: None,
                active: true,
                created_at: now,
                latest_production_at: None,
                deactivation: None,
            };
            tx.insert_operator(&row)?;
            let f = facts(tx, &tenant, now)?;
            Ok(WithSeats {
                item: OperatorView::new(&row, true),
                seats: SeatsView::from(&f),
            })
        })
        .await
    }

    /// Activates (taking a seat, R5) or deactivates an operator.
    pub(crate) async fn update_operator(
        &self,
        id: String,
        input: OperatorChange,
    ) -> Result<OperatorView, LedgerError> {
        let engine = self.engine().clone();
        self.write(move |tx, now| {
            let o = operator_row(tx, &id)?;
            let t = tenant_row(tx, &o.tenant_id)?;
            let actor = actor(tx, input.by.as_deref(), &t)?;
            if o.active != input.active {
                let action = if input.active {
                    "activate_operator"
                } else {
                    "deactivate_operator"
                };
                check(
                    &engine,
                    tx,
                    now,
                    &actor,
                    action,
                    Target::new("Operator", &id),
                    None,
                )?;
                tx.set_operator_active(&id, input.active)?;
                if !input.active {
                    let who = match &actor {
                        Actor::User(u) => format!("deactivated by user `{u}`"),
                        Actor::Account(a) => format!("deactivated by account `{a}`"),
                        Actor::Operator(o) => format!("deactivated by operator `{o}`"),
                    };
                    tx.insert_deactivation(&t.id, "operator", &id, &who, now)?;
                }
            }
            operator_view(tx, &operator_row(tx, &id)?)
        })
        .await
    }

    /// R6: a user creates their own operator, named after them; it takes no seat.
    pub async fn create_own_operator(
        &self,
        user: String,
        input: NewOwnOperator,
    ) -> Result<OperatorView, LedgerError> {
        let id = inputs::id("id", &input.id)?;
        let number = input.number.normalized()?;
        let engine = self.engine().clone();
        self.write(move |tx, now| {
            let u = user_row(tx, &user)?;
            new_operator_free(tx, &u.tenant_id, &id, &number)?;
            check(
                &engine,
                tx,
                now,
                &Actor::User(user.clone()),
                "create_own_operator",
                Target::new("Tenant", &u.tenant_id),
                None,
            )?;
            let row = OperatorRow {
                id: id.clone(),
                tenant_id: u.tenant_id.clone(),
                number,
                name: u.name.clone(),
                owner_user_id: Some(user.clone()),
                active: true,
                created_at: now,
                latest_production_at: None,
                deactivation: None,
            };
            tx.insert_operator(&row)?;
            Ok(OperatorView::new(&row, u.active))
        })
        .await
    }

    /// R6: a user links an existing seat operator to themselves, for good: it is
    /// renamed after them and frees its seat.
    pub async fn link_operator(
        &self,
        user: String,
        input: LinkOperator,
    ) -> Result<OperatorView, LedgerError> {
        let op = inputs::id("operator", &input.operator)?;
        let engine = self.engine().clone();
        self.write(move |tx, now| {
            let u = user_row(tx, &user)?;
            let o = operator_row(tx, &op)?;
            if o.owner_user_id.as_deref() == Some(user.as_str()) {
                return operator_view(tx, &o);
            }
            check(
                &engine,
                tx,
                now,
                &Actor::User(user.clone()),
                "link_operator",
                Target::new("Operator", &op),
                None,
            )?;
            tx.link_operator(&op, &user, &u.name)?;
            operator_view(tx, &operator_row(tx, &op)?)
        })
        .await
    }

    /// Records production by an operator, if the policies let it work.
    pub async fn record_production(
        &self,
        operator: String,
        input: NewProduction,
    ) -> Result<ProductionRecorded, LedgerError> {
        let at = input.at.as_deref().map(|a| inputs::at("at", a)).transpose()?;
        let engine = self.engine().clone();
        self.write(move |tx, now| {
            let o = operator_row(tx, &operator)?;
            let at = at.unwrap_or(now);
            // How far ahead of the clock a record may be is the pack's.
            let mut ctx = Map::new();
            ctx.insert("produced_at".into(), Value::from(at));
            check(
                &engine,
                tx,
                now,
                &Actor::Operator(operator.clone()),
                "record_production",
                Target::new("Tenant", &o.tenant_id),
                Some(ctx),
            )?;
            tx.insert_production(&operator, at)?;
            Ok(ProductionRecorded {
                operator,
                at: crate::time::format(at),
            })
        })
        .await
    }

    pub(crate) async fn list_operators(&self, tenant: String) -> Result<Vec<OperatorView>, LedgerError> {
        self.read(move |conn, _| {
            tenant_row(conn, &tenant)?;
            let users: std::collections::HashMap<String, bool> = conn
                .users_of_tenant(&tenant)?
                .into_iter()
                .map(|u| (u.id, u.active))
                .collect();
            Ok(conn
                .operators_of_tenant(&tenant)?
                .iter()
                .map(|o| {
                    let owner_active = o
                        .owner_user_id
                        .as_ref()
                        .is_none_or(|u| users.get(u).copied().unwrap_or(true));
                    OperatorView::new(o, owner_active)
                })
                .collect())
        })
        .await
    }
}
