//! A request ready for Cedar: the entities it loaded, its context built from the server's facts, the tenant it concerns; and the uids of its names.

use super::*;

/// Adds a request's subject or resource to the slice: as stored, overlaid with
/// its properties as the type's [`PropertyMode`] allows, or (unless the ledger
/// owns the type) built from its properties alone when it is not stored. An
/// unstored entity without properties is one with no attributes and no parents,
/// as Cedar sees an entity missing from its store; it is known when its type
/// declares no required attribute.
pub(super) fn root(
    slice: &mut crate::slice::SliceBuilder<'_>,
    pack: &PolicyPack,
    uid: &EntityUid,
    ty: &str,
    props: Option<&Map<String, Value>>,
    role: &str,
) -> Result<Option<Arc<crate::slice::CachedEntity>>, DecideError> {
    let mode = pack.property_mode(ty);
    Ok(match props {
        Some(props) => slice.root_with(uid, props, mode, &format!("{role}.properties"))?,
        None => match slice.root(uid)? {
            Some(found) => Some(found),
            None if mode == PropertyMode::Ledger => None,
            None => slice.root_with(uid, &Map::new(), mode, role)?,
        },
    })
}

/// A fact the server puts in the context.
pub(super) enum Fact {
    Long(i64),
    Entity(EntityUid),
    Datetime(String),
}

/// The context made of the server's facts alone, built straight from Cedar
/// values (no expression to evaluate) unless an extension value needs one.
pub(super) fn facts_context(facts: Vec<(&'static str, Fact)>) -> Result<Context, DecideError> {
    use cedar_policy_core::ast::{Context as CoreContext, EntityUID, Value as CoreValue};
    let plain: Option<std::collections::BTreeMap<smol_str::SmolStr, CoreValue>> = facts
        .iter()
        .map(|(k, f)| {
            let v = match f {
                Fact::Long(n) => Some(CoreValue::from(*n)),
                Fact::Entity(uid) => Some(CoreValue::from(AsRef::<EntityUID>::as_ref(uid).clone())),
                Fact::Datetime(_) => None,
            };
            v.map(|v| (smol_str::SmolStr::new_static(k), v))
        })
        .collect();
    if let Some(map) = plain {
        return Ok(Context::from(CoreContext::Value(Arc::new(map))));
    }
    Context::from_pairs(facts.into_iter().map(|(k, f)| {
        let v = match f {
            Fact::Long(n) => cedar_policy::RestrictedExpression::new_long(n),
            Fact::Entity(uid) => cedar_policy::RestrictedExpression::new_entity_uid(uid),
            Fact::Datetime(t) => cedar_policy::RestrictedExpression::new_datetime(t),
        };
        (k.to_string(), v)
    }))
    .map_err(|e| DecideError::BadInput(format!("context: {e}")))
}

/// A request ready for Cedar, or already answered.
pub enum Prepared {
    /// Unknown action, entity or type: a deny without evaluation.
    Unknown(Box<Decision>),
    Ready(Box<PreparedRequest>),
}

/// What Cedar is asked.
pub struct PreparedRequest {
    pub request: Request,
    /// The principal's and resource's type names, as the request gave them.
    pub principal_type: String,
    pub resource_type: String,
    pub entities: Arc<Entities>,
    pub principal: EntityUid,
    pub action: EntityUid,
    pub resource: EntityUid,
    /// The context as Cedar JSON (for probes and explain).
    pub context_json: Map<String, Value>,
    pub tenant: Option<TenantRef>,
}

/// The tenant a request concerns.
pub struct TenantRef {
    pub uid: EntityUid,
    pub id: String,
    pub cached: Arc<crate::slice::CachedEntity>,
}

/// `Action::"name"`, or `Ns::Action::"name"` for `Ns::name`.
pub fn action_uid(name: &str) -> Option<EntityUid> {
    let (ty, id) = match name.rsplit_once("::") {
        Some((ns, id)) => (format!("{ns}::Action"), id),
        None => ("Action".to_string(), name),
    };
    entity_uid(&ty, id)
}

/// `Type::"id"`, if `ty` is a valid type name.
pub fn entity_uid(ty: &str, id: &str) -> Option<EntityUid> {
    let ty = EntityTypeName::from_str(ty).ok()?;
    Some(EntityUid::from_type_name_and_id(ty, EntityId::new(id)))
}
