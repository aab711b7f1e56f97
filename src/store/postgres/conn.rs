//! One PostgreSQL connection as the store's [`Conn`]: every query the crate
//! asks, and the rows they give.

use super::*;

/// A connection that refuses everything: what a job sees when it cannot run.
pub(super) struct Broken(pub(super) String);

/// A connection the pool lent: a read connection, or the writer's during a
/// transaction.
pub struct PgConn<C> {
    pub(super) c: RefCell<C>,
}

/// A pooled read connection; goes back to the pool when dropped.
pub struct Reader {
    pub(super) conn: PgConn<Pooled>,
}

impl std::ops::Deref for Reader {
    type Target = PgConn<Pooled>;
    fn deref(&self) -> &Self::Target {
        &self.conn
    }
}

impl<C: std::ops::DerefMut<Target = PgClient>> PgConn<C> {
    fn statement(&self, sql: &'static str) -> Result<Statement, StoreError> {
        let mut c = self.c.borrow_mut();
        let pg: &mut PgClient = &mut c;
        if let Some(st) = pg.statements.get(sql) {
            return Ok(st.clone());
        }
        let st = pg.client.prepare(sql).map_err(pg_err)?;
        pg.statements.insert(sql, st.clone());
        Ok(st)
    }

    fn query(&self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, StoreError> {
        let st = self.statement(sql)?;
        match self.c.borrow_mut().client.query(&st, params).map_err(pg_err) {
            // An id no row can hold matches no row.
            Err(StoreError::Unrepresentable) => Ok(Vec::new()),
            other => other,
        }
    }

    fn query_opt(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, StoreError> {
        let st = self.statement(sql)?;
        match self.c.borrow_mut().client.query_opt(&st, params).map_err(pg_err) {
            Err(StoreError::Unrepresentable) => Ok(None),
            other => other,
        }
    }

    fn query_one(&self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<Row, StoreError> {
        let st = self.statement(sql)?;
        self.c.borrow_mut().client.query_one(&st, params).map_err(pg_err)
    }

    fn execute(&self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, StoreError> {
        let st = self.statement(sql)?;
        self.c.borrow_mut().client.execute(&st, params).map_err(pg_err)
    }
}

pub(super) fn get<'a, T: postgres::types::FromSql<'a>>(row: &'a Row, i: usize) -> Result<T, StoreError> {
    row.try_get(i).map_err(|e| StoreError::Corrupt(e.to_string()))
}

const TENANT_SQL: &str = "SELECT t.id, t.account_id, t.name, t.created_at, t.trial_days, h.name, h.created_at
     FROM tenants t LEFT JOIN hubs h ON h.tenant_id = t.id WHERE t.id = $1";
const TENANTS_OF_ACCOUNT_SQL: &str =
    "SELECT t.id, t.account_id, t.name, t.created_at, t.trial_days, h.name, h.created_at
     FROM tenants t LEFT JOIN hubs h ON h.tenant_id = t.id WHERE t.account_id = $1 ORDER BY t.id";

pub(super) fn tenant_row(r: &Row) -> Result<TenantRow, StoreError> {
    let hub_name: Option<String> = get(r, 5)?;
    let hub_at: Option<i64> = get(r, 6)?;
    Ok(TenantRow {
        id: get(r, 0)?,
        account_id: get(r, 1)?,
        name: get(r, 2)?,
        created_at: get(r, 3)?,
        trial_days: get(r, 4)?,
        hub: match (hub_name, hub_at) {
            (Some(name), Some(created_at)) => Some(HubRow { name, created_at }),
            _ => None,
        },
    })
}

const USER_SQL: &str =
    "SELECT u.id, u.tenant_id, u.name, u.email, u.role, u.active, u.licensed_at, u.created_at,
     (SELECT o.id FROM operators o WHERE o.owner_user_id = u.id) FROM users u WHERE u.id = $1";
const USERS_OF_TENANT_SQL: &str =
    "SELECT u.id, u.tenant_id, u.name, u.email, u.role, u.active, u.licensed_at, u.created_at,
     (SELECT o.id FROM operators o WHERE o.owner_user_id = u.id) FROM users u WHERE u.tenant_id = $1
     ORDER BY u.created_at, u.id";

pub(super) fn user_row(r: &Row) -> Result<UserRow, StoreError> {
    Ok(UserRow {
        id: get(r, 0)?,
        tenant_id: get(r, 1)?,
        name: get(r, 2)?,
        email: get(r, 3)?,
        role: get(r, 4)?,
        active: get(r, 5)?,
        licensed_at: get(r, 6)?,
        created_at: get(r, 7)?,
        own_operator: get(r, 8)?,
    })
}

const OPERATOR_SQL: &str = "SELECT o.id, o.tenant_id, o.number, o.name, o.owner_user_id, o.active, o.created_at,
     (SELECT MAX(p.at) FROM production_records p WHERE p.operator_id = o.id),
     (SELECT d.reason FROM deactivations d WHERE d.subject_kind = 'operator' AND d.subject_id = o.id ORDER BY d.id DESC LIMIT 1),
     (SELECT d.at FROM deactivations d WHERE d.subject_kind = 'operator' AND d.subject_id = o.id ORDER BY d.id DESC LIMIT 1)
     FROM operators o WHERE o.id = $1";
const OPERATORS_OF_TENANT_SQL: &str = "SELECT o.id, o.tenant_id, o.number, o.name, o.owner_user_id, o.active, o.created_at,
     (SELECT MAX(p.at) FROM production_records p WHERE p.operator_id = o.id),
     (SELECT d.reason FROM deactivations d WHERE d.subject_kind = 'operator' AND d.subject_id = o.id ORDER BY d.id DESC LIMIT 1),
     (SELECT d.at FROM deactivations d WHERE d.subject_kind = 'operator' AND d.subject_id = o.id ORDER BY d.id DESC LIMIT 1)
     FROM operators o WHERE o.tenant_id = $1 ORDER BY o.created_at, o.id";

pub(super) fn operator_row(r: &Row) -> Result<OperatorRow, StoreError> {
    let active: bool = get(r, 5)?;
    let reason: Option<String> = get(r, 8)?;
    let at: Option<i64> = get(r, 9)?;
    Ok(OperatorRow {
        id: get(r, 0)?,
        tenant_id: get(r, 1)?,
        number: get(r, 2)?,
        name: get(r, 3)?,
        owner_user_id: get(r, 4)?,
        active,
        created_at: get(r, 6)?,
        latest_production_at: get(r, 7)?,
        deactivation: match (active, reason, at) {
            (false, Some(reason), Some(at)) => Some(Deactivation { reason, at }),
            _ => None,
        },
    })
}

const SUBSCRIPTION_SQL: &str =
    "SELECT number, tenant_id, kind, quantity, starts_at, ends_at, payment_due_at, paid_at, created_at
     FROM subscriptions WHERE number = $1";
const SUBSCRIPTIONS_OF_TENANT_SQL: &str =
    "SELECT number, tenant_id, kind, quantity, starts_at, ends_at, payment_due_at, paid_at, created_at
     FROM subscriptions WHERE tenant_id = $1 ORDER BY number";

pub(super) fn subscription_row(r: &Row) -> Result<SubscriptionRow, StoreError> {
    let kind: String = get(r, 2)?;
    Ok(SubscriptionRow {
        number: get(r, 0)?,
        tenant_id: get(r, 1)?,
        kind: SeatKind::parse(&kind).unwrap_or(SeatKind::User),
        quantity: get(r, 3)?,
        starts_at: get(r, 4)?,
        ends_at: get(r, 5)?,
        payment_due_at: get(r, 6)?,
        paid_at: get(r, 7)?,
        created_at: get(r, 8)?,
    })
}

pub(super) fn strings(rows: Vec<Row>) -> Result<Vec<String>, StoreError> {
    rows.iter().map(|r| get(r, 0)).collect()
}

impl<C: std::ops::DerefMut<Target = PgClient>> Conn for PgConn<C> {
    fn account(&self, id: &str) -> Result<Option<AccountRow>, StoreError> {
        self.query_opt("SELECT id, name, created_at FROM accounts WHERE id = $1", &[&id])?
            .map(|r| {
                Ok(AccountRow {
                    id: get(&r, 0)?,
                    name: get(&r, 1)?,
                    created_at: get(&r, 2)?,
                })
            })
            .transpose()
    }

    fn tenant(&self, id: &str) -> Result<Option<TenantRow>, StoreError> {
        self.query_opt(TENANT_SQL, &[&id])?
            .map(|r| tenant_row(&r))
            .transpose()
    }

    fn account_of_tenant(&self, tenant: &str) -> Result<Option<String>, StoreError> {
        self.query_opt("SELECT account_id FROM tenants WHERE id = $1", &[&tenant])?
            .map(|r| get(&r, 0))
            .transpose()
    }

    fn tenants_of_account(&self, account: &str) -> Result<Vec<TenantRow>, StoreError> {
        self.query(TENANTS_OF_ACCOUNT_SQL, &[&account])?
            .iter()
            .map(tenant_row)
            .collect()
    }

    fn find_tenants(&self, text: &str, after: &str, limit: usize) -> Result<Vec<TenantRow>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.query(
            "SELECT t.id, t.account_id, t.name, t.created_at, t.trial_days, h.name, h.created_at
             FROM tenants t LEFT JOIN hubs h ON h.tenant_id = t.id
             WHERE t.id > $2 AND ($1 = '' OR strpos(lower(t.id), lower($1)) > 0 OR strpos(lower(t.name), lower($1)) > 0)
             ORDER BY t.id LIMIT $3",
            &[&text, &after, &limit],
        )?
        .iter()
        .map(tenant_row)
        .collect()
    }

    fn tenant_facts(&self, id: &str, now: i64) -> Result<Option<TenantFacts>, StoreError> {
        let Some(tenant) = self.tenant(id)? else {
            return Ok(None);
        };
        let r = self.query_one(
            "SELECT
               (SELECT COALESCE(SUM(quantity), 0)::BIGINT FROM subscriptions
                  WHERE tenant_id = $1 AND kind = 'user' AND starts_at <= $2 AND $2 < ends_at),
               (SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND licensed_at IS NOT NULL),
               (SELECT COALESCE(SUM(quantity), 0)::BIGINT FROM subscriptions
                  WHERE tenant_id = $1 AND kind = 'shop_floor' AND starts_at <= $2 AND $2 < ends_at),
               (SELECT COUNT(*) FROM operators WHERE tenant_id = $1 AND active AND owner_user_id IS NULL),
               EXISTS (SELECT 1 FROM subscriptions WHERE tenant_id = $1 AND kind = 'shop_floor'),
               (SELECT MIN(payment_due_at) FROM subscriptions
                  WHERE tenant_id = $1 AND paid_at IS NULL AND payment_due_at IS NOT NULL),
               (SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND role = 'admin' AND active),
               (SELECT MIN(t) FROM (
                  SELECT starts_at AS t FROM subscriptions WHERE tenant_id = $1 AND starts_at > $2
                  UNION ALL
                  SELECT ends_at FROM subscriptions WHERE tenant_id = $1 AND ends_at > $2) AS x)",
            &[&id, &now],
        )?;
        Ok(Some(TenantFacts {
            tenant,
            user: Seats {
                total: get(&r, 0)?,
                used: get(&r, 1)?,
            },
            shop_floor: Seats {
                total: get(&r, 2)?,
                used: get(&r, 3)?,
            },
            has_shop_floor: get(&r, 4)?,
            earliest_unpaid_due_at: get(&r, 5)?,
            active_admins: get(&r, 6)?,
            next_change_at: get(&r, 7)?,
        }))
    }

    fn user(&self, id: &str) -> Result<Option<UserRow>, StoreError> {
        self.query_opt(USER_SQL, &[&id])?
            .map(|r| user_row(&r))
            .transpose()
    }

    fn users_of_tenant(&self, tenant: &str) -> Result<Vec<UserRow>, StoreError> {
        self.query(USERS_OF_TENANT_SQL, &[&tenant])?
            .iter()
            .map(user_row)
            .collect()
    }

    fn role(&self, tenant: &str, name: &str) -> Result<Option<RoleRow>, StoreError> {
        let row = self.query_opt(
            "SELECT tenant_id, name, levels FROM roles WHERE tenant_id IN ($1, '') AND name = $2
             ORDER BY tenant_id DESC LIMIT 1",
            &[&tenant, &name],
        )?;
        row.map(|r| rows::parse_role(get(&r, 0)?, get(&r, 1)?, &get::<String>(&r, 2)?))
            .transpose()
    }

    fn roles_of_tenant(&self, tenant: &str) -> Result<Vec<RoleRow>, StoreError> {
        self.query(
            "SELECT tenant_id, name, levels FROM roles WHERE tenant_id IN ($1, '') ORDER BY tenant_id, name",
            &[&tenant],
        )?
        .iter()
        .map(|r| rows::parse_role(get(r, 0)?, get(r, 1)?, &get::<String>(r, 2)?))
        .collect()
    }

    fn operator(&self, id: &str) -> Result<Option<OperatorRow>, StoreError> {
        self.query_opt(OPERATOR_SQL, &[&id])?
            .map(|r| operator_row(&r))
            .transpose()
    }

    fn operators_of_tenant(&self, tenant: &str) -> Result<Vec<OperatorRow>, StoreError> {
        self.query(OPERATORS_OF_TENANT_SQL, &[&tenant])?
            .iter()
            .map(operator_row)
            .collect()
    }

    fn operator_exists(&self, id: &str) -> Result<bool, StoreError> {
        get(
            &self.query_one("SELECT EXISTS (SELECT 1 FROM operators WHERE id = $1)", &[&id])?,
            0,
        )
    }

    fn operator_number_taken(&self, tenant: &str, number: &str) -> Result<bool, StoreError> {
        get(
            &self.query_one(
                "SELECT EXISTS (SELECT 1 FROM operators WHERE tenant_id = $1 AND number = $2)",
                &[&tenant, &number],
            )?,
            0,
        )
    }

    fn subscription(&self, number: i64) -> Result<Option<SubscriptionRow>, StoreError> {
        self.query_opt(SUBSCRIPTION_SQL, &[&number])?
            .map(|r| subscription_row(&r))
            .transpose()
    }

    fn subscriptions_of_tenant(&self, tenant: &str) -> Result<Vec<SubscriptionRow>, StoreError> {
        self.query(SUBSCRIPTIONS_OF_TENANT_SQL, &[&tenant])?
            .iter()
            .map(subscription_row)
            .collect()
    }

    fn tenants_with_ends_between(&self, after: i64, until: i64) -> Result<Vec<String>, StoreError> {
        strings(self.query(
            "SELECT DISTINCT tenant_id FROM subscriptions WHERE ends_at > $1 AND ends_at <= $2 ORDER BY tenant_id",
            &[&after, &until],
        )?)
    }

    fn user_with_role(&self, id: &str) -> Result<Option<UserWithRole>, StoreError> {
        let row = self.query_opt(
            "SELECT u.id, u.tenant_id, u.name, u.email, u.role, u.active, u.licensed_at, u.created_at,
                    (SELECT o.id FROM operators o WHERE o.owner_user_id = u.id),
                    t.account_id,
                    COALESCE((SELECT r.levels FROM roles r WHERE r.tenant_id = u.tenant_id AND r.name = u.role),
                             (SELECT r.levels FROM roles r WHERE r.tenant_id = '' AND r.name = u.role))
             FROM users u LEFT JOIN tenants t ON t.id = u.tenant_id WHERE u.id = $1",
            &[&id],
        )?;
        row.map(|r| Ok((user_row(&r)?, get(&r, 9)?, get(&r, 10)?)))
            .transpose()
    }

    fn operator_with_account(&self, id: &str) -> Result<Option<(OperatorRow, Option<String>)>, StoreError> {
        let row = self.query_opt(
            "SELECT o.id, o.tenant_id, o.number, o.name, o.owner_user_id, o.active, o.created_at, t.account_id
             FROM operators o LEFT JOIN tenants t ON t.id = o.tenant_id WHERE o.id = $1",
            &[&id],
        )?;
        row.map(|r| {
            Ok((
                OperatorRow {
                    id: get(&r, 0)?,
                    tenant_id: get(&r, 1)?,
                    number: get(&r, 2)?,
                    name: get(&r, 3)?,
                    owner_user_id: get(&r, 4)?,
                    active: get(&r, 5)?,
                    created_at: get(&r, 6)?,
                    latest_production_at: None,
                    deactivation: None,
                },
                get(&r, 7)?,
            ))
        })
        .transpose()
    }

    fn insert_account(&self, a: &AccountRow) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3)",
            &[&a.id, &a.name, &a.created_at],
        )?;
        Ok(())
    }

    fn insert_tenant(&self, t: &TenantRow) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO tenants (id, account_id, name, created_at, trial_days) VALUES ($1, $2, $3, $4, $5)",
            &[&t.id, &t.account_id, &t.name, &t.created_at, &t.trial_days],
        )?;
        Ok(())
    }

    fn insert_hub(&self, tenant: &str, hub: &HubRow) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO hubs (tenant_id, name, created_at) VALUES ($1, $2, $3)",
            &[&tenant, &hub.name, &hub.created_at],
        )?;
        Ok(())
    }

    fn insert_subscription(&self, s: &SubscriptionRow) -> Result<i64, StoreError> {
        get(
            &self.query_one(
                "INSERT INTO subscriptions (tenant_id, kind, quantity, starts_at, ends_at, payment_due_at, paid_at, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING number",
                &[
                    &s.tenant_id,
                    &s.kind.as_str(),
                    &s.quantity,
                    &s.starts_at,
                    &s.ends_at,
                    &s.payment_due_at,
                    &s.paid_at,
                    &s.created_at,
                ],
            )?,
            0,
        )
    }

    fn set_subscription_paid(&self, number: i64, at: i64) -> Result<(), StoreError> {
        self.execute(
            "UPDATE subscriptions SET paid_at = $2 WHERE number = $1 AND paid_at IS NULL",
            &[&number, &at],
        )?;
        Ok(())
    }

    fn set_subscription_term(&self, number: i64, ends_at: i64, quantity: i64) -> Result<(), StoreError> {
        self.execute(
            "UPDATE subscriptions SET ends_at = $2, quantity = $3 WHERE number = $1",
            &[&number, &ends_at, &quantity],
        )?;
        Ok(())
    }

    fn insert_role(&self, tenant: &str, role: &RoleRow) -> Result<(), StoreError> {
        let levels = serde_json::to_string(&role.levels).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.execute(
            "INSERT INTO roles (tenant_id, name, levels) VALUES ($1, $2, $3)",
            &[&tenant, &role.name, &levels],
        )?;
        Ok(())
    }

    fn insert_user(&self, u: &UserRow) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO users (id, tenant_id, name, email, role, active, licensed_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &u.id,
                &u.tenant_id,
                &u.name,
                &u.email,
                &u.role,
                &u.active,
                &u.licensed_at,
                &u.created_at,
            ],
        )?;
        Ok(())
    }

    fn set_user_active(&self, id: &str, active: bool) -> Result<(), StoreError> {
        self.execute("UPDATE users SET active = $2 WHERE id = $1", &[&id, &active])?;
        Ok(())
    }

    fn set_user_role(&self, id: &str, role: &str) -> Result<(), StoreError> {
        self.execute("UPDATE users SET role = $2 WHERE id = $1", &[&id, &role])?;
        Ok(())
    }

    fn set_license(&self, id: &str, at: Option<i64>) -> Result<(), StoreError> {
        self.execute("UPDATE users SET licensed_at = $2 WHERE id = $1", &[&id, &at])?;
        Ok(())
    }

    fn insert_operator(&self, o: &OperatorRow) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO operators (id, tenant_id, number, name, owner_user_id, active, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &o.id,
                &o.tenant_id,
                &o.number,
                &o.name,
                &o.owner_user_id,
                &o.active,
                &o.created_at,
            ],
        )?;
        Ok(())
    }

    fn set_operator_active(&self, id: &str, active: bool) -> Result<(), StoreError> {
        self.execute("UPDATE operators SET active = $2 WHERE id = $1", &[&id, &active])?;
        Ok(())
    }

    fn link_operator(&self, id: &str, user: &str, name: &str) -> Result<(), StoreError> {
        self.execute(
            "UPDATE operators SET owner_user_id = $2, name = $3 WHERE id = $1",
            &[&id, &user, &name],
        )?;
        Ok(())
    }

    fn insert_production(&self, operator: &str, at: i64) -> Result<i64, StoreError> {
        get(
            &self.query_one(
                "INSERT INTO production_records (operator_id, at) VALUES ($1, $2) RETURNING id",
                &[&operator, &at],
            )?,
            0,
        )
    }

    fn insert_deactivation(
        &self,
        tenant: &str,
        subject_kind: &str,
        subject_id: &str,
        reason: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO deactivations (tenant_id, subject_kind, subject_id, reason, at) VALUES ($1, $2, $3, $4, $5)",
            &[&tenant, &subject_kind, &subject_id, &reason, &at],
        )?;
        Ok(())
    }

    fn entity_json(&self, ty: &str, id: &str) -> Result<Option<String>, StoreError> {
        self.query_opt(
            "SELECT json FROM entities WHERE type = $1 AND id = $2",
            &[&ty, &id],
        )?
        .map(|r| get(&r, 0))
        .transpose()
    }

    fn put_entity(&self, ty: &str, id: &str, json: &str) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO entities (type, id, json) VALUES ($1, $2, $3)
             ON CONFLICT (type, id) DO UPDATE SET json = excluded.json",
            &[&ty, &id, &json],
        )?;
        Ok(())
    }

    fn delete_entity(&self, ty: &str, id: &str) -> Result<bool, StoreError> {
        Ok(self.execute("DELETE FROM entities WHERE type = $1 AND id = $2", &[&ty, &id])? > 0)
    }

    fn entities_page(
        &self,
        ty: Option<&str>,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<(String, String, String)>, StoreError> {
        let (after_ty, after_id) = after.unwrap_or(("", ""));
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = match ty {
            Some(ty) => self.query(
                "SELECT type, id, json FROM entities WHERE type = $1 AND id > $2 ORDER BY type, id LIMIT $3",
                &[&ty, &after_id, &limit],
            )?,
            None => self.query(
                "SELECT type, id, json FROM entities WHERE (type, id) > ($1, $2) ORDER BY type, id LIMIT $3",
                &[&after_ty, &after_id, &limit],
            )?,
        };
        rows.iter()
            .map(|r| Ok((get(r, 0)?, get(r, 1)?, get(r, 2)?)))
            .collect()
    }

    fn entity_count(&self) -> Result<i64, StoreError> {
        get(&self.query_one("SELECT COUNT(*) FROM entities", &[])?, 0)
    }

    fn candidates(
        &self,
        ty: &str,
        ledger: bool,
        within: Within<'_>,
        after: &str,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        if !ledger {
            return strings(self.query(
                "SELECT id FROM entities WHERE type = $1 AND id > $2 ORDER BY id LIMIT $3",
                &[&ty, &after, &limit],
            )?);
        }
        let numbers = |rows: Vec<Row>| -> Result<Vec<String>, StoreError> {
            rows.iter()
                .map(|r| get::<i64>(r, 0).map(|n| n.to_string()))
                .collect()
        };
        match (ty, within) {
            ("User", Within::Tenant(t)) => strings(self.query(
                "SELECT id FROM users WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3",
                &[&t, &after, &limit],
            )?),
            ("User", Within::Account(a)) => strings(self.query(
                "SELECT x.id FROM users x JOIN tenants t ON t.id = x.tenant_id
                 WHERE t.account_id = $1 AND x.id > $2 ORDER BY x.id LIMIT $3",
                &[&a, &after, &limit],
            )?),
            ("User", Within::All) => strings(self.query(
                "SELECT id FROM users WHERE id > $1 ORDER BY id LIMIT $2",
                &[&after, &limit],
            )?),
            ("Operator", Within::Tenant(t)) => strings(self.query(
                "SELECT id FROM operators WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3",
                &[&t, &after, &limit],
            )?),
            ("Operator", Within::Account(a)) => strings(self.query(
                "SELECT x.id FROM operators x JOIN tenants t ON t.id = x.tenant_id
                 WHERE t.account_id = $1 AND x.id > $2 ORDER BY x.id LIMIT $3",
                &[&a, &after, &limit],
            )?),
            ("Operator", Within::All) => strings(self.query(
                "SELECT id FROM operators WHERE id > $1 ORDER BY id LIMIT $2",
                &[&after, &limit],
            )?),
            ("Tenant", Within::Tenant(t)) => Ok((t > after).then(|| t.to_string()).into_iter().collect()),
            ("Tenant", Within::Account(a)) => strings(self.query(
                "SELECT id FROM tenants WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3",
                &[&a, &after, &limit],
            )?),
            ("Tenant", Within::All) => strings(self.query(
                "SELECT id FROM tenants WHERE id > $1 ORDER BY id LIMIT $2",
                &[&after, &limit],
            )?),
            ("Account", Within::Tenant(t)) => strings(self.query(
                "SELECT account_id FROM tenants WHERE id = $1 AND account_id > $2 LIMIT $3",
                &[&t, &after, &limit],
            )?),
            ("Account", Within::Account(a)) => Ok((a > after).then(|| a.to_string()).into_iter().collect()),
            ("Account", Within::All) => strings(self.query(
                "SELECT id FROM accounts WHERE id > $1 ORDER BY id LIMIT $2",
                &[&after, &limit],
            )?),
            ("Subscription", _) => {
                let after = crate::store::candidates::number_cursor(after);
                match within {
                    Within::Tenant(t) => numbers(self.query(
                        "SELECT number FROM subscriptions WHERE tenant_id = $1 AND number > $2 ORDER BY number LIMIT $3",
                        &[&t, &after, &limit],
                    )?),
                    Within::Account(a) => numbers(self.query(
                        "SELECT s.number FROM subscriptions s JOIN tenants t ON t.id = s.tenant_id
                         WHERE t.account_id = $1 AND s.number > $2 ORDER BY s.number LIMIT $3",
                        &[&a, &after, &limit],
                    )?),
                    Within::All => numbers(self.query(
                        "SELECT number FROM subscriptions WHERE number > $1 ORDER BY number LIMIT $2",
                        &[&after, &limit],
                    )?),
                }
            }
            ("Category", _) => Ok(crate::store::candidates::categories_after(after, limit)),
            _ => Ok(Vec::new()),
        }
    }

    fn ping(&self) -> Result<(), StoreError> {
        self.query_one("SELECT 1", &[])?;
        Ok(())
    }

    fn swept_until(&self, now: i64) -> Result<i64, StoreError> {
        self.execute(
            "INSERT INTO meta (key, value) VALUES ('swept_until', $1) ON CONFLICT (key) DO NOTHING",
            &[&now],
        )?;
        get(
            &self.query_one("SELECT value FROM meta WHERE key = 'swept_until'", &[])?,
            0,
        )
    }

    fn set_swept_until(&self, at: i64) -> Result<(), StoreError> {
        self.execute("UPDATE meta SET value = $1 WHERE key = 'swept_until'", &[&at])?;
        Ok(())
    }

    fn dump(&self, table: &Table, offset: i64, limit: i64) -> Result<Vec<Vec<Cell>>, StoreError> {
        let rows = self
            .c
            .borrow_mut()
            .client
            .query(table.select_sql("$").as_str(), &[&limit, &offset])
            .map_err(pg_err)?;
        rows.iter()
            .map(|r| {
                (0..table.columns.len())
                    .map(|i| {
                        if table.booleans.contains(&table.columns[i]) {
                            let b: Option<bool> = get(r, i)?;
                            return Ok(b.map_or(Cell::Null, |b| Cell::Int(i64::from(b))));
                        }
                        if let Ok(n) = r.try_get::<_, Option<i64>>(i) {
                            return Ok(n.map_or(Cell::Null, Cell::Int));
                        }
                        let t: Option<String> = get(r, i)?;
                        Ok(t.map_or(Cell::Null, Cell::Text))
                    })
                    .collect()
            })
            .collect()
    }

    fn load(&self, table: &Table, rows: &[Vec<Cell>]) -> Result<(), StoreError> {
        use std::io::Write;
        // COPY in text format: one round trip for the whole chunk.
        let mut text = String::new();
        for row in rows {
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    text.push('\t');
                }
                match cell {
                    Cell::Null => text.push_str("\\N"),
                    Cell::Int(n) => text.push_str(&n.to_string()),
                    Cell::Text(t) => {
                        for ch in t.chars() {
                            match ch {
                                '\\' => text.push_str("\\\\"),
                                '\t' => text.push_str("\\t"),
                                '\n' => text.push_str("\\n"),
                                '\r' => text.push_str("\\r"),
                                c => text.push(c),
                            }
                        }
                    }
                }
            }
            text.push('\n');
        }
        let mut c = self.c.borrow_mut();
        let sql = format!("COPY {} ({}) FROM STDIN", table.name, table.columns.join(", "));
        let mut writer = c.client.copy_in(sql.as_str()).map_err(pg_err)?;
        writer
            .write_all(text.as_bytes())
            .map_err(|e| StoreError::Postgres(format!("COPY into `{}`: {e}", table.name)))?;
        writer.finish().map_err(pg_err)?;
        Ok(())
    }

    fn after_load(&self) -> Result<(), StoreError> {
        self.c
            .borrow_mut()
            .client
            .batch_execute(
                "SELECT setval(pg_get_serial_sequence('subscriptions', 'number'), COALESCE(MAX(number), 0) + 1, false) FROM subscriptions;
                 SELECT setval(pg_get_serial_sequence('production_records', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM production_records;
                 SELECT setval(pg_get_serial_sequence('deactivations', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM deactivations;",
            )
            .map_err(pg_err)
    }

    fn count_rows(&self, table: &Table) -> Result<i64, StoreError> {
        let row = self
            .c
            .borrow_mut()
            .client
            .query_one(
                format!("SELECT COUNT(*) FROM {} WHERE {}", table.name, table.only).as_str(),
                &[],
            )
            .map_err(pg_err)?;
        get(&row, 0)
    }
}

/// Every query fails with the reason the job could not run.
macro_rules! refuse {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        impl Conn for Broken {
            $(fn $name(&self, $(_: $ty),*) -> Result<$ret, StoreError> {
                Err(StoreError::Unavailable(self.0.clone()))
            })*
        }
    };
}

crate::store::conn_methods!(refuse);
