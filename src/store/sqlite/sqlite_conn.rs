//! One SQLite connection as the store's [`Conn`]: every query the crate
//! asks, and the rows they give.

use super::*;

pub(super) fn b(v: i64) -> bool {
    v != 0
}

pub(super) const TENANT_COLUMNS: &str =
    "t.id, t.account_id, t.name, t.created_at, t.trial_days, h.name, h.created_at";

pub(super) fn tenant_row(r: &Row<'_>) -> rusqlite::Result<TenantRow> {
    let hub_name: Option<String> = r.get(5)?;
    let hub_at: Option<i64> = r.get(6)?;
    Ok(TenantRow {
        id: r.get(0)?,
        account_id: r.get(1)?,
        name: r.get(2)?,
        created_at: r.get(3)?,
        trial_days: r.get(4)?,
        hub: match (hub_name, hub_at) {
            (Some(name), Some(created_at)) => Some(HubRow { name, created_at }),
            _ => None,
        },
    })
}

pub(super) const USER_COLUMNS: &str =
    "u.id, u.tenant_id, u.name, u.email, u.role, u.active, u.licensed_at, u.created_at,
     (SELECT o.id FROM operators o WHERE o.owner_user_id = u.id)";

pub(super) fn user_row(r: &Row<'_>) -> rusqlite::Result<UserRow> {
    Ok(UserRow {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        name: r.get(2)?,
        email: r.get(3)?,
        role: r.get(4)?,
        active: b(r.get(5)?),
        licensed_at: r.get(6)?,
        created_at: r.get(7)?,
        own_operator: r.get(8)?,
    })
}

pub(super) fn role_row(r: &Row<'_>) -> rusqlite::Result<(String, String, String)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
}

pub(super) fn parse_role((tenant_id, name, levels): (String, String, String)) -> Result<RoleRow, StoreError> {
    rows::parse_role(tenant_id, name, &levels)
}

pub(super) const OPERATOR_COLUMNS: &str = "o.id, o.tenant_id, o.number, o.name, o.owner_user_id, o.active, o.created_at,
     (SELECT MAX(p.at) FROM production_records p WHERE p.operator_id = o.id),
     (SELECT d.reason FROM deactivations d WHERE d.subject_kind = 'operator' AND d.subject_id = o.id ORDER BY d.id DESC LIMIT 1),
     (SELECT d.at FROM deactivations d WHERE d.subject_kind = 'operator' AND d.subject_id = o.id ORDER BY d.id DESC LIMIT 1)";

pub(super) fn operator_row(r: &Row<'_>) -> rusqlite::Result<OperatorRow> {
    let active = b(r.get(5)?);
    let reason: Option<String> = r.get(8)?;
    let at: Option<i64> = r.get(9)?;
    Ok(OperatorRow {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        number: r.get(2)?,
        name: r.get(3)?,
        owner_user_id: r.get(4)?,
        active,
        created_at: r.get(6)?,
        latest_production_at: r.get(7)?,
        deactivation: match (active, reason, at) {
            (false, Some(reason), Some(at)) => Some(Deactivation { reason, at }),
            _ => None,
        },
    })
}

pub(super) const SUBSCRIPTION_COLUMNS: &str =
    "number, tenant_id, kind, quantity, starts_at, ends_at, payment_due_at, paid_at, created_at";

pub(super) fn subscription_row(r: &Row<'_>) -> rusqlite::Result<SubscriptionRow> {
    let kind: String = r.get(2)?;
    Ok(SubscriptionRow {
        number: r.get(0)?,
        tenant_id: r.get(1)?,
        kind: SeatKind::parse(&kind).unwrap_or(SeatKind::User),
        quantity: r.get(3)?,
        starts_at: r.get(4)?,
        ends_at: r.get(5)?,
        payment_due_at: r.get(6)?,
        paid_at: r.get(7)?,
        created_at: r.get(8)?,
    })
}

impl Conn for Connection {
    // ---------------------------------------------------------------- reads

    fn account(&self, id: &str) -> Result<Option<AccountRow>, StoreError> {
        let conn = self;
        let mut st = conn.prepare_cached("SELECT id, name, created_at FROM accounts WHERE id = ?1")?;
        Ok(st
            .query_row([id], |r| {
                Ok(AccountRow {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    created_at: r.get(2)?,
                })
            })
            .optional()?)
    }

    fn tenant(&self, id: &str) -> Result<Option<TenantRow>, StoreError> {
        let conn = self;
        let sql = format!(
            "SELECT {TENANT_COLUMNS} FROM tenants t LEFT JOIN hubs h ON h.tenant_id = t.id WHERE t.id = ?1"
        );
        let mut st = conn.prepare_cached(&sql)?;
        Ok(st.query_row([id], tenant_row).optional()?)
    }

    /// The account a tenant belongs to.
    fn account_of_tenant(&self, tenant: &str) -> Result<Option<String>, StoreError> {
        let conn = self;
        let mut st = conn.prepare_cached("SELECT account_id FROM tenants WHERE id = ?1")?;
        Ok(st.query_row([tenant], |r| r.get(0)).optional()?)
    }

    fn tenants_of_account(&self, account: &str) -> Result<Vec<TenantRow>, StoreError> {
        let conn = self;
        let sql = format!(
            "SELECT {TENANT_COLUMNS} FROM tenants t LEFT JOIN hubs h ON h.tenant_id = t.id WHERE t.account_id = ?1 ORDER BY t.id"
        );
        let mut st = conn.prepare_cached(&sql)?;
        let rows = st.query_map([account], tenant_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn find_tenants(&self, text: &str, after: &str, limit: usize) -> Result<Vec<TenantRow>, StoreError> {
        let sql = format!(
            "SELECT {TENANT_COLUMNS} FROM tenants t LEFT JOIN hubs h ON h.tenant_id = t.id
             WHERE t.id > ?2 AND (?1 = '' OR instr(lower(t.id), lower(?1)) > 0 OR instr(lower(t.name), lower(?1)) > 0)
             ORDER BY t.id LIMIT ?3"
        );
        let mut st = self.prepare_cached(&sql)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = st.query_map(params![text, after, limit], tenant_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The facts of a tenant at `now`, in one statement.
    fn tenant_facts(&self, id: &str, now: i64) -> Result<Option<TenantFacts>, StoreError> {
        sqlite_facts::tenant_facts(self, id, now)
    }

    fn user(&self, id: &str) -> Result<Option<UserRow>, StoreError> {
        let conn = self;
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = ?1");
        let mut st = conn.prepare_cached(&sql)?;
        Ok(st.query_row([id], user_row).optional()?)
    }

    fn users_of_tenant(&self, tenant: &str) -> Result<Vec<UserRow>, StoreError> {
        let conn = self;
        let sql =
            format!("SELECT {USER_COLUMNS} FROM users u WHERE u.tenant_id = ?1 ORDER BY u.created_at, u.id");
        let mut st = conn.prepare_cached(&sql)?;
        let rows = st.query_map([tenant], user_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The role `name` as seen from `tenant`: the tenant's own role of that name, or
    /// the built-in one.
    fn role(&self, tenant: &str, name: &str) -> Result<Option<RoleRow>, StoreError> {
        let conn = self;
        let mut st = conn
            .prepare_cached("SELECT tenant_id, name, levels FROM roles WHERE tenant_id = ?1 AND name = ?2")?;
        let own = st.query_row(params![tenant, name], role_row).optional()?;
        let found = match own {
            Some(r) => Some(r),
            None => st.query_row(params!["", name], role_row).optional()?,
        };
        found.map(parse_role).transpose()
    }

    fn roles_of_tenant(&self, tenant: &str) -> Result<Vec<RoleRow>, StoreError> {
        let conn = self;
        let mut st = conn.prepare_cached(
            "SELECT tenant_id, name, levels FROM roles WHERE tenant_id IN (?1, '') ORDER BY tenant_id, name",
        )?;
        let rows = st.query_map([tenant], role_row)?;
        rows.map(|r| parse_role(r?)).collect()
    }

    fn operator(&self, id: &str) -> Result<Option<OperatorRow>, StoreError> {
        let conn = self;
        let sql = format!("SELECT {OPERATOR_COLUMNS} FROM operators o WHERE o.id = ?1");
        let mut st = conn.prepare_cached(&sql)?;
        Ok(st.query_row([id], operator_row).optional()?)
    }

    fn operators_of_tenant(&self, tenant: &str) -> Result<Vec<OperatorRow>, StoreError> {
        let conn = self;
        let sql = format!(
            "SELECT {OPERATOR_COLUMNS} FROM operators o WHERE o.tenant_id = ?1 ORDER BY o.created_at, o.id"
        );
        let mut st = conn.prepare_cached(&sql)?;
        let rows = st.query_map([tenant], operator_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn operator_exists(&self, id: &str) -> Result<bool, StoreError> {
        let conn = self;
        let mut st = conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM operators WHERE id = ?1)")?;
        Ok(b(st.query_row([id], |r| r.get(0))?))
    }

    fn operator_number_taken(&self, tenant: &str, number: &str) -> Result<bool, StoreError> {
        let conn = self;
        let mut st = conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM operators WHERE tenant_id = ?1 AND number = ?2)")?;
        Ok(b(st.query_row(params![tenant, number], |r| r.get(0))?))
    }

    fn subscription(&self, number: i64) -> Result<Option<SubscriptionRow>, StoreError> {
        let conn = self;
        let sql = format!("SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE number = ?1");
        let mut st = conn.prepare_cached(&sql)?;
        Ok(st.query_row([number], subscription_row).optional()?)
    }

    fn subscriptions_of_tenant(&self, tenant: &str) -> Result<Vec<SubscriptionRow>, StoreError> {
        let conn = self;
        let sql =
            format!("SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE tenant_id = ?1 ORDER BY number");
        let mut st = conn.prepare_cached(&sql)?;
        let rows = st.query_map([tenant], subscription_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Tenants with a subscription that ended in `(after, until]`: their capacity
    /// dropped, so they may need reconciling.
    fn tenants_with_ends_between(&self, after: i64, until: i64) -> Result<Vec<String>, StoreError> {
        let conn = self;
        let mut st = conn.prepare_cached(
            "SELECT DISTINCT tenant_id FROM subscriptions WHERE ends_at > ?1 AND ends_at <= ?2 ORDER BY tenant_id",
        )?;
        let rows = st.query_map(params![after, until], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    // ---------------------------------------------------------------- writes

    fn insert_account(&self, a: &AccountRow) -> Result<(), StoreError> {
        let conn = self;
        conn.prepare_cached("INSERT INTO accounts (id, name, created_at) VALUES (?1, ?2, ?3)")?
            .execute(params![a.id, a.name, a.created_at])?;
        Ok(())
    }

    fn insert_tenant(&self, t: &TenantRow) -> Result<(), StoreError> {
        let conn = self;
        conn.prepare_cached(
            "INSERT INTO tenants (id, account_id, name, created_at, trial_days) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![t.id, t.account_id, t.name, t.created_at, t.trial_days])?;
        Ok(())
    }

    fn insert_hub(&self, tenant: &str, hub: &HubRow) -> Result<(), StoreError> {
        let conn = self;
        conn.prepare_cached("INSERT INTO hubs (tenant_id, name, created_at) VALUES (?1, ?2, ?3)")?
            .execute(params![tenant, hub.name, hub.created_at])?;
        Ok(())
    }

    /// Inserts a subscription and returns its new number (`number` in `s` is ignored).
    fn insert_subscription(&self, s: &SubscriptionRow) -> Result<i64, StoreError> {
        let conn = self;
        conn.prepare_cached(
            "INSERT INTO subscriptions (tenant_id, kind, quantity, starts_at, ends_at, payment_due_at, paid_at, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            s.tenant_id,
            s.kind.as_str(),
            s.quantity,
            s.starts_at,
            s.ends_at,
            s.payment_due_at,
            s.paid_at,
            s.created_at
        ])?;
        Ok(conn.last_insert_rowid())
    }

    fn set_subscription_paid(&self, number: i64, at: i64) -> Result<(), StoreError> {
        let conn = self;
        conn.prepare_cached("UPDATE subscriptions SET paid_at = ?2 WHERE number = ?1 AND paid_at IS NULL")?
            .execute(params![number, at])?;
        Ok(())
    }

    fn set_subscription_term(&self, number: i64, ends_at: i64, quantity: i64) -> Result<(), StoreError> {
        let conn = self;
        conn.prepare_cached("UPDATE subscriptions SET ends_at = ?2, quantity = ?3 WHERE number = ?1")?
            .execute(params![number, ends_at, quantity])?;
        Ok(())
    }

    fn insert_role(&self, tenant: &str, role: &RoleRow) -> Result<(), StoreError> {
        let conn = self;
        let levels = serde_json::to_string(&role.levels).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        conn.prepare_cached("INSERT INTO roles (tenant_id, name, levels) VALUES (?1, ?2, ?3)")?
            .execute(params![tenant, role.name, levels])?;
        Ok(())
    }

    fn insert_user(&self, u: &UserRow) -> Result<(), StoreError> {
        let conn = self;
        conn.prepare_cached(
            "INSERT INTO users (id, tenant_id, name, email, role, active, licensed_at, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            u.id,
            u.tenant_id,
            u.name,
            u.email,
            u.role,
            u.active,
            u.licensed_at,
            u.created_at
        ])?;
        Ok(())
    }

    fn set_user_active(&self, id: &str, active: bool) -> Result<(), StoreError> {
        let conn = self;
        conn.prepare_cached("UPDATE users SET active = ?2 WHERE id = ?1")?
            .execute(params![id, active])?;
        Ok(())
    }

    fn set_user_role(&self, id: &str, role: &str) -> Result<(), StoreError> {
        let conn = self;
        conn.prepare_cached("UPDATE users SET role = ?2 WHERE id = ?1")?
            .execute(params![id, role])?;
        Ok(())
    }

    /// Gives (`Some(at)`) or takes (`None`) the user's named licence.
    fn set_license(&self, id: &str, at: Option<i64>) -> Result<(), StoreError> {
        let conn = self;
        conn.prepare_cached("UPDATE users SET licensed_at = ?2 WHERE id = ?1")?
            .execute(params![id, at])?;
        Ok(())
    }

    fn insert_operator(&self, o: &OperatorRow) -> Result<(), StoreError> {
        let conn = self;
        conn.prepare_cached(
            "INSERT INTO operators (id, tenant_id, number, name, owner_user_id, active, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            o.id,
            o.tenant_id,
            o.number,
            o.name,
            o.owner_user_id,
            o.active,
            o.created_at
        ])?;
        Ok(())
    }

    fn set_operator_active(&self, id: &str, active: bool) -> Result<(), StoreError> {
        let conn = self;
        conn.prepare_cached("UPDATE operators SET active = ?2 WHERE id = ?1")?
            .execute(params![id, active])?;
        Ok(())
    }

    /// Binds a seat operator to a user for good, renaming it after the user.
    fn link_operator(&self, id: &str, user: &str, name: &str) -> Result<(), StoreError> {
        let conn = self;
        conn.prepare_cached("UPDATE operators SET owner_user_id = ?2, name = ?3 WHERE id = ?1")?
            .execute(params![id, user, name])?;
        Ok(())
    }

    fn insert_production(&self, operator: &str, at: i64) -> Result<i64, StoreError> {
        let conn = self;
        conn.prepare_cached("INSERT INTO production_records (operator_id, at) VALUES (?1, ?2)")?
            .execute(params![operator, at])?;
        Ok(conn.last_insert_rowid())
    }

    fn insert_deactivation(
        &self,
        tenant: &str,
        subject_kind: &str,
        subject_id: &str,
        reason: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        let conn = self;
        conn.prepare_cached(
            "INSERT INTO deactivations (tenant_id, subject_kind, subject_id, reason, at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![tenant, subject_kind, subject_id, reason, at])?;
        Ok(())
    }

    fn user_with_role(&self, id: &str) -> Result<Option<UserWithRole>, StoreError> {
        sqlite_facts::user_with_role(self, id)
    }

    fn operator_with_account(&self, id: &str) -> Result<Option<(OperatorRow, Option<String>)>, StoreError> {
        sqlite_facts::operator_with_account(self, id)
    }

    fn entity_json(&self, ty: &str, id: &str) -> Result<Option<String>, StoreError> {
        let mut st = self.prepare_cached("SELECT json FROM entities WHERE type = ?1 AND id = ?2")?;
        Ok(st.query_row(params![ty, id], |r| r.get(0)).optional()?)
    }

    fn put_entity(&self, ty: &str, id: &str, json: &str) -> Result<(), StoreError> {
        self.prepare_cached(
            "INSERT INTO entities (type, id, json) VALUES (?1, ?2, ?3)
             ON CONFLICT (type, id) DO UPDATE SET json = excluded.json",
        )?
        .execute(params![ty, id, json])?;
        Ok(())
    }

    fn delete_entity(&self, ty: &str, id: &str) -> Result<bool, StoreError> {
        let n = self
            .prepare_cached("DELETE FROM entities WHERE type = ?1 AND id = ?2")?
            .execute(params![ty, id])?;
        Ok(n > 0)
    }

    fn entities_page(
        &self,
        ty: Option<&str>,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<(String, String, String)>, StoreError> {
        sqlite_pages::entities_page(self, ty, after, limit)
    }

    fn entity_count(&self) -> Result<i64, StoreError> {
        Ok(self.query_row("SELECT COUNT(*) FROM entities", [], |r| r.get(0))?)
    }

    fn candidates(
        &self,
        ty: &str,
        ledger: bool,
        within: Within<'_>,
        after: &str,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        sqlite_pages::candidates(self, ty, ledger, within, after, limit)
    }

    fn ping(&self) -> Result<(), StoreError> {
        self.query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }

    fn swept_until(&self, now: i64) -> Result<i64, StoreError> {
        self.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('swept_until', ?1)",
            [now],
        )?;
        Ok(
            self.query_row("SELECT value FROM meta WHERE key = 'swept_until'", [], |r| {
                r.get(0)
            })?,
        )
    }

    fn set_swept_until(&self, at: i64) -> Result<(), StoreError> {
        self.execute("UPDATE meta SET value = ?1 WHERE key = 'swept_until'", [at])?;
        Ok(())
    }

    fn dump(&self, table: &Table, offset: i64, limit: i64) -> Result<Vec<Vec<Cell>>, StoreError> {
        sqlite_copy::dump(self, table, offset, limit)
    }

    fn load(&self, table: &Table, rows: &[Vec<Cell>]) -> Result<(), StoreError> {
        sqlite_copy::load(self, table, rows)
    }

    fn after_load(&self) -> Result<(), StoreError> {
        sqlite_copy::after_load(self)
    }

    fn count_rows(&self, table: &Table) -> Result<i64, StoreError> {
        sqlite_copy::count_rows(self, table)
    }
}
