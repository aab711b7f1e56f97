//! The ledger's Cedar entities: built from ledger rows, with the facts the
//! policies read (seat counts, states, dates) computed here. These are facts,
//! never decisions.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::OnceLock;

use cedar_policy::{Entity, EntityId, EntityTypeName, EntityUid, RestrictedExpression};
use rusqlite::Connection;

use crate::store::ledger::{
    self as rows, CATEGORIES, Level, OperatorRow, RoleRow, Seats, TenantFacts, UserRow,
};
use crate::store::{StoreError, scope};

/// The entity types the ledger can build.
pub const TYPES: [&str; 6] = [
    "Account",
    "Tenant",
    "Subscription",
    "Category",
    "User",
    "Operator",
];

/// An entity built from the ledger, with what a cache needs to know about it.
#[derive(Debug, Clone)]
pub struct Built {
    pub entity: Entity,
    /// The change scope whose writes make it stale.
    pub scope: String,
    /// The tenant the entity belongs to (a tenant belongs to itself).
    pub tenant: Option<String>,
    /// Until when the facts hold without any write (a subscription starting or
    /// ending changes a tenant's capacity).
    pub valid_until: Option<i64>,
}

fn type_name(name: &'static str) -> EntityTypeName {
    static NAMES: OnceLock<HashMap<&'static str, EntityTypeName>> = OnceLock::new();
    let names = NAMES.get_or_init(|| {
        TYPES
            .iter()
            .filter_map(|t| EntityTypeName::from_str(t).ok().map(|n| (*t, n)))
            .collect()
    });
    #[allow(clippy::expect_used)] // every name is one of TYPES, all valid identifiers (tested)
    names.get(name).cloned().expect("a ledger type name")
}

/// `Ty::"id"` for a ledger type.
pub fn uid(ty: &'static str, id: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(type_name(ty), EntityId::new(id))
}

fn string(s: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(s.to_string())
}

fn record(pairs: Vec<(&str, RestrictedExpression)>) -> Result<RestrictedExpression, StoreError> {
    RestrictedExpression::new_record(pairs.into_iter().map(|(k, v)| (k.to_string(), v)))
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn entity(
    uid: EntityUid,
    attrs: Vec<(&str, RestrictedExpression)>,
    parents: HashSet<EntityUid>,
) -> Result<Entity, StoreError> {
    let attrs: HashMap<String, RestrictedExpression> =
        attrs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    Entity::new(uid, attrs, parents).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn seats(s: Seats) -> Result<RestrictedExpression, StoreError> {
    record(vec![
        ("total", RestrictedExpression::new_long(s.total)),
        ("used", RestrictedExpression::new_long(s.used)),
        ("free", RestrictedExpression::new_long(s.free())),
    ])
}

/// The Tenant entity: its facts as the policies read them.
pub fn tenant_entity(f: &TenantFacts) -> Result<Entity, StoreError> {
    let t = &f.tenant;
    let mut attrs = vec![
        ("name", string(&t.name)),
        ("created_at", RestrictedExpression::new_long(t.created_at)),
        ("provisioned", RestrictedExpression::new_bool(t.hub.is_some())),
        (
            "seats",
            record(vec![
                ("user", seats(f.user)?),
                ("shop_floor", seats(f.shop_floor)?),
            ])?,
        ),
        ("active_admins", RestrictedExpression::new_long(f.active_admins)),
    ];
    if let Some(days) = t.trial_days {
        attrs.push(("trial_days", RestrictedExpression::new_long(days)));
    }
    if let Some(due) = f.earliest_unpaid_due_at {
        attrs.push(("earliest_unpaid_due_at", RestrictedExpression::new_long(due)));
    }
    entity(
        uid("Tenant", &t.id),
        attrs,
        HashSet::from([uid("Account", &t.account_id)]),
    )
}

fn role_record(role: Option<&RoleRow>, name: &str) -> Result<RestrictedExpression, StoreError> {
    let at = |level: Level| {
        RestrictedExpression::new_set(
            role.into_iter()
                .flat_map(|r| r.levels.iter())
                .filter(move |(_, l)| **l == level)
                .map(|(c, _)| RestrictedExpression::new_entity_uid(uid("Category", c))),
        )
    };
    record(vec![
        ("name", string(name)),
        ("view", at(Level::View)),
        ("edit", at(Level::Edit)),
        ("approve", at(Level::Approve)),
    ])
}

/// The parents of an entity of `tenant` (of `account`): both, so that every
/// ledger entity carries its whole ancestry and a slice needs no
/// transitive-closure pass.
fn in_tenant(tenant: &str, account: Option<&str>) -> HashSet<EntityUid> {
    let mut parents = HashSet::from([uid("Tenant", tenant)]);
    if let Some(a) = account {
        parents.insert(uid("Account", a));
    }
    parents
}

/// The User entity (`account`: its tenant's account).
pub fn user_entity(u: &UserRow, role: Option<&RoleRow>, account: Option<&str>) -> Result<Entity, StoreError> {
    entity(
        uid("User", &u.id),
        vec![
            ("name", string(&u.name)),
            ("email", string(&u.email)),
            ("active", RestrictedExpression::new_bool(u.active)),
            (
                "licensed",
                RestrictedExpression::new_bool(u.licensed_at.is_some()),
            ),
            ("role", role_record(role, &u.role)?),
            (
                "has_own_operator",
                RestrictedExpression::new_bool(u.own_operator.is_some()),
            ),
        ],
        in_tenant(&u.tenant_id, account),
    )
}

/// The Operator entity (`account`: its tenant's account).
pub fn operator_entity(o: &OperatorRow, account: Option<&str>) -> Result<Entity, StoreError> {
    let mut attrs = vec![
        ("number", string(&o.number)),
        ("name", string(&o.name)),
        ("active", RestrictedExpression::new_bool(o.active)),
        (
            "kind",
            string(if o.owner_user_id.is_some() { "user" } else { "seat" }),
        ),
    ];
    if let Some(owner) = &o.owner_user_id {
        attrs.push(("owner", RestrictedExpression::new_entity_uid(uid("User", owner))));
    }
    entity(uid("Operator", &o.id), attrs, in_tenant(&o.tenant_id, account))
}

/// Builds the entity `ty::id` from the ledger, as it stands at `now`.
pub fn load(conn: &Connection, ty: &str, id: &str, now: i64) -> Result<Option<Built>, StoreError> {
    let built = match ty {
        "Account" => rows::account(conn, id)?
            .map(|a| -> Result<Built, StoreError> {
                Ok(Built {
                    entity: entity(
                        uid("Account", &a.id),
                        vec![("name", string(&a.name))],
                        HashSet::new(),
                    )?,
                    scope: scope::account(&a.id),
                    tenant: None,
                    valid_until: None,
                })
            })
            .transpose()?,
        "Tenant" => rows::tenant_facts(conn, id, now)?
            .map(|f| -> Result<Built, StoreError> {
                Ok(Built {
                    entity: tenant_entity(&f)?,
                    scope: scope::tenant(id),
                    tenant: Some(id.to_string()),
                    valid_until: f.next_change_at,
                })
            })
            .transpose()?,
        "User" => match rows::user(conn, id)? {
            Some(u) => {
                let role = rows::role(conn, &u.tenant_id, &u.role)?;
                let account = rows::account_of_tenant(conn, &u.tenant_id)?;
                Some(Built {
                    entity: user_entity(&u, role.as_ref(), account.as_deref())?,
                    scope: scope::tenant(&u.tenant_id),
                    tenant: Some(u.tenant_id),
                    valid_until: None,
                })
            }
            None => None,
        },
        "Operator" => rows::operator(conn, id)?
            .map(|o| -> Result<Built, StoreError> {
                let account = rows::account_of_tenant(conn, &o.tenant_id)?;
                Ok(Built {
                    entity: operator_entity(&o, account.as_deref())?,
                    scope: scope::tenant(&o.tenant_id),
                    tenant: Some(o.tenant_id.clone()),
                    valid_until: None,
                })
            })
            .transpose()?,
        "Subscription" => match id.parse::<i64>() {
            Ok(number) => rows::subscription(conn, number)?
                .map(|s| -> Result<Built, StoreError> {
                    let mut attrs = vec![
                        ("number", RestrictedExpression::new_long(s.number)),
                        ("kind", string(s.kind.as_str())),
                        ("quantity", RestrictedExpression::new_long(s.quantity)),
                        ("starts_at", RestrictedExpression::new_long(s.starts_at)),
                        ("ends_at", RestrictedExpression::new_long(s.ends_at)),
                        ("paid", RestrictedExpression::new_bool(s.paid_at.is_some())),
                    ];
                    if let Some(due) = s.payment_due_at {
                        attrs.push(("payment_due_at", RestrictedExpression::new_long(due)));
                    }
                    let account = rows::account_of_tenant(conn, &s.tenant_id)?;
                    Ok(Built {
                        entity: entity(
                            uid("Subscription", id),
                            attrs,
                            in_tenant(&s.tenant_id, account.as_deref()),
                        )?,
                        scope: scope::tenant(&s.tenant_id),
                        tenant: Some(s.tenant_id),
                        valid_until: None,
                    })
                })
                .transpose()?,
            Err(_) => None,
        },
        "Category" if CATEGORIES.contains(&id) => Some(Built {
            entity: Entity::new_no_attrs(uid("Category", id), HashSet::new()),
            scope: "static".into(),
            tenant: None,
            valid_until: None,
        }),
        _ => None,
    };
    Ok(built)
}

/// One entity of each ledger type, with every optional attribute set, to check
/// a schema against what the ledger builds.
pub fn samples() -> Vec<Entity> {
    use crate::store::ledger::{HubRow, TenantRow};
    let tenant = TenantRow {
        id: "t".into(),
        account_id: "a".into(),
        name: "T".into(),
        created_at: 0,
        trial_days: Some(30),
        hub: Some(HubRow {
            name: "h".into(),
            created_at: 0,
        }),
    };
    let facts = TenantFacts {
        tenant,
        user: Seats { total: 1, used: 0 },
        shop_floor: Seats { total: 1, used: 0 },
        has_shop_floor: true,
        earliest_unpaid_due_at: Some(0),
        active_admins: 1,
        next_change_at: None,
    };
    let user = UserRow {
        id: "u".into(),
        tenant_id: "t".into(),
        name: "U".into(),
        email: "u@example.com".into(),
        role: "admin".into(),
        active: true,
        licensed_at: Some(0),
        created_at: 0,
        own_operator: None,
    };
    let role = RoleRow {
        tenant_id: None,
        name: "admin".into(),
        levels: CATEGORIES
            .iter()
            .map(|c| (c.to_string(), Level::Approve))
            .collect(),
    };
    let operator = OperatorRow {
        id: "o".into(),
        tenant_id: "t".into(),
        number: "1".into(),
        name: "O".into(),
        owner_user_id: Some("u".into()),
        active: true,
        created_at: 0,
        latest_production_at: None,
        deactivation: None,
    };
    let mut out = Vec::new();
    out.extend(entity(
        uid("Account", "a"),
        vec![("name", string("A"))],
        HashSet::new(),
    ));
    out.extend(tenant_entity(&facts));
    out.extend(user_entity(&user, Some(&role), Some("a")));
    out.extend(operator_entity(&operator, Some("a")));
    out.push(Entity::new_no_attrs(uid("Category", "reports"), HashSet::new()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ledger_type_name_is_a_valid_cedar_type() {
        for t in TYPES {
            assert_eq!(type_name(t).to_string(), t);
        }
    }
}
