//! Which policies can apply to which request: scope constraints reduced to the types they admit, and the actions a policy names.

use super::*;

/// A principal or resource scope constraint, reduced to what type matching needs.
pub(super) enum Scope {
    Any,
    /// `== uid` or `is T` or `is T in ..`: exactly this type.
    Type(String),
    /// `in uid`: entities of any type that can be a descendant of the uid's type.
    In(String),
}

impl From<cedar_policy::PrincipalConstraint> for Scope {
    fn from(c: cedar_policy::PrincipalConstraint) -> Self {
        use cedar_policy::PrincipalConstraint as P;
        match c {
            P::Any => Scope::Any,
            P::Eq(u) => Scope::Type(u.type_name().to_string()),
            P::Is(t) | P::IsIn(t, _) => Scope::Type(t.to_string()),
            P::In(u) => Scope::In(u.type_name().to_string()),
        }
    }
}

impl From<cedar_policy::ResourceConstraint> for Scope {
    fn from(c: cedar_policy::ResourceConstraint) -> Self {
        use cedar_policy::ResourceConstraint as R;
        match c {
            R::Any => Scope::Any,
            R::Eq(u) => Scope::Type(u.type_name().to_string()),
            R::Is(t) | R::IsIn(t, _) => Scope::Type(t.to_string()),
            R::In(u) => Scope::In(u.type_name().to_string()),
        }
    }
}

/// Whether a scope constraint can match an entity of type `ty`.
pub(super) fn scope_admits(info: &SchemaInfo, scope: &Scope, ty: &str) -> bool {
    match scope {
        Scope::Any => true,
        Scope::Type(t) => t == ty,
        Scope::In(t) => t == ty || descends(info, ty, t, 0),
    }
}

/// Whether entities of type `child` can have an ancestor of type `ancestor`.
pub(super) fn descends(info: &SchemaInfo, child: &str, ancestor: &str, depth: usize) -> bool {
    if depth > 32 {
        return true;
    }
    info.entity(child).is_none_or(|e| {
        e.member_of
            .iter()
            .any(|p| p == ancestor || descends(info, p, ancestor, depth + 1))
    })
}

/// `Action::"view"` → `view`; `Ns::Action::"view"` → `Ns::view`.
pub(crate) fn action_key(action: &EntityUid) -> String {
    let ty = action.type_name().to_string();
    let id = action.id().unescaped().to_string();
    match ty.strip_suffix("::Action") {
        Some(ns) => format!("{ns}::{id}"),
        None => id,
    }
}

pub(super) fn action_list(c: &ActionConstraint) -> Vec<EntityUid> {
    match c {
        ActionConstraint::Any => Vec::new(),
        ActionConstraint::Eq(a) => vec![a.clone()],
        ActionConstraint::In(list) => list.clone(),
    }
}
