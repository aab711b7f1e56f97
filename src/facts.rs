//! facts: the read side. The ledger's Cedar entities, built from its rows with
//! the facts the policies read (seat counts, states, dates) computed here.
//! These are facts, never decisions; the ledger's operations (the write side)
//! and the slicer both read them from here, and this module depends on
//! neither.
//!
//! Entities are built directly as Cedar values (no expression to evaluate),
//! each carrying its whole ancestry (a user is in its tenant and, through it,
//! in the account), so a slice of them needs no transitive-closure pass.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;
use std::sync::{Mutex, OnceLock};

use cedar_policy::{Entity, EntityId, EntityTypeName, EntityUid};
use cedar_policy_core::ast::{Entity as CoreEntity, EntityUID, PartialValue, Value};
use smol_str::SmolStr;

use crate::store::rows::{CATEGORIES, Level, OperatorRow, Seats, TenantFacts, UserRow};
use crate::store::{Conn, StoreError, scope};

/// The entity types the ledger can build.
pub(crate) const TYPES: [&str; 6] = [
    "Account",
    "Tenant",
    "Subscription",
    "Category",
    "User",
    "Operator",
];

/// An entity built from the ledger, with what a cache needs to know about it.
#[derive(Debug, Clone)]
pub struct LedgerEntity {
    pub entity: CoreEntity,
    /// Every ancestor (direct or not).
    pub ancestors: Vec<EntityUid>,
    /// Entities its attributes point to (outside sets).
    pub refs: Vec<EntityUid>,
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

fn core(uid: &EntityUid) -> EntityUID {
    EntityUID::from(uid.clone())
}

fn string(s: &str) -> Value {
    Value::from(s)
}

fn record<'a>(pairs: impl IntoIterator<Item = (&'a str, Value)>) -> Value {
    Value::record(pairs.into_iter().map(|(k, v)| (SmolStr::new(k), v)), None)
}

fn seats(s: Seats) -> Value {
    record([
        ("total", Value::from(s.total)),
        ("used", Value::from(s.used)),
        ("free", Value::from(s.free())),
    ])
}

/// An entity with `attrs`, `parents` (direct) and `indirect` ancestors.
fn make(
    uid: &EntityUid,
    attrs: Vec<(&str, Value)>,
    parents: &[EntityUid],
    indirect: &[EntityUid],
) -> CoreEntity {
    CoreEntity::new_with_attr_partial_value(
        core(uid),
        attrs
            .into_iter()
            .map(|(k, v)| (SmolStr::new(k), PartialValue::Value(v))),
        indirect.iter().map(core).collect::<HashSet<_>>(),
        parents.iter().map(core).collect::<HashSet<_>>(),
        std::iter::empty(),
    )
}

fn account_core(id: &str, name: &str) -> CoreEntity {
    make(&uid("Account", id), vec![("name", string(name))], &[], &[])
}

fn tenant_core(f: &TenantFacts) -> CoreEntity {
    let t = &f.tenant;
    let mut attrs = vec![
        ("name", string(&t.name)),
        ("created_at", Value::from(t.created_at)),
        ("provisioned", Value::from(t.hub.is_some())),
        (
            "seats",
            record([("user", seats(f.user)), ("shop_floor", seats(f.shop_floor))]),
        ),
        ("active_admins", Value::from(f.active_admins)),
    ];
    if let Some(days) = t.trial_days {
        attrs.push(("trial_days", Value::from(days)));
    }
    if let Some(due) = f.earliest_unpaid_due_at {
        attrs.push(("earliest_unpaid_due_at", Value::from(due)));
    }
    make(
        &uid("Tenant", &t.id),
        attrs,
        &[uid("Account", &t.account_id)],
        &[],
    )
}

/// The Tenant entity: its facts as the policies read them.
pub(crate) fn tenant_entity(f: &TenantFacts) -> Result<Entity, StoreError> {
    Ok(Entity::from(tenant_core(f)))
}

/// A role as the policies read it: the categories at exactly each level.
fn role_value(name: &str, levels: Option<&BTreeMap<String, Level>>) -> Value {
    let at = |level: Level| {
        Value::set(
            levels
                .into_iter()
                .flat_map(|l| l.iter())
                .filter(move |(_, l)| **l == level)
                .map(|(c, _)| Value::from(core(&uid("Category", c)))),
            None,
        )
    };
    record([
        ("name", string(name)),
        ("view", at(Level::View)),
        ("edit", at(Level::Edit)),
        ("approve", at(Level::Approve)),
    ])
}

/// The role record for `name` with `levels` (JSON), parsed once per distinct
/// role; no levels stored (a role the tenant does not have): none. Levels
/// that do not parse are an error: data that could not be read never
/// yields an allow.
fn role_value_cached(name: &str, levels_json: Option<&str>) -> Result<Value, StoreError> {
    static ROLES: OnceLock<Mutex<HashMap<(String, String), Value>>> = OnceLock::new();
    let json = levels_json.unwrap_or("");
    let key = (name.to_string(), json.to_string());
    let cache = ROLES.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(v) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(v);
    }
    let levels = levels_json
        .map(|j| crate::store::rows::parse_levels(name, j))
        .transpose()?;
    let v = role_value(name, levels.as_ref());
    if let Ok(mut c) = cache.lock() {
        if c.len() > 4096 {
            c.clear();
        }
        c.insert(key, v.clone());
    }
    Ok(v)
}

fn user_core(u: &UserRow, role: Value, account: Option<&str>) -> CoreEntity {
    let indirect: Vec<EntityUid> = account.map(|a| uid("Account", a)).into_iter().collect();
    make(
        &uid("User", &u.id),
        vec![
            ("name", string(&u.name)),
            ("email", string(&u.email)),
            ("active", Value::from(u.active)),
            ("licensed", Value::from(u.licensed_at.is_some())),
            ("role", role),
            ("has_own_operator", Value::from(u.own_operator.is_some())),
        ],
        &[uid("Tenant", &u.tenant_id)],
        &indirect,
    )
}

fn operator_core(o: &OperatorRow, account: Option<&str>) -> CoreEntity {
    let mut attrs = vec![
        ("number", string(&o.number)),
        ("name", string(&o.name)),
        ("active", Value::from(o.active)),
        (
            "kind",
            string(if o.owner_user_id.is_some() { "user" } else { "seat" }),
        ),
    ];
    if let Some(owner) = &o.owner_user_id {
        attrs.push(("owner", Value::from(core(&uid("User", owner)))));
    }
    let indirect: Vec<EntityUid> = account.map(|a| uid("Account", a)).into_iter().collect();
    make(
        &uid("Operator", &o.id),
        attrs,
        &[uid("Tenant", &o.tenant_id)],
        &indirect,
    )
}

fn in_tenant(tenant: &str, account: Option<&str>) -> Vec<EntityUid> {
    let mut v = vec![uid("Tenant", tenant)];
    v.extend(account.map(|a| uid("Account", a)));
    v
}

/// Builds the entity `ty::id` from the ledger, as it stands at `now`.
pub fn load(conn: &dyn Conn, ty: &str, id: &str, now: i64) -> Result<Option<LedgerEntity>, StoreError> {
    let built = match ty {
        "Account" => conn.account(id)?.map(|a| LedgerEntity {
            entity: account_core(&a.id, &a.name),
            ancestors: Vec::new(),
            refs: Vec::new(),
            scope: scope::account(&a.id),
            tenant: None,
            valid_until: None,
        }),
        "Tenant" => conn.tenant_facts(id, now)?.map(|f| LedgerEntity {
            entity: tenant_core(&f),
            ancestors: vec![uid("Account", &f.tenant.account_id)],
            refs: Vec::new(),
            scope: scope::tenant(id),
            tenant: Some(id.to_string()),
            valid_until: f.next_change_at,
        }),
        "User" => match conn.user_with_role(id)? {
            None => None,
            Some((u, account, levels)) => {
                let role = role_value_cached(&u.role, levels.as_deref())?;
                Some(LedgerEntity {
                    entity: user_core(&u, role, account.as_deref()),
                    ancestors: in_tenant(&u.tenant_id, account.as_deref()),
                    refs: Vec::new(),
                    scope: scope::tenant(&u.tenant_id),
                    tenant: Some(u.tenant_id),
                    valid_until: None,
                })
            }
        },
        "Operator" => conn.operator_with_account(id)?.map(|(o, account)| LedgerEntity {
            entity: operator_core(&o, account.as_deref()),
            ancestors: in_tenant(&o.tenant_id, account.as_deref()),
            refs: o.owner_user_id.iter().map(|u| uid("User", u)).collect(),
            scope: scope::tenant(&o.tenant_id),
            tenant: Some(o.tenant_id.clone()),
            valid_until: None,
        }),
        "Subscription" => match id.parse::<i64>() {
            Ok(number) => match conn.subscription(number)? {
                Some(s) => {
                    let account = conn.account_of_tenant(&s.tenant_id)?;
                    let mut attrs = vec![
                        ("number", Value::from(s.number)),
                        ("kind", string(s.kind.as_str())),
                        ("quantity", Value::from(s.quantity)),
                        ("starts_at", Value::from(s.starts_at)),
                        ("ends_at", Value::from(s.ends_at)),
                        ("paid", Value::from(s.paid_at.is_some())),
                    ];
                    if let Some(due) = s.payment_due_at {
                        attrs.push(("payment_due_at", Value::from(due)));
                    }
                    let indirect: Vec<EntityUid> = account
                        .as_deref()
                        .map(|a| uid("Account", a))
                        .into_iter()
                        .collect();
                    Some(LedgerEntity {
                        entity: make(
                            &uid("Subscription", id),
                            attrs,
                            &[uid("Tenant", &s.tenant_id)],
                            &indirect,
                        ),
                        ancestors: in_tenant(&s.tenant_id, account.as_deref()),
                        refs: Vec::new(),
                        scope: scope::tenant(&s.tenant_id),
                        tenant: Some(s.tenant_id),
                        valid_until: None,
                    })
                }
                None => None,
            },
            Err(_) => None,
        },
        "Category" if CATEGORIES.contains(&id) => Some(LedgerEntity {
            entity: make(&uid("Category", id), Vec::new(), &[], &[]),
            ancestors: Vec::new(),
            refs: Vec::new(),
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
    use crate::store::rows::{HubRow, TenantRow};
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
    let levels: BTreeMap<String, Level> = CATEGORIES
        .iter()
        .map(|c| (c.to_string(), Level::Approve))
        .collect();
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
    vec![
        Entity::from(account_core("a", "A")),
        Entity::from(tenant_core(&facts)),
        Entity::from(user_core(&user, role_value("admin", Some(&levels)), Some("a"))),
        Entity::from(operator_core(&operator, Some("a"))),
        Entity::from(make(&uid("Category", "reports"), Vec::new(), &[], &[])),
    ]
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

    #[test]
    fn a_user_entity_carries_its_whole_ancestry() {
        let e = &samples()[2];
        let (_, _, ancestors) = e.clone().into_inner();
        let names: HashSet<String> = ancestors.iter().map(|a| a.to_string()).collect();
        assert!(
            names.contains(r#"Tenant::"t""#) && names.contains(r#"Account::"a""#),
            "{names:?}"
        );
    }
}
