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
    pub(super) fn statement(&self, sql: &'static str) -> Result<Statement, StoreError> {
        let mut c = self.c.borrow_mut();
        let pg: &mut PgClient = &mut c;
        if let Some(st) = pg.statements.get(sql) {
            return Ok(st.clone());
        }
        let st = pg.client.prepare(sql).map_err(pg_err)?;
        pg.statements.insert(sql, st.clone());
        Ok(st)
    }

    pub(super) fn query(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let st = self.statement(sql)?;
        match self.c.borrow_mut().client.query(&st, params).map_err(pg_err) {
            // An id no row can hold matches no row.
            Err(StoreError::Unrepresentable) => Ok(Vec::new()),
            other => other,
        }
    }

    pub(super) fn query_opt(
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

    pub(super) fn query_one(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, StoreError> {
        let st = self.statement(sql)?;
        self.c.borrow_mut().client.query_one(&st, params).map_err(pg_err)
    }

    pub(super) fn execute(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, StoreError> {
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
        pg_facts::tenant_facts(self, id, now)
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
        pg_facts::user_with_role(self, id)
    }

    fn operator_with_account(&self, id: &str) -> Result<Option<(OperatorRow, Option<String>)>, StoreError> {
        pg_facts::operator_with_account(self, id)
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
        pg_pages::entities_page(self, ty, after, limit)
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
        pg_pages::candidates(self, ty, ledger, within, after, limit)
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
        pg_copy::dump(self, table, offset, limit)
    }

    fn load(&self, table: &Table, rows: &[Vec<Cell>]) -> Result<(), StoreError> {
        pg_copy::load(self, table, rows)
    }

    fn after_load(&self) -> Result<(), StoreError> {
        pg_copy::after_load(self)
    }

    fn count_rows(&self, table: &Table) -> Result<i64, StoreError> {
        pg_copy::count_rows(self, table)
    }
}

/// Every query fails with the reason the job could not run.
macro_rules! refuse {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        $(fn $name(&self, $(_: $ty),*) -> Result<$ret, StoreError> {
            Err(StoreError::Unavailable(self.0.clone()))
        })*
    };
}

impl Conn for Broken {
    crate::store::conn_untracked!(refuse);
    crate::store::conn_tracked!(refuse);
}
