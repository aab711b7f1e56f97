//! copy: the ledger's tables as a copy between databases sees them
//! (`turnstile migrate-data`): names, columns, order, and one value of a row.

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
    pub(crate) fn select_sql(&self, placeholder: &str) -> String {
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
    pub(crate) fn insert_sql(&self, placeholder: &str) -> String {
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
