//! store: the only module that speaks SQL.
//!
//! One interface, [`Conn`], holds every query the rest of the crate asks of a
//! database: the ledger's rows, the facts a decision needs, the generic
//! entities, search candidates. Each backend implements it once, beside the
//! others: [`sqlite`] (the embedded default: one file, a single writer thread
//! that groups jobs into transactions, a small pool of read connections) and
//! [`postgres`] (any number of nodes over one database: a write is one
//! transaction holding the ledger lock, committed changes are announced to the
//! other nodes). Callers read through [`Store::read`] / [`Store::reader`] and
//! write through [`Store::write`]; nobody hears "done" before the transaction
//! holding their change is committed. This module never builds a Cedar entity
//! and never decides anything.

pub mod candidates;
pub mod postgres;
pub mod rows;
pub mod sqlite;
pub mod testing;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use candidates::Within;
use rows::{
    AccountRow, HubRow, OperatorRow, RoleRow, SubscriptionRow, TenantFacts, TenantRow, UserRow, UserWithRole,
};

/// Everything that can go wrong below the SQL line.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
    #[error("database error: {0}")]
    Postgres(String),
    #[error("cannot open the database `{path}`: {message}")]
    Open { path: String, message: String },
    #[error("the database was written by a newer turnstile (schema version {found}, this one knows {known})")]
    TooNew { found: i64, known: i64 },
    #[error("the database writer has stopped")]
    Closed,
    #[error("the change could not be committed: {0}")]
    Commit(String),
    #[error("a write panicked and was rolled back")]
    Panicked,
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// A UNIQUE or PRIMARY KEY violation, on any backend.
    #[error("duplicate key: {0}")]
    Duplicate(String),
    /// Text the database cannot hold (a NUL character, on PostgreSQL): such a
    /// value names nothing stored and cannot be stored.
    #[error("text with a NUL character cannot be stored")]
    Unrepresentable,
    /// The database cannot be reached now (connection refused or lost, pool
    /// exhausted, statement timed out): try again later.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match &e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                StoreError::Duplicate(e.to_string())
            }
            rusqlite::Error::SqliteFailure(f, _)
                if f.code == rusqlite::ErrorCode::DatabaseBusy
                    || f.code == rusqlite::ErrorCode::DatabaseLocked =>
            {
                StoreError::Unavailable(e.to_string())
            }
            _ => StoreError::Sqlite(e),
        }
    }
}

impl StoreError {
    /// Whether the database could not be reached (as opposed to a refusal or a
    /// bug): the HTTP layer answers 503 for these.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_) | StoreError::Closed)
    }
}

/// Every query the crate asks of a database, on one connection: a read
/// connection, or the connection of a write transaction in progress. Each
/// backend implements it once; nothing outside `store` writes SQL.
pub trait Conn {
    // ------------------------------------------------------------ ledger reads
    fn account(&self, id: &str) -> Result<Option<AccountRow>, StoreError>;
    fn tenant(&self, id: &str) -> Result<Option<TenantRow>, StoreError>;
    /// The account a tenant belongs to.
    fn account_of_tenant(&self, tenant: &str) -> Result<Option<String>, StoreError>;
    fn tenants_of_account(&self, account: &str) -> Result<Vec<TenantRow>, StoreError>;
    /// Up to `limit` tenants after the id `after`, in id order, whose id or
    /// name holds `text` (any case; every tenant when `text` is empty): the
    /// console's paged, searchable list.
    fn find_tenants(&self, text: &str, after: &str, limit: usize) -> Result<Vec<TenantRow>, StoreError>;
    /// The facts of a tenant at `now`: seats per kind, the earliest unpaid due
    /// date, active admins, the next time its capacity changes.
    fn tenant_facts(&self, id: &str, now: i64) -> Result<Option<TenantFacts>, StoreError>;
    fn user(&self, id: &str) -> Result<Option<UserRow>, StoreError>;
    fn users_of_tenant(&self, tenant: &str) -> Result<Vec<UserRow>, StoreError>;
    /// The role `name` as seen from `tenant`: the tenant's own role of that
    /// name, or the built-in one.
    fn role(&self, tenant: &str, name: &str) -> Result<Option<RoleRow>, StoreError>;
    fn roles_of_tenant(&self, tenant: &str) -> Result<Vec<RoleRow>, StoreError>;
    fn operator(&self, id: &str) -> Result<Option<OperatorRow>, StoreError>;
    fn operators_of_tenant(&self, tenant: &str) -> Result<Vec<OperatorRow>, StoreError>;
    fn operator_exists(&self, id: &str) -> Result<bool, StoreError>;
    fn operator_number_taken(&self, tenant: &str, number: &str) -> Result<bool, StoreError>;
    fn subscription(&self, number: i64) -> Result<Option<SubscriptionRow>, StoreError>;
    fn subscriptions_of_tenant(&self, tenant: &str) -> Result<Vec<SubscriptionRow>, StoreError>;
    /// Tenants with a subscription that ended in `(after, until]`.
    fn tenants_with_ends_between(&self, after: i64, until: i64) -> Result<Vec<String>, StoreError>;

    // ------------------------------------------------------------ what one entity needs
    /// A user with its tenant's account and its role's levels, in one statement.
    fn user_with_role(&self, id: &str) -> Result<Option<UserWithRole>, StoreError>;
    /// An operator with its tenant's account, in one statement (none of the
    /// production or deactivation history its listing shows).
    fn operator_with_account(&self, id: &str) -> Result<Option<(OperatorRow, Option<String>)>, StoreError>;

    // ------------------------------------------------------------ ledger writes
    fn insert_account(&self, a: &AccountRow) -> Result<(), StoreError>;
    fn insert_tenant(&self, t: &TenantRow) -> Result<(), StoreError>;
    fn insert_hub(&self, tenant: &str, hub: &HubRow) -> Result<(), StoreError>;
    /// Inserts a subscription and returns its new number (`number` in `s` is ignored).
    fn insert_subscription(&self, s: &SubscriptionRow) -> Result<i64, StoreError>;
    fn set_subscription_paid(&self, number: i64, at: i64) -> Result<(), StoreError>;
    fn set_subscription_term(&self, number: i64, ends_at: i64, quantity: i64) -> Result<(), StoreError>;
    fn insert_role(&self, tenant: &str, role: &RoleRow) -> Result<(), StoreError>;
    fn insert_user(&self, u: &UserRow) -> Result<(), StoreError>;
    fn set_user_active(&self, id: &str, active: bool) -> Result<(), StoreError>;
    fn set_user_role(&self, id: &str, role: &str) -> Result<(), StoreError>;
    /// Gives (`Some(at)`) or takes (`None`) the user's named licence.
    fn set_license(&self, id: &str, at: Option<i64>) -> Result<(), StoreError>;
    fn insert_operator(&self, o: &OperatorRow) -> Result<(), StoreError>;
    fn set_operator_active(&self, id: &str, active: bool) -> Result<(), StoreError>;
    /// Binds a seat operator to a user for good, renaming it after the user.
    fn link_operator(&self, id: &str, user: &str, name: &str) -> Result<(), StoreError>;
    fn insert_production(&self, operator: &str, at: i64) -> Result<i64, StoreError>;
    fn insert_deactivation(
        &self,
        tenant: &str,
        subject_kind: &str,
        subject_id: &str,
        reason: &str,
        at: i64,
    ) -> Result<(), StoreError>;

    // ------------------------------------------------------------ generic entities
    /// The JSON of entity `ty::id`, if stored.
    fn entity_json(&self, ty: &str, id: &str) -> Result<Option<String>, StoreError>;
    /// Inserts or replaces an entity.
    fn put_entity(&self, ty: &str, id: &str, json: &str) -> Result<(), StoreError>;
    /// Deletes an entity; returns whether it existed.
    fn delete_entity(&self, ty: &str, id: &str) -> Result<bool, StoreError>;
    /// A page of entities (optionally of one type) after `(after_type,
    /// after_id)`, in key order: `(type, id, json)`.
    fn entities_page(
        &self,
        ty: Option<&str>,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<(String, String, String)>, StoreError>;
    /// How many generic entities are stored.
    fn entity_count(&self) -> Result<i64, StoreError>;

    // ------------------------------------------------------------ search
    /// Up to `limit` ids of stored `ty` entities greater than `after`, in
    /// order (see [`candidates`]).
    fn candidates(
        &self,
        ty: &str,
        ledger: bool,
        within: Within<'_>,
        after: &str,
        limit: usize,
    ) -> Result<Vec<String>, StoreError>;

    // ------------------------------------------------------------ upkeep
    /// A round trip: the database answers.
    fn ping(&self) -> Result<(), StoreError>;
    /// Until when the subscription-end sweep has looked (set to `now` the
    /// first time it is asked).
    fn swept_until(&self, now: i64) -> Result<i64, StoreError>;
    fn set_swept_until(&self, at: i64) -> Result<(), StoreError>;

    // ------------------------------------------------------------ copying a ledger
    /// Up to `limit` rows of `table` (one of [`TABLES`]) after the first
    /// `offset`, in key order, as cells in the table's column order.
    fn dump(&self, table: &Table, offset: i64, limit: i64) -> Result<Vec<Vec<Cell>>, StoreError>;
    /// Inserts rows of `table` as [`Conn::dump`] gives them, keys and all.
    fn load(&self, table: &Table, rows: &[Vec<Cell>]) -> Result<(), StoreError>;
    /// After a load: generated keys continue after the loaded ones.
    fn after_load(&self) -> Result<(), StoreError>;
    /// Rows in `table` (built-in roles not counted).
    fn count_rows(&self, table: &Table) -> Result<i64, StoreError>;
}

/// One table of the ledger as a copy sees it: its name, its columns, the
/// columns that order it, and which columns are booleans (integers on SQLite).
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [&'static str],
    pub order: &'static str,
    pub booleans: &'static [&'static str],
    /// A condition rows must meet to be copied (built-in roles are not).
    pub only: &'static str,
    /// The column naming the tenant a row belongs to, if any.
    pub tenant_column: Option<usize>,
}

/// Every table a ledger copy moves, parents before children.
pub const TABLES: &[Table] = &[
    Table {
        name: "accounts",
        columns: &["id", "name", "created_at"],
        order: "id",
        booleans: &[],
        tenant_column: None,
        only: "TRUE",
    },
    Table {
        name: "tenants",
        columns: &["id", "account_id", "name", "created_at", "trial_days"],
        order: "id",
        booleans: &[],
        tenant_column: Some(0),
        only: "TRUE",
    },
    Table {
        name: "hubs",
        columns: &["tenant_id", "name", "created_at"],
        order: "tenant_id",
        booleans: &[],
        tenant_column: Some(0),
        only: "TRUE",
    },
    Table {
        name: "subscriptions",
        columns: &[
            "number",
            "tenant_id",
            "kind",
            "quantity",
            "starts_at",
            "ends_at",
            "payment_due_at",
            "paid_at",
            "created_at",
        ],
        order: "number",
        booleans: &[],
        tenant_column: Some(1),
        only: "TRUE",
    },
    Table {
        name: "roles",
        columns: &["tenant_id", "name", "levels"],
        order: "tenant_id, name",
        booleans: &[],
        tenant_column: Some(0),
        only: "tenant_id <> ''",
    },
    Table {
        name: "users",
        columns: &[
            "id",
            "tenant_id",
            "name",
            "email",
            "role",
            "active",
            "licensed_at",
            "created_at",
        ],
        order: "id",
        booleans: &["active"],
        tenant_column: Some(1),
        only: "TRUE",
    },
    Table {
        name: "operators",
        columns: &[
            "id",
            "tenant_id",
            "number",
            "name",
            "owner_user_id",
            "active",
            "created_at",
        ],
        order: "id",
        booleans: &["active"],
        tenant_column: Some(1),
        only: "TRUE",
    },
    Table {
        name: "production_records",
        columns: &["id", "operator_id", "at"],
        order: "id",
        booleans: &[],
        tenant_column: None,
        only: "TRUE",
    },
    Table {
        name: "deactivations",
        columns: &["id", "tenant_id", "subject_kind", "subject_id", "reason", "at"],
        order: "id",
        booleans: &[],
        tenant_column: Some(1),
        only: "TRUE",
    },
    Table {
        name: "entities",
        columns: &["type", "id", "json"],
        order: "type, id",
        booleans: &[],
        tenant_column: None,
        only: "TRUE",
    },
];

/// One value of a copied row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Text(String),
}

impl Table {
    /// `SELECT cols FROM t WHERE only ORDER BY order LIMIT ? OFFSET ?` in the
    /// dialect's placeholders (`?1` / `$1`).
    pub fn select_sql(&self, placeholder: &str) -> String {
        format!(
            "SELECT {} FROM {} WHERE {} ORDER BY {} LIMIT {p}1 OFFSET {p}2",
            self.columns.join(", "),
            self.name,
            self.only,
            self.order,
            p = placeholder
        )
    }

    /// `INSERT INTO t (cols) VALUES (…)` in the dialect's placeholders.
    pub fn insert_sql(&self, placeholder: &str) -> String {
        let values: Vec<String> = (1..=self.columns.len())
            .map(|i| format!("{placeholder}{i}"))
            .collect();
        format!(
            "INSERT INTO {} ({}) VALUES ({})",
            self.name,
            self.columns.join(", "),
            values.join(", ")
        )
    }
}

/// Calls `$m!` with every method of [`Conn`] (name, arguments, result), for
/// implementations that treat them all alike (delegation, refusal).
macro_rules! conn_methods {
    ($m:ident) => {
        $m! {
    account(id: &str) -> Option<AccountRow>;
    tenant(id: &str) -> Option<TenantRow>;
    account_of_tenant(t: &str) -> Option<String>;
    tenants_of_account(a: &str) -> Vec<TenantRow>;
    find_tenants(x: &str, a: &str, n: usize) -> Vec<TenantRow>;
    tenant_facts(id: &str, now: i64) -> Option<TenantFacts>;
    user(id: &str) -> Option<UserRow>;
    users_of_tenant(t: &str) -> Vec<UserRow>;
    role(t: &str, n: &str) -> Option<RoleRow>;
    roles_of_tenant(t: &str) -> Vec<RoleRow>;
    operator(id: &str) -> Option<OperatorRow>;
    operators_of_tenant(t: &str) -> Vec<OperatorRow>;
    operator_exists(id: &str) -> bool;
    operator_number_taken(t: &str, n: &str) -> bool;
    subscription(n: i64) -> Option<SubscriptionRow>;
    subscriptions_of_tenant(t: &str) -> Vec<SubscriptionRow>;
    tenants_with_ends_between(a: i64, b: i64) -> Vec<String>;
    user_with_role(id: &str) -> Option<UserWithRole>;
    operator_with_account(id: &str) -> Option<(OperatorRow, Option<String>)>;
    insert_account(a: &AccountRow) -> ();
    insert_tenant(t: &TenantRow) -> ();
    insert_hub(t: &str, h: &HubRow) -> ();
    insert_subscription(s: &SubscriptionRow) -> i64;
    set_subscription_paid(n: i64, at: i64) -> ();
    set_subscription_term(n: i64, e: i64, q: i64) -> ();
    insert_role(t: &str, r: &RoleRow) -> ();
    insert_user(u: &UserRow) -> ();
    set_user_active(id: &str, a: bool) -> ();
    set_user_role(id: &str, r: &str) -> ();
    set_license(id: &str, at: Option<i64>) -> ();
    insert_operator(o: &OperatorRow) -> ();
    set_operator_active(id: &str, a: bool) -> ();
    link_operator(id: &str, u: &str, n: &str) -> ();
    insert_production(o: &str, at: i64) -> i64;
    insert_deactivation(t: &str, k: &str, s: &str, r: &str, at: i64) -> ();
    entity_json(ty: &str, id: &str) -> Option<String>;
    put_entity(ty: &str, id: &str, j: &str) -> ();
    delete_entity(ty: &str, id: &str) -> bool;
    entities_page(ty: Option<&str>, a: Option<(&str, &str)>, l: usize) -> Vec<(String, String, String)>;
    entity_count() -> i64;
    candidates(ty: &str, l: bool, w: Within<'_>, a: &str, n: usize) -> Vec<String>;
    ping() -> ();
    swept_until(now: i64) -> i64;
    set_swept_until(at: i64) -> ();
    dump(table: &Table, offset: i64, limit: i64) -> Vec<Vec<Cell>>;
    load(table: &Table, rows: &[Vec<Cell>]) -> ();
    after_load() -> ();
    count_rows(table: &Table) -> i64;
}
    };
}
pub(crate) use conn_methods;

/// Implements [`Conn`] for a guard by handing every call to what it derefs to.
macro_rules! delegate {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        impl Conn for Reader<'_> {
            $(fn $name(&self, $($arg: $ty),*) -> Result<$ret, StoreError> {
                (**self).$name($($arg),*)
            })*
        }
    };
}

conn_methods!(delegate);

/// Reads go straight through; every write records what it changes first.
macro_rules! reads_through {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        $(fn $name(&self, $($arg: $ty),*) -> Result<$ret, StoreError> {
            self.conn.$name($($arg),*)
        })*
    };
}

impl Conn for Tx<'_> {
    reads_through! {
        account(id: &str) -> Option<AccountRow>;
        tenant(id: &str) -> Option<TenantRow>;
        account_of_tenant(t: &str) -> Option<String>;
        tenants_of_account(a: &str) -> Vec<TenantRow>;
        find_tenants(x: &str, a: &str, n: usize) -> Vec<TenantRow>;
        tenant_facts(id: &str, now: i64) -> Option<TenantFacts>;
        user(id: &str) -> Option<UserRow>;
        users_of_tenant(t: &str) -> Vec<UserRow>;
        role(t: &str, n: &str) -> Option<RoleRow>;
        roles_of_tenant(t: &str) -> Vec<RoleRow>;
        operator(id: &str) -> Option<OperatorRow>;
        operators_of_tenant(t: &str) -> Vec<OperatorRow>;
        operator_exists(id: &str) -> bool;
        operator_number_taken(t: &str, n: &str) -> bool;
        subscription(n: i64) -> Option<SubscriptionRow>;
        subscriptions_of_tenant(t: &str) -> Vec<SubscriptionRow>;
        tenants_with_ends_between(a: i64, b: i64) -> Vec<String>;
        user_with_role(id: &str) -> Option<UserWithRole>;
        operator_with_account(id: &str) -> Option<(OperatorRow, Option<String>)>;
        entity_json(ty: &str, id: &str) -> Option<String>;
        entities_page(ty: Option<&str>, a: Option<(&str, &str)>, l: usize) -> Vec<(String, String, String)>;
        entity_count() -> i64;
        candidates(ty: &str, l: bool, w: Within<'_>, a: &str, n: usize) -> Vec<String>;
        ping() -> ();
        swept_until(now: i64) -> i64;
        set_swept_until(at: i64) -> ();
        dump(table: &Table, offset: i64, limit: i64) -> Vec<Vec<Cell>>;
        after_load() -> ();
        count_rows(table: &Table) -> i64;
    }

    fn insert_account(&self, a: &AccountRow) -> Result<(), StoreError> {
        self.touch(scope::account(&a.id));
        self.conn.insert_account(a)
    }

    fn insert_tenant(&self, t: &TenantRow) -> Result<(), StoreError> {
        self.touch_tenant(&t.id);
        self.touch(scope::account(&t.account_id));
        self.conn.insert_tenant(t)
    }

    fn insert_hub(&self, tenant: &str, hub: &HubRow) -> Result<(), StoreError> {
        self.touch_tenant(tenant);
        self.conn.insert_hub(tenant, hub)
    }

    fn insert_subscription(&self, s: &SubscriptionRow) -> Result<i64, StoreError> {
        self.touch_tenant(&s.tenant_id);
        self.conn.insert_subscription(s)
    }

    fn set_subscription_paid(&self, number: i64, at: i64) -> Result<(), StoreError> {
        self.tenant_of_subscription(number)?;
        self.conn.set_subscription_paid(number, at)
    }

    fn set_subscription_term(&self, number: i64, ends_at: i64, quantity: i64) -> Result<(), StoreError> {
        self.tenant_of_subscription(number)?;
        self.conn.set_subscription_term(number, ends_at, quantity)
    }

    fn insert_role(&self, tenant: &str, role: &RoleRow) -> Result<(), StoreError> {
        self.touch_tenant(tenant);
        self.conn.insert_role(tenant, role)
    }

    fn insert_user(&self, u: &UserRow) -> Result<(), StoreError> {
        self.touch_tenant(&u.tenant_id);
        self.conn.insert_user(u)
    }

    fn set_user_active(&self, id: &str, active: bool) -> Result<(), StoreError> {
        self.tenant_of_user(id)?;
        self.conn.set_user_active(id, active)
    }

    fn set_user_role(&self, id: &str, role: &str) -> Result<(), StoreError> {
        self.tenant_of_user(id)?;
        self.conn.set_user_role(id, role)
    }

    fn set_license(&self, id: &str, at: Option<i64>) -> Result<(), StoreError> {
        self.tenant_of_user(id)?;
        self.conn.set_license(id, at)
    }

    fn insert_operator(&self, o: &OperatorRow) -> Result<(), StoreError> {
        self.touch_tenant(&o.tenant_id);
        self.conn.insert_operator(o)
    }

    fn set_operator_active(&self, id: &str, active: bool) -> Result<(), StoreError> {
        self.tenant_of_operator(id)?;
        self.conn.set_operator_active(id, active)
    }

    fn link_operator(&self, id: &str, user: &str, name: &str) -> Result<(), StoreError> {
        self.tenant_of_operator(id)?;
        self.conn.link_operator(id, user, name)
    }

    fn insert_production(&self, operator: &str, at: i64) -> Result<i64, StoreError> {
        self.tenant_of_operator(operator)?;
        self.conn.insert_production(operator, at)
    }

    fn insert_deactivation(
        &self,
        tenant: &str,
        subject_kind: &str,
        subject_id: &str,
        reason: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        self.touch_tenant(tenant);
        self.conn
            .insert_deactivation(tenant, subject_kind, subject_id, reason, at)
    }

    fn put_entity(&self, ty: &str, id: &str, json: &str) -> Result<(), StoreError> {
        self.touch(scope::GENERIC.to_string());
        self.conn.put_entity(ty, id, json)
    }

    fn delete_entity(&self, ty: &str, id: &str) -> Result<bool, StoreError> {
        self.touch(scope::GENERIC.to_string());
        self.conn.delete_entity(ty, id)
    }

    fn load(&self, table: &Table, rows: &[Vec<Cell>]) -> Result<(), StoreError> {
        if table.name == "entities" {
            self.touch(scope::GENERIC.to_string());
        }
        if let Some(column) = table.tenant_column {
            for row in rows {
                if let Some(Cell::Text(t)) = row.get(column) {
                    self.touch_tenant(t);
                }
            }
        }
        if table.name == "accounts" {
            for row in rows {
                if let Some(Cell::Text(a)) = row.first() {
                    self.touch(scope::account(a));
                }
            }
        }
        self.conn.load(table, rows)
    }
}

/// Where the data lives, as `--db` / `TURNSTILE_DB` name it: a path or
/// `sqlite:PATH` (the embedded default), or a `postgres://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Location {
    /// Reads `--db`: `postgres://…` or `postgresql://…` is PostgreSQL;
    /// `sqlite:PATH` or a plain path is a SQLite file.
    pub fn parse(db: &str) -> Result<Self, String> {
        let trimmed = db.trim();
        if trimmed.is_empty() {
            return Err("the database location is empty".into());
        }
        if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
            return Ok(Location::Postgres(trimmed.to_string()));
        }
        if let Some(path) = trimmed
            .strip_prefix("sqlite://")
            .or_else(|| trimmed.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err("`sqlite:` needs a file path, e.g. `sqlite:./turnstile.db`".into());
            }
            return Ok(Location::Sqlite(PathBuf::from(path)));
        }
        if let Some((scheme, _)) = trimmed.split_once("://") {
            return Err(format!(
                "`{scheme}://` is not a database this service speaks: give a file path, `sqlite:PATH` or a `postgres://` URL"
            ));
        }
        Ok(Location::Sqlite(PathBuf::from(trimmed)))
    }

    /// The backend's name, for health and metrics.
    pub fn backend(&self) -> &'static str {
        match self {
            Location::Sqlite(_) => "sqlite",
            Location::Postgres(_) => "postgres",
        }
    }

    /// How to name it in messages: the path, or the URL without its password.
    pub fn display(&self) -> String {
        match self {
            Location::Sqlite(p) => p.display().to_string(),
            Location::Postgres(url) => postgres::redact(url),
        }
    }
}

impl From<PathBuf> for Location {
    fn from(p: PathBuf) -> Self {
        Location::Sqlite(p)
    }
}

impl From<&Path> for Location {
    fn from(p: &Path) -> Self {
        Location::Sqlite(p.to_path_buf())
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display())
    }
}

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    backend: Arc<Backend>,
    shared: Arc<Shared>,
}

/// The backends, each in its own module.
enum Backend {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

/// What every backend keeps up to date for the caches above it.
pub(crate) struct Shared {
    /// Change counters per scope, for caches built on top of the store.
    pub(crate) generations: Generations,
    /// The revision of the data this node has seen: the number of committed
    /// write transactions (persisted in the database, shared by every node).
    pub(crate) data_revision: AtomicU64,
    pub(crate) location: Location,
}

impl Shared {
    fn new(location: Location, revision: u64) -> Arc<Self> {
        Arc::new(Self {
            generations: Generations::default(),
            data_revision: AtomicU64::new(revision),
            location,
        })
    }

    /// Records a revision committed here or seen from another node: the
    /// counter only moves forward.
    pub(crate) fn advance(&self, revision: u64) {
        self.data_revision.fetch_max(revision, Ordering::SeqCst);
    }
}

/// A job for a writer: runs inside the write transaction (in a savepoint of
/// its own on SQLite) and returns whether it succeeded and what to do once the
/// transaction is committed (or not).
pub(crate) type Job = Box<dyn FnOnce(&dyn Conn, &mut Vec<String>) -> (bool, Completion) + Send>;
/// Tells a job's caller how its transaction ended: the revision it committed.
pub(crate) type Completion = Box<dyn FnOnce(Result<u64, StoreError>) + Send>;

/// Change counters: each scope (a tenant, an account, the generic entities)
/// carries the value of a global counter at its last committed change, so a cache
/// entry built before that change can tell it is stale. Each scope's counter is
/// a shared cell: a cache entry keeps its cell and checks it with one atomic load.
#[derive(Default)]
pub struct Generations {
    counter: AtomicU64,
    scopes: RwLock<HashMap<String, Arc<AtomicU64>>>,
}

impl Generations {
    /// The generation of `scope` now.
    pub fn get(&self, scope: &str) -> u64 {
        self.cell(scope).load(Ordering::SeqCst)
    }

    /// The counter cell of `scope` (created at 0 if the scope never changed).
    pub fn cell(&self, scope: &str) -> Arc<AtomicU64> {
        let found = match self.scopes.read() {
            Ok(map) => map.get(scope).cloned(),
            Err(poisoned) => poisoned.into_inner().get(scope).cloned(),
        };
        if let Some(c) = found {
            return c;
        }
        let mut map = match self.scopes.write() {
            Ok(map) => map,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.entry(scope.to_string()).or_default().clone()
    }

    /// The global change counter now: an entry built from rows read after this
    /// call is fresh while every scope it depends on is at or below it.
    pub fn current(&self) -> u64 {
        self.counter.load(Ordering::SeqCst)
    }

    /// Marks `scopes` changed (by a commit here or on another node).
    pub(crate) fn bump(&self, scopes: &[String]) {
        if scopes.is_empty() {
            return;
        }
        let value = self.counter.fetch_add(1, Ordering::SeqCst) + 1;
        let mut map = match self.scopes.write() {
            Ok(map) => map,
            Err(poisoned) => poisoned.into_inner(),
        };
        for s in scopes {
            map.entry(s.clone()).or_default().store(value, Ordering::SeqCst);
        }
    }

    /// Marks every scope changed: after a gap in what this node heard from the
    /// others, nothing cached can be trusted.
    pub(crate) fn bump_all(&self) {
        let value = self.counter.fetch_add(1, Ordering::SeqCst) + 1;
        let map = match self.scopes.read() {
            Ok(map) => map,
            Err(poisoned) => poisoned.into_inner(),
        };
        for cell in map.values() {
            cell.store(value, Ordering::SeqCst);
        }
    }
}

/// The write transaction as a job sees it: the connection and the scopes the
/// job changed.
///
/// Every write made through it records the cache scopes it changes (the
/// tenant a row belongs to, its account, the generic entities), so no caller
/// can forget to: the scopes are marked stale on this node when the
/// transaction commits, and on every other node when they hear of it.
pub struct Tx<'c> {
    conn: &'c dyn Conn,
    touched: std::cell::RefCell<Vec<String>>,
}

impl<'c> Tx<'c> {
    pub(crate) fn new(conn: &'c dyn Conn) -> Self {
        Self {
            conn,
            touched: std::cell::RefCell::new(Vec::new()),
        }
    }

    /// Records that this job changed `scope` (see [`scope`]).
    fn touch(&self, scope: String) {
        let mut touched = self.touched.borrow_mut();
        if !touched.contains(&scope) {
            touched.push(scope);
        }
    }

    fn touch_tenant(&self, tenant: &str) {
        self.touch(scope::tenant(tenant));
    }

    /// The tenant of a user, an operator or a subscription about to change.
    fn tenant_of_user(&self, id: &str) -> Result<(), StoreError> {
        if let Some(u) = self.conn.user(id)? {
            self.touch_tenant(&u.tenant_id);
        }
        Ok(())
    }

    fn tenant_of_operator(&self, id: &str) -> Result<(), StoreError> {
        if let Some((o, _)) = self.conn.operator_with_account(id)? {
            self.touch_tenant(&o.tenant_id);
        }
        Ok(())
    }

    fn tenant_of_subscription(&self, number: i64) -> Result<(), StoreError> {
        if let Some(s) = self.conn.subscription(number)? {
            self.touch_tenant(&s.tenant_id);
        }
        Ok(())
    }

    pub(crate) fn into_touched(self) -> Vec<String> {
        self.touched.into_inner()
    }
}

#[cfg(test)]
impl Tx<'_> {
    /// Marks a scope changed without writing (store tests only).
    pub(crate) fn touch_for_test(&self, scope: String) {
        self.touch(scope);
    }
}

impl<'c> std::ops::Deref for Tx<'c> {
    type Target = dyn Conn + 'c;
    fn deref(&self) -> &Self::Target {
        self.conn
    }
}

/// Cache scopes: what a change invalidates.
pub mod scope {
    pub fn tenant(id: &str) -> String {
        format!("t:{id}")
    }
    pub fn account(id: &str) -> String {
        format!("a:{id}")
    }
    pub const GENERIC: &str = "generic";
}

/// What the store can say about itself, for health and metrics.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Status {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// The path, or the URL without its password.
    pub location: String,
    /// The data revision this node has seen.
    pub data_revision: u64,
    /// Milliseconds since this node last heard from the database that its
    /// caches are current (0 on SQLite, where this node makes every change).
    pub staleness_ms: u64,
    /// Whether the change feed from the other nodes is connected (always
    /// true on SQLite).
    pub listening: bool,
}

tokio::task_local! {
    /// The highest revision committed by the writes of the task running in
    /// [`track_revision`].
    static COMMITTED: Arc<AtomicU64>;
}

/// Runs `f`, and answers with the highest data revision any write it made
/// committed (0: none): what an HTTP answer reports to its caller.
pub async fn track_revision<F: std::future::Future>(f: F) -> (F::Output, u64) {
    let cell = Arc::new(AtomicU64::new(0));
    let out = COMMITTED.scope(cell.clone(), f).await;
    (out, cell.load(Ordering::SeqCst))
}

impl Store {
    /// Opens (creating and migrating if needed) the SQLite database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_at(&Location::Sqlite(path.to_path_buf()))
    }

    /// Opens the database at `location`, creating and migrating it if needed.
    pub fn open_at(location: &Location) -> Result<Self, StoreError> {
        Self::open_with(location, &Options::default())
    }

    /// [`Store::open_at`] with options.
    pub fn open_with(location: &Location, options: &Options) -> Result<Self, StoreError> {
        let (backend, shared) = match location {
            Location::Sqlite(path) => {
                let (b, shared) = sqlite::Sqlite::open(path, location.clone())?;
                (Backend::Sqlite(b), shared)
            }
            Location::Postgres(url) => {
                let (b, shared) = postgres::Postgres::open(url, location.clone(), options)?;
                (Backend::Postgres(b), shared)
            }
        };
        let store = Store {
            backend: Arc::new(backend),
            shared,
        };
        // Read once now, so a database that cannot be read fails start-up
        // (PostgreSQL has read its revision already, on a thread of its own).
        if matches!(&*store.backend, Backend::Sqlite(_)) {
            store.read(|c| c.ping())?;
        }
        Ok(store)
    }

    /// Where the data lives.
    pub fn location(&self) -> &Location {
        &self.shared.location
    }

    /// The data revision this node has seen: committed write transactions,
    /// counted by the database (every node counts the same ones).
    pub fn data_revision(&self) -> u64 {
        self.shared.data_revision.load(Ordering::SeqCst)
    }

    /// Change counters for caches.
    pub fn generations(&self) -> &Generations {
        &self.shared.generations
    }

    /// The backend's state, for health and metrics.
    pub fn status(&self) -> Status {
        let (staleness_ms, listening) = match &*self.backend {
            Backend::Sqlite(_) => (0, true),
            Backend::Postgres(p) => (p.staleness_ms(), p.listening()),
        };
        Status {
            backend: self.shared.location.backend(),
            location: self.shared.location.display(),
            data_revision: self.data_revision(),
            staleness_ms,
            listening,
        }
    }

    /// How long ago the database last confirmed this node's caches current,
    /// in milliseconds (0 on SQLite). Cheap: decisions ask it every time.
    pub fn staleness_ms(&self) -> u64 {
        match &*self.backend {
            Backend::Sqlite(_) => 0,
            Backend::Postgres(p) => p.staleness_ms(),
        }
    }

    /// Waits until this node has seen data revision `revision` (its caches
    /// know every change up to it), at most `timeout`. Blocking.
    pub fn wait_for_revision(&self, revision: u64, timeout: std::time::Duration) -> Result<bool, StoreError> {
        if self.data_revision() >= revision {
            return Ok(true);
        }
        match &*self.backend {
            Backend::Sqlite(_) => Ok(self.data_revision() >= revision),
            Backend::Postgres(p) => p.wait_for_revision(revision, timeout),
        }
    }

    /// Runs `f` on a read connection. Blocking: call it from a blocking
    /// context (`spawn_blocking`), never directly on an async worker.
    pub fn read<T>(&self, f: impl FnOnce(&dyn Conn) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let reader = self.reader()?;
        f(&*reader)
    }

    /// A read connection held until the guard is dropped, for callers that
    /// read several rows in a row (a decision's slice). Blocking, like [`Store::read`].
    pub fn reader(&self) -> Result<Reader<'_>, StoreError> {
        match &*self.backend {
            Backend::Sqlite(s) => Ok(Reader::Sqlite(s.reader()?)),
            Backend::Postgres(p) => Ok(Reader::Postgres(Box::new(p.reader()?))),
        }
    }

    /// Runs `f` in a write transaction. It is acknowledged (the future resolves
    /// with `Ok`) only after the transaction holding it is committed; if `f` fails,
    /// its changes are rolled back and nothing else is affected.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut Tx<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.write_with_revision(f).await.map(|(v, _)| v)
    }

    /// [`Store::write`], answering with the data revision the change committed
    /// (for read-your-writes across nodes).
    pub async fn write_with_revision<T, E, F>(&self, f: F) -> Result<(T, u64), E>
    where
        F: FnOnce(&mut Tx<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(f, tx)?;
        let out = rx.await.map_err(|_| E::from(StoreError::Closed))?;
        if let Ok((_, revision)) = &out {
            let _ = COMMITTED.try_with(|c| c.fetch_max(*revision, Ordering::SeqCst));
        }
        out
    }

    /// [`Store::write`] for callers outside the async runtime (CLI, fixtures).
    pub fn write_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut Tx<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(f, tx)?;
        rx.blocking_recv()
            .map_err(|_| E::from(StoreError::Closed))?
            .map(|(v, _)| v)
    }

    fn submit<T, E, F>(&self, f: F, reply: tokio::sync::oneshot::Sender<Result<(T, u64), E>>) -> Result<(), E>
    where
        F: FnOnce(&mut Tx<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let job: Job = Box::new(move |conn, touched| {
            let mut t = Tx::new(conn);
            let result = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut t))) {
                Ok(r) => r,
                Err(_) => Err(E::from(StoreError::Panicked)),
            };
            let ok = result.is_ok();
            if ok {
                touched.append(&mut t.into_touched());
            }
            let done: Completion = Box::new(move |commit| {
                let out = match (result, commit) {
                    (Ok(v), Ok(revision)) => Ok((v, revision)),
                    (Ok(_), Err(e)) => Err(E::from(e)),
                    (Err(e), _) => Err(e),
                };
                let _ = reply.send(out);
            });
            (ok, done)
        });
        match &*self.backend {
            Backend::Sqlite(s) => s.submit(job).map_err(E::from),
            Backend::Postgres(p) => p.submit(job).map_err(E::from),
        }
    }

    /// Stops accepting writes, lets the writer finish what is queued, and waits
    /// for it. Writes submitted afterwards fail with [`StoreError::Closed`].
    pub fn close(&self) {
        match &*self.backend {
            Backend::Sqlite(s) => s.close(),
            Backend::Postgres(p) => p.close(),
        }
    }
}

/// How a store is run, beyond where it is.
#[derive(Debug, Clone)]
pub struct Options {
    /// Connections in the pool (PostgreSQL): readers and writers together.
    pub pool_size: u32,
    /// How long one statement may run before the database cancels it.
    pub statement_timeout: std::time::Duration,
    /// How long a request may wait for a connection (PostgreSQL): the
    /// database gone or every connection busy, it then answers 503.
    pub connect_timeout: std::time::Duration,
    /// How often a node polls the revision table when its change feed is
    /// down (and, more rarely, when it is up, to catch a lost notification).
    pub poll_every: std::time::Duration,
    /// A name for this node in logs, health and the database's view of it.
    pub node_id: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            pool_size: 12,
            statement_timeout: std::time::Duration::from_secs(5),
            connect_timeout: std::time::Duration::from_secs(5),
            poll_every: std::time::Duration::from_millis(500),
            node_id: default_node_id(),
        }
    }
}

/// The host name and process id: unique enough among a deployment's nodes.
pub fn default_node_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".into());
    format!("{host}-{}", std::process::id())
}

/// A read connection; goes back to its pool when dropped.
pub enum Reader<'s> {
    Sqlite(sqlite::Reader<'s>),
    Postgres(Box<postgres::Reader>),
}

impl std::ops::Deref for Reader<'_> {
    type Target = dyn Conn;
    fn deref(&self) -> &Self::Target {
        match self {
            Reader::Sqlite(r) => &**r,
            Reader::Postgres(r) => &***r,
        }
    }
}

#[cfg(test)]
mod tests;
