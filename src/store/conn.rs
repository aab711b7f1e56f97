//! conn: the one interface every backend implements, [`Conn`]: every query
//! the crate asks of a database. The macros list its methods once, for the
//! implementations that treat them all alike.

use super::candidates::Within;
use super::rows::{
    AccountRow, HubRow, OperatorRow, RoleRow, SubscriptionRow, TenantFacts, TenantRow, UserRow, UserWithRole,
};
use super::{Cell, Reader, StoreError, Table};

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

/// Calls `$m!` with the methods of [`Conn`] (name, arguments, result) that
/// change no cached scope: the reads, and the upkeep a write transaction
/// passes straight through. `$m` expands to the methods' items, for
/// implementations that treat them all alike (delegation, refusal).
macro_rules! conn_untracked {
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
    };
}
pub(crate) use conn_untracked;

/// Calls `$m!` with the methods of [`Conn`] that change what a cache holds:
/// a write transaction records the scopes each one touches.
macro_rules! conn_tracked {
    ($m:ident) => {
        $m! {
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
            put_entity(ty: &str, id: &str, j: &str) -> ();
            delete_entity(ty: &str, id: &str) -> bool;
            load(table: &Table, rows: &[Vec<Cell>]) -> ();
        }
    };
}
pub(crate) use conn_tracked;

/// A guard's methods: every call handed to what it derefs to.
macro_rules! delegate {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        $(fn $name(&self, $($arg: $ty),*) -> Result<$ret, StoreError> {
            (**self).$name($($arg),*)
        })*
    };
}

impl Conn for Reader<'_> {
    conn_untracked!(delegate);
    conn_tracked!(delegate);
}
