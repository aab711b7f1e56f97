//! The ledger's operations, one function each. Reads run on the read pool off
//! the async workers; changes run as one job of the writer: facts, policy check
//! and write in one transaction.

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
pub struct SubscriptionChanged {
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

    // ------------------------------------------------------------ accounts

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

    pub async fn get_account(&self, id: String) -> Result<AccountView, LedgerError> {
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

    pub async fn get_tenant(&self, id: String) -> Result<TenantView, LedgerError> {
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

    // ------------------------------------------------------------ subscriptions

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
    pub async fn change_subscription(
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

    pub async fn list_subscriptions(&self, tenant: String) -> Result<Vec<SubscriptionView>, LedgerError> {
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

    // ------------------------------------------------------------ roles

    pub async fn create_role(&self, tenant: String, input: NewRole) -> Result<RoleView, LedgerError> {
        let name = inputs::id("name", &input.name)?;
        let levels = inputs::levels(&input.levels)?;
        if BUILTIN_ROLES.contains(&name.as_str()) {
            return Err(LedgerError::conflict(
                "builtin_role",
                Some("name"),
                format!("`{name}` is a built-in role and cannot be redefined"),
            ));
        }
        self.write(move |tx, _| {
            tenant_row(tx, &tenant)?;
            let role = RoleRow {
                tenant_id: Some(tenant.clone()),
                name: name.clone(),
                levels,
            };
            tx.insert_role(&tenant, &role)
                .map_err(|e| conflict_or(e, "name", format!("role `{name}` already exists")))?;
            Ok(RoleView::from(&role))
        })
        .await
    }

    pub async fn list_roles(&self, tenant: String) -> Result<Vec<RoleView>, LedgerError> {
        self.read(move |conn, _| {
            tenant_row(conn, &tenant)?;
            Ok(conn
                .roles_of_tenant(&tenant)?
                .iter()
                .map(RoleView::from)
                .collect())
        })
        .await
    }

    // ------------------------------------------------------------ users

    /// Adds a user; the answer reports the user seats, free ones included (R3).
    pub async fn create_user(
        &self,
        tenant: String,
        input: NewUser,
    ) -> Result<WithSeats<UserView>, LedgerError> {
        let id = inputs::id("id", &input.id)?;
        let name = inputs::name("name", &input.name)?;
        let email = inputs::email("email", &input.email)?;
        let role = inputs::id("role", &input.role)?;
        self.write(move |tx, now| {
            tenant_row(tx, &tenant)?;
            if tx.role(&tenant, &role)?.is_none() {
                return Err(LedgerError::invalid(
                    "role",
                    format!("role `{role}` does not exist in tenant `{tenant}`"),
                ));
            }
            let row = UserRow {
                id: id.clone(),
                tenant_id: tenant.clone(),
                name,
                email,
                role,
                active: true,
                licensed_at: None,
                created_at: now,
                own_operator: None,
            };
            tx.insert_user(&row)
                .map_err(|e| conflict_or(e, "id", format!("user `{id}` already exists")))?;
            let f = facts(tx, &tenant, now)?;
            Ok(WithSeats {
                item: UserView::from(&row),
                seats: SeatsView::from(&f),
            })
        })
        .await
    }

    pub async fn get_user(&self, id: String) -> Result<UserView, LedgerError> {
        self.read(move |conn, _| Ok(UserView::from(&user_row(conn, &id)?)))
            .await
    }

    pub async fn list_users(&self, tenant: String) -> Result<Vec<UserView>, LedgerError> {
        self.read(move |conn, _| {
            tenant_row(conn, &tenant)?;
            Ok(conn
                .users_of_tenant(&tenant)?
                .iter()
                .map(UserView::from)
                .collect())
        })
        .await
    }

    /// Activates, deactivates or changes the role of a user; each change is
    /// decided by the policies (R10: the last active admin stays). A user
    /// operator follows its user (R6): it cannot work while its user is inactive.
    pub async fn update_user(&self, id: String, input: UserChange) -> Result<UserView, LedgerError> {
        if input.active.is_none() && input.role.is_none() {
            return Err(LedgerError::invalid("active", "give `active`, `role` or both"));
        }
        let engine = self.engine().clone();
        self.write(move |tx, now| {
            let user = user_row(tx, &id)?;
            let tenant = tenant_row(tx, &user.tenant_id)?;
            let actor = actor(tx, input.by.as_deref(), &tenant)?;
            let target = || Target::new("User", &id);
            if let Some(role) = &input.role {
                let role = inputs::id("role", role)?;
                if role != user.role {
                    if tx.role(&tenant.id, &role)?.is_none() {
                        return Err(LedgerError::invalid(
                            "role",
                            format!("role `{role}` does not exist in tenant `{}`", tenant.id),
                        ));
                    }
                    let mut ctx = Map::new();
                    ctx.insert("new_role".into(), Value::String(role.clone()));
                    check(&engine, tx, now, &actor, "change_role", target(), Some(ctx))?;
                    tx.set_user_role(&id, &role)?;
                }
            }
            if let Some(active) = input.active
                && active != user.active
            {
                let action = if active {
                    "activate_user"
                } else {
                    "deactivate_user"
                };
                check(&engine, tx, now, &actor, action, target(), None)?;
                tx.set_user_active(&id, active)?;
            }
            Ok(UserView::from(&user_row(tx, &id)?))
        })
        .await
    }

    /// R3: assigns the user a named licence, taking a free user seat.
    pub async fn assign_license(
        &self,
        user: String,
        input: ByOnly,
    ) -> Result<WithSeats<UserView>, LedgerError> {
        self.change_license(user, input, true).await
    }

    /// R3: revokes the user's named licence.
    pub async fn revoke_license(
        &self,
        user: String,
        input: ByOnly,
    ) -> Result<WithSeats<UserView>, LedgerError> {
        self.change_license(user, input, false).await
    }

    async fn change_license(
        &self,
        user: String,
        input: ByOnly,
        assign: bool,
    ) -> Result<WithSeats<UserView>, LedgerError> {
        let engine = self.engine().clone();
        self.write(move |tx, now| {
            let u = user_row(tx, &user)?;
            let tenant = tenant_row(tx, &u.tenant_id)?;
            let actor = actor(tx, input.by.as_deref(), &tenant)?;
            if u.licensed_at.is_some() != assign {
                let action = if assign {
                    "assign_license"
                } else {
                    "revoke_license"
                };
                check(&engine, tx, now, &actor, action, Target::new("User", &user), None)?;
                tx.set_license(&user, assign.then_some(now))?;
            }
            let f = facts(tx, &tenant.id, now)?;
            Ok(WithSeats {
                item: UserView::from(&user_row(tx, &user)?),
                seats: SeatsView::from(&f),
            })
        })
        .await
    }

    // ------------------------------------------------------------ operators

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
    pub async fn update_operator(
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

    pub async fn list_operators(&self, tenant: String) -> Result<Vec<OperatorView>, LedgerError> {
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
