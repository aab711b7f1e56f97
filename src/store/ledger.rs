//! The ledger's rows: accounts, tenants, hubs, subscriptions, roles, users,
//! operators, production records and reconciliation records. Plain reads and
//! writes; what they mean is decided elsewhere.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use super::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountRow {
    pub id: String,
    pub name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HubRow {
    pub name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantRow {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub created_at: i64,
    pub trial_days: Option<i64>,
    pub hub: Option<HubRow>,
}

/// The two kinds of seats a subscription sells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeatKind {
    User,
    ShopFloor,
}

impl SeatKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SeatKind::User => "user",
            SeatKind::ShopFloor => "shop_floor",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(SeatKind::User),
            "shop_floor" => Some(SeatKind::ShopFloor),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubscriptionRow {
    pub number: i64,
    pub tenant_id: String,
    pub kind: SeatKind,
    pub quantity: i64,
    pub starts_at: i64,
    pub ends_at: i64,
    pub payment_due_at: Option<i64>,
    pub paid_at: Option<i64>,
    pub created_at: i64,
}

impl SubscriptionRow {
    /// Within its term at `now`: started and not ended.
    pub fn in_term(&self, now: i64) -> bool {
        self.starts_at <= now && now < self.ends_at
    }
}

/// A permission level: none < view < edit < approve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    None,
    View,
    Edit,
    Approve,
}

/// The categories of the management interface.
pub const CATEGORIES: [&str; 7] = [
    "production_orders",
    "production_records",
    "reports",
    "workers",
    "users",
    "devices",
    "settings",
];

/// The built-in roles, which cannot be edited or shadowed.
pub const BUILTIN_ROLES: [&str; 3] = ["admin", "manager", "viewer"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleRow {
    /// `None` for a built-in role.
    pub tenant_id: Option<String>,
    pub name: String,
    pub levels: BTreeMap<String, Level>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserRow {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub email: String,
    pub role: String,
    pub active: bool,
    pub licensed_at: Option<i64>,
    pub created_at: i64,
    /// The id of the user's own operator, if they have one.
    pub own_operator: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deactivation {
    pub reason: String,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperatorRow {
    pub id: String,
    pub tenant_id: String,
    pub number: String,
    pub name: String,
    /// Set for a user operator: the user who owns it.
    pub owner_user_id: Option<String>,
    pub active: bool,
    pub created_at: i64,
    pub latest_production_at: Option<i64>,
    /// The last deactivation made by reconciliation, if the operator is inactive
    /// because of one.
    pub deactivation: Option<Deactivation>,
}

/// Seats of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Seats {
    pub total: i64,
    pub used: i64,
}

impl Seats {
    pub fn free(&self) -> i64 {
        (self.total - self.used).max(0)
    }
}

/// What the policies need to know about a tenant, computed from its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantFacts {
    pub tenant: TenantRow,
    pub user: Seats,
    pub shop_floor: Seats,
    /// Whether the tenant has ever bought shop-floor seats (R5: without, the
    /// operators page shows no licence information at all).
    pub has_shop_floor: bool,
    pub earliest_unpaid_due_at: Option<i64>,
    pub active_admins: i64,
    /// The next time a subscription starts or ends: the capacity above holds
    /// until then.
    pub next_change_at: Option<i64>,
}

fn b(v: i64) -> bool {
    v != 0
}

// ---------------------------------------------------------------- reads

pub fn account(conn: &Connection, id: &str) -> Result<Option<AccountRow>, StoreError> {
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

const TENANT_COLUMNS: &str = "t.id, t.account_id, t.name, t.created_at, t.trial_days, h.name, h.created_at";

fn tenant_row(r: &Row<'_>) -> rusqlite::Result<TenantRow> {
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

pub fn tenant(conn: &Connection, id: &str) -> Result<Option<TenantRow>, StoreError> {
    let sql = format!(
        "SELECT {TENANT_COLUMNS} FROM tenants t LEFT JOIN hubs h ON h.tenant_id = t.id WHERE t.id = ?1"
    );
    let mut st = conn.prepare_cached(&sql)?;
    Ok(st.query_row([id], tenant_row).optional()?)
}

/// The account a tenant belongs to.
pub fn account_of_tenant(conn: &Connection, tenant: &str) -> Result<Option<String>, StoreError> {
    let mut st = conn.prepare_cached("SELECT account_id FROM tenants WHERE id = ?1")?;
    Ok(st.query_row([tenant], |r| r.get(0)).optional()?)
}

pub fn tenants_of_account(conn: &Connection, account: &str) -> Result<Vec<TenantRow>, StoreError> {
    let sql = format!(
        "SELECT {TENANT_COLUMNS} FROM tenants t LEFT JOIN hubs h ON h.tenant_id = t.id WHERE t.account_id = ?1 ORDER BY t.id"
    );
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map([account], tenant_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The facts of a tenant at `now`, in one statement.
pub fn tenant_facts(conn: &Connection, id: &str, now: i64) -> Result<Option<TenantFacts>, StoreError> {
    let Some(tenant) = tenant(conn, id)? else {
        return Ok(None);
    };
    let mut st = conn.prepare_cached(
        "SELECT
           (SELECT COALESCE(SUM(quantity), 0) FROM subscriptions
              WHERE tenant_id = ?1 AND kind = 'user' AND starts_at <= ?2 AND ?2 < ends_at),
           (SELECT COUNT(*) FROM users INDEXED BY users_licensed
              WHERE tenant_id = ?1 AND licensed_at IS NOT NULL),
           (SELECT COALESCE(SUM(quantity), 0) FROM subscriptions
              WHERE tenant_id = ?1 AND kind = 'shop_floor' AND starts_at <= ?2 AND ?2 < ends_at),
           (SELECT COUNT(*) FROM operators INDEXED BY operators_by_tenant
              WHERE tenant_id = ?1 AND active = 1 AND owner_user_id IS NULL),
           EXISTS (SELECT 1 FROM subscriptions WHERE tenant_id = ?1 AND kind = 'shop_floor'),
           (SELECT MIN(payment_due_at) FROM subscriptions
              WHERE tenant_id = ?1 AND paid_at IS NULL AND payment_due_at IS NOT NULL),
           (SELECT COUNT(*) FROM users INDEXED BY users_by_role
              WHERE tenant_id = ?1 AND role = 'admin' AND active = 1),
           (SELECT MIN(t) FROM (
              SELECT starts_at AS t FROM subscriptions WHERE tenant_id = ?1 AND starts_at > ?2
              UNION ALL
              SELECT ends_at FROM subscriptions WHERE tenant_id = ?1 AND ends_at > ?2))",
    )?;
    let facts = st.query_row(params![id, now], |r| {
        Ok(TenantFacts {
            tenant: tenant.clone(),
            user: Seats {
                total: r.get(0)?,
                used: r.get(1)?,
            },
            shop_floor: Seats {
                total: r.get(2)?,
                used: r.get(3)?,
            },
            has_shop_floor: b(r.get(4)?),
            earliest_unpaid_due_at: r.get(5)?,
            active_admins: r.get(6)?,
            next_change_at: r.get(7)?,
        })
    })?;
    Ok(Some(facts))
}

const USER_COLUMNS: &str =
    "u.id, u.tenant_id, u.name, u.email, u.role, u.active, u.licensed_at, u.created_at,
     (SELECT o.id FROM operators o WHERE o.owner_user_id = u.id)";

fn user_row(r: &Row<'_>) -> rusqlite::Result<UserRow> {
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

pub fn user(conn: &Connection, id: &str) -> Result<Option<UserRow>, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = ?1");
    let mut st = conn.prepare_cached(&sql)?;
    Ok(st.query_row([id], user_row).optional()?)
}

pub fn users_of_tenant(conn: &Connection, tenant: &str) -> Result<Vec<UserRow>, StoreError> {
    let sql =
        format!("SELECT {USER_COLUMNS} FROM users u WHERE u.tenant_id = ?1 ORDER BY u.created_at, u.id");
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map([tenant], user_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn role_row(r: &Row<'_>) -> rusqlite::Result<(String, String, String)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
}

fn parse_role((tenant_id, name, levels): (String, String, String)) -> Result<RoleRow, StoreError> {
    let levels: BTreeMap<String, Level> = serde_json::from_str(&levels)
        .map_err(|e| StoreError::Corrupt(format!("role `{name}` levels: {e}")))?;
    Ok(RoleRow {
        tenant_id: (!tenant_id.is_empty()).then_some(tenant_id),
        name,
        levels,
    })
}

/// The role `name` as seen from `tenant`: the tenant's own role of that name, or
/// the built-in one.
pub fn role(conn: &Connection, tenant: &str, name: &str) -> Result<Option<RoleRow>, StoreError> {
    let mut st =
        conn.prepare_cached("SELECT tenant_id, name, levels FROM roles WHERE tenant_id = ?1 AND name = ?2")?;
    let own = st.query_row(params![tenant, name], role_row).optional()?;
    let found = match own {
        Some(r) => Some(r),
        None => st.query_row(params!["", name], role_row).optional()?,
    };
    found.map(parse_role).transpose()
}

pub fn roles_of_tenant(conn: &Connection, tenant: &str) -> Result<Vec<RoleRow>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT tenant_id, name, levels FROM roles WHERE tenant_id IN (?1, '') ORDER BY tenant_id, name",
    )?;
    let rows = st.query_map([tenant], role_row)?;
    rows.map(|r| parse_role(r?)).collect()
}

const OPERATOR_COLUMNS: &str = "o.id, o.tenant_id, o.number, o.name, o.owner_user_id, o.active, o.created_at,
     (SELECT MAX(p.at) FROM production_records p WHERE p.operator_id = o.id),
     (SELECT d.reason FROM deactivations d WHERE d.subject_kind = 'operator' AND d.subject_id = o.id ORDER BY d.id DESC LIMIT 1),
     (SELECT d.at FROM deactivations d WHERE d.subject_kind = 'operator' AND d.subject_id = o.id ORDER BY d.id DESC LIMIT 1)";

fn operator_row(r: &Row<'_>) -> rusqlite::Result<OperatorRow> {
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

pub fn operator(conn: &Connection, id: &str) -> Result<Option<OperatorRow>, StoreError> {
    let sql = format!("SELECT {OPERATOR_COLUMNS} FROM operators o WHERE o.id = ?1");
    let mut st = conn.prepare_cached(&sql)?;
    Ok(st.query_row([id], operator_row).optional()?)
}

pub fn operators_of_tenant(conn: &Connection, tenant: &str) -> Result<Vec<OperatorRow>, StoreError> {
    let sql = format!(
        "SELECT {OPERATOR_COLUMNS} FROM operators o WHERE o.tenant_id = ?1 ORDER BY o.created_at, o.id"
    );
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map([tenant], operator_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn operator_exists(conn: &Connection, id: &str) -> Result<bool, StoreError> {
    let mut st = conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM operators WHERE id = ?1)")?;
    Ok(b(st.query_row([id], |r| r.get(0))?))
}

pub fn operator_number_taken(conn: &Connection, tenant: &str, number: &str) -> Result<bool, StoreError> {
    let mut st =
        conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM operators WHERE tenant_id = ?1 AND number = ?2)")?;
    Ok(b(st.query_row(params![tenant, number], |r| r.get(0))?))
}

const SUBSCRIPTION_COLUMNS: &str =
    "number, tenant_id, kind, quantity, starts_at, ends_at, payment_due_at, paid_at, created_at";

fn subscription_row(r: &Row<'_>) -> rusqlite::Result<SubscriptionRow> {
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

pub fn subscription(conn: &Connection, number: i64) -> Result<Option<SubscriptionRow>, StoreError> {
    let sql = format!("SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE number = ?1");
    let mut st = conn.prepare_cached(&sql)?;
    Ok(st.query_row([number], subscription_row).optional()?)
}

pub fn subscriptions_of_tenant(conn: &Connection, tenant: &str) -> Result<Vec<SubscriptionRow>, StoreError> {
    let sql =
        format!("SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE tenant_id = ?1 ORDER BY number");
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map([tenant], subscription_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Tenants with a subscription that ended in `(after, until]`: their capacity
/// dropped, so they may need reconciling.
pub fn tenants_with_ends_between(
    conn: &Connection,
    after: i64,
    until: i64,
) -> Result<Vec<String>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT DISTINCT tenant_id FROM subscriptions WHERE ends_at > ?1 AND ends_at <= ?2 ORDER BY tenant_id",
    )?;
    let rows = st.query_map(params![after, until], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

// ---------------------------------------------------------------- writes

pub fn insert_account(conn: &Connection, a: &AccountRow) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT INTO accounts (id, name, created_at) VALUES (?1, ?2, ?3)")?
        .execute(params![a.id, a.name, a.created_at])?;
    Ok(())
}

pub fn insert_tenant(conn: &Connection, t: &TenantRow) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO tenants (id, account_id, name, created_at, trial_days) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![t.id, t.account_id, t.name, t.created_at, t.trial_days])?;
    Ok(())
}

pub fn insert_hub(conn: &Connection, tenant: &str, hub: &HubRow) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT INTO hubs (tenant_id, name, created_at) VALUES (?1, ?2, ?3)")?
        .execute(params![tenant, hub.name, hub.created_at])?;
    Ok(())
}

/// Inserts a subscription and returns its new number (`number` in `s` is ignored).
pub fn insert_subscription(conn: &Connection, s: &SubscriptionRow) -> Result<i64, StoreError> {
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

pub fn set_subscription_paid(conn: &Connection, number: i64, at: i64) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE subscriptions SET paid_at = ?2 WHERE number = ?1 AND paid_at IS NULL")?
        .execute(params![number, at])?;
    Ok(())
}

pub fn set_subscription_term(
    conn: &Connection,
    number: i64,
    ends_at: i64,
    quantity: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE subscriptions SET ends_at = ?2, quantity = ?3 WHERE number = ?1")?
        .execute(params![number, ends_at, quantity])?;
    Ok(())
}

pub fn insert_role(conn: &Connection, tenant: &str, role: &RoleRow) -> Result<(), StoreError> {
    let levels = serde_json::to_string(&role.levels).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    conn.prepare_cached("INSERT INTO roles (tenant_id, name, levels) VALUES (?1, ?2, ?3)")?
        .execute(params![tenant, role.name, levels])?;
    Ok(())
}

pub fn insert_user(conn: &Connection, u: &UserRow) -> Result<(), StoreError> {
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

pub fn set_user_active(conn: &Connection, id: &str, active: bool) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE users SET active = ?2 WHERE id = ?1")?
        .execute(params![id, active])?;
    Ok(())
}

pub fn set_user_role(conn: &Connection, id: &str, role: &str) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE users SET role = ?2 WHERE id = ?1")?
        .execute(params![id, role])?;
    Ok(())
}

/// Gives (`Some(at)`) or takes (`None`) the user's named licence.
pub fn set_license(conn: &Connection, id: &str, at: Option<i64>) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE users SET licensed_at = ?2 WHERE id = ?1")?
        .execute(params![id, at])?;
    Ok(())
}

pub fn insert_operator(conn: &Connection, o: &OperatorRow) -> Result<(), StoreError> {
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

pub fn set_operator_active(conn: &Connection, id: &str, active: bool) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE operators SET active = ?2 WHERE id = ?1")?
        .execute(params![id, active])?;
    Ok(())
}

/// Binds a seat operator to a user for good, renaming it after the user.
pub fn link_operator(conn: &Connection, id: &str, user: &str, name: &str) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE operators SET owner_user_id = ?2, name = ?3 WHERE id = ?1")?
        .execute(params![id, user, name])?;
    Ok(())
}

pub fn insert_production(conn: &Connection, operator: &str, at: i64) -> Result<i64, StoreError> {
    conn.prepare_cached("INSERT INTO production_records (operator_id, at) VALUES (?1, ?2)")?
        .execute(params![operator, at])?;
    Ok(conn.last_insert_rowid())
}

pub fn insert_deactivation(
    conn: &Connection,
    tenant: &str,
    subject_kind: &str,
    subject_id: &str,
    reason: &str,
    at: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO deactivations (tenant_id, subject_kind, subject_id, reason, at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![tenant, subject_kind, subject_id, reason, at])?;
    Ok(())
}

/// Whether `err` is a UNIQUE or PRIMARY KEY violation.
pub fn is_conflict(err: &StoreError) -> bool {
    matches!(
        err,
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _))
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}
