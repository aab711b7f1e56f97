//! schema_info: the attribute and context types a schema declares, in a form this
//! crate can walk: to drop request properties the schema does not declare, and to
//! refuse a declared one of the wrong type before Cedar sees it.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// A Cedar type, with common types resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    Bool,
    Long,
    String,
    Entity(String),
    Extension(String),
    Set(Box<Ty>),
    Record(RecordTy),
}

/// The attributes of a record type.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RecordTy {
    pub attrs: BTreeMap<String, AttrTy>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AttrTy {
    pub ty: Ty,
    pub required: bool,
}

/// What the schema says of one entity type.
#[derive(Debug, Clone, Default)]
pub struct EntityInfo {
    pub attrs: RecordTy,
    pub member_of: Vec<String>,
    pub annotations: BTreeMap<String, String>,
}

/// What the schema says of one action.
#[derive(Debug, Clone, Default)]
pub struct ActionInfo {
    pub principals: Vec<String>,
    pub resources: Vec<String>,
    pub context: RecordTy,
    pub member_of: Vec<String>,
    /// A group: an action no request names directly (it applies to nothing).
    pub is_group: bool,
}

/// Entity and action types by fully qualified name (`Ns::User`, or `User`).
#[derive(Debug, Clone, Default)]
pub struct SchemaInfo {
    pub entities: BTreeMap<String, EntityInfo>,
    /// Keyed by action id (`access_management`), qualified by namespace if any.
    pub actions: BTreeMap<String, ActionInfo>,
}

impl SchemaInfo {
    /// Reads a schema written in the Cedar schema syntax.
    pub(crate) fn from_cedarschema(text: &str) -> Result<Self, String> {
        let (json, _) =
            cedar_policy::schema_str_to_json_with_resolved_types(text).map_err(|e| e.to_string())?;
        Ok(Self::from_json(&json))
    }

    fn from_json(json: &Value) -> Self {
        let mut info = SchemaInfo::default();
        let Some(namespaces) = json.as_object() else {
            return info;
        };
        for (ns, def) in namespaces {
            let resolver = Resolver { ns, root: namespaces };
            if let Some(types) = def.get("entityTypes").and_then(Value::as_object) {
                for (name, et) in types {
                    let attrs = et
                        .get("shape")
                        .map(|s| match resolver.ty(s) {
                            Ty::Record(r) => r,
                            _ => RecordTy::default(),
                        })
                        .unwrap_or_default();
                    let member_of = strings(et.get("memberOfTypes"))
                        .into_iter()
                        .map(|t| resolver.qualify(&t))
                        .collect();
                    let annotations = et
                        .get("annotations")
                        .and_then(Value::as_object)
                        .map(|a| {
                            a.iter()
                                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                                .collect()
                        })
                        .unwrap_or_default();
                    info.entities.insert(
                        resolver.qualify(name),
                        EntityInfo {
                            attrs,
                            member_of,
                            annotations,
                        },
                    );
                }
            }
            if let Some(actions) = def.get("actions").and_then(Value::as_object) {
                for (id, a) in actions {
                    let applies = a.get("appliesTo");
                    let principals: Vec<String> = strings(applies.and_then(|x| x.get("principalTypes")))
                        .into_iter()
                        .map(|t| resolver.qualify(&t))
                        .collect();
                    let resources: Vec<String> = strings(applies.and_then(|x| x.get("resourceTypes")))
                        .into_iter()
                        .map(|t| resolver.qualify(&t))
                        .collect();
                    let context = applies
                        .and_then(|x| x.get("context"))
                        .map(|c| match resolver.ty(c) {
                            Ty::Record(r) => r,
                            _ => RecordTy::default(),
                        })
                        .unwrap_or_default();
                    let member_of = a
                        .get("memberOf")
                        .and_then(Value::as_array)
                        .map(|m| {
                            m.iter()
                                .filter_map(|x| x.get("id").and_then(Value::as_str))
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default();
                    let key = if ns.is_empty() {
                        id.clone()
                    } else {
                        format!("{ns}::{id}")
                    };
                    info.actions.insert(
                        key,
                        ActionInfo {
                            is_group: principals.is_empty() || resources.is_empty(),
                            principals,
                            resources,
                            context,
                            member_of,
                        },
                    );
                }
            }
        }
        info
    }

    /// The attributes declared for `entity_type`, if the schema declares it.
    pub fn entity(&self, entity_type: &str) -> Option<&EntityInfo> {
        self.entities.get(entity_type)
    }

    /// The action named `name`, if the schema declares it.
    pub fn action(&self, name: &str) -> Option<&ActionInfo> {
        self.actions.get(name)
    }
}

struct Resolver<'a> {
    ns: &'a str,
    root: &'a Map<String, Value>,
}

impl Resolver<'_> {
    fn qualify(&self, name: &str) -> String {
        if name.contains("::") || self.ns.is_empty() {
            name.to_string()
        } else {
            format!("{}::{name}", self.ns)
        }
    }

    fn common(&self, name: &str) -> Option<&Value> {
        let (ns, local) = match name.rsplit_once("::") {
            Some((ns, local)) => (ns, local),
            None => (self.ns, name),
        };
        self.root
            .get(ns)
            .and_then(|d| d.get("commonTypes"))
            .and_then(|c| c.get(local))
            .or_else(|| {
                self.root
                    .get("")
                    .and_then(|d| d.get("commonTypes"))
                    .and_then(|c| c.get(name))
            })
    }

    fn ty(&self, v: &Value) -> Ty {
        self.ty_depth(v, 0)
    }

    fn ty_depth(&self, v: &Value, depth: usize) -> Ty {
        let kind = v.get("type").and_then(Value::as_str).unwrap_or("");
        let name = v.get("name").and_then(Value::as_str).unwrap_or("");
        match kind {
            "Boolean" | "Bool" => Ty::Bool,
            "Long" => Ty::Long,
            "String" => Ty::String,
            "Entity" => Ty::Entity(self.qualify(name)),
            "Extension" => Ty::Extension(name.to_string()),
            "Set" => Ty::Set(Box::new(
                v.get("element")
                    .map(|e| self.ty_depth(e, depth + 1))
                    .unwrap_or(Ty::String),
            )),
            "Record" => {
                let attrs = v
                    .get("attributes")
                    .and_then(Value::as_object)
                    .map(|attrs| {
                        attrs
                            .iter()
                            .map(|(k, a)| {
                                let required = a.get("required").and_then(Value::as_bool).unwrap_or(true);
                                (
                                    k.clone(),
                                    AttrTy {
                                        ty: self.ty_depth(a, depth + 1),
                                        required,
                                    },
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                Ty::Record(RecordTy { attrs })
            }
            "ipaddr" | "decimal" | "datetime" | "duration" => Ty::Extension(kind.to_string()),
            other => match self.common(other) {
                Some(def) if depth < 32 => self.ty_depth(def, depth + 1),
                _ => Ty::Entity(self.qualify(other)),
            },
        }
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

/// Keeps the keys of `value` that `record` declares, checking each against its
/// type, and writes entity references and extension values the way Cedar's JSON
/// format spells them. `path` names the object in error messages.
pub(crate) fn filter_record(
    record: &RecordTy,
    value: &Map<String, Value>,
    path: &str,
) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for (key, v) in value {
        if let Some(attr) = record.attrs.get(key) {
            out.insert(key.clone(), conform(&attr.ty, v, &format!("{path}.{key}"))?);
        }
    }
    Ok(out)
}

fn conform(ty: &Ty, v: &Value, path: &str) -> Result<Value, String> {
    let wrong = |what: &str| Err(format!("`{path}` must be {what}"));
    match ty {
        Ty::Bool if v.is_boolean() => Ok(v.clone()),
        Ty::Bool => wrong("a boolean"),
        Ty::Long if v.is_i64() => Ok(v.clone()),
        Ty::Long => wrong("an integer"),
        Ty::String if v.is_string() => Ok(v.clone()),
        Ty::String => wrong("a string"),
        Ty::Entity(expected) => {
            let inner = v.get("__entity").unwrap_or(v);
            match (
                inner.get("type").and_then(Value::as_str),
                inner.get("id").and_then(Value::as_str),
            ) {
                (Some(t), Some(id)) if t == expected => {
                    Ok(serde_json::json!({"__entity": {"type": t, "id": id}}))
                }
                (Some(t), Some(_)) => Err(format!("`{path}` must be a `{expected}`, not a `{t}`")),
                _ => wrong(&format!(
                    "an entity reference `{{\"type\": \"{expected}\", \"id\": ...}}`"
                )),
            }
        }
        Ty::Extension(name) => match v {
            Value::String(s) => {
                let func = match name.as_str() {
                    "ipaddr" => "ip",
                    other => other,
                };
                Ok(serde_json::json!({"__extn": {"fn": func, "arg": s}}))
            }
            Value::Object(o) if o.contains_key("__extn") => Ok(v.clone()),
            _ => wrong(&format!("a `{name}` string")),
        },
        Ty::Set(elem) => match v {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| conform(elem, item, &format!("{path}[{i}]")))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            _ => wrong("an array"),
        },
        Ty::Record(record) => match v {
            Value::Object(o) => filter_record(record, o, path).map(Value::Object),
            _ => wrong("an object"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SCHEMA: &str = r#"
        type Level = { name: String, rank?: Long };
        entity Group;
        entity User in [Group] = { role?: String, level: Level, groups: Set<Group>, ip?: ipaddr };
        action read appliesTo { principal: [User], resource: [User], context: { soft?: Bool } };
        action all_things;
    "#;

    fn info() -> SchemaInfo {
        SchemaInfo::from_cedarschema(SCHEMA).unwrap()
    }

    #[test]
    fn reads_entity_attributes_with_common_types_resolved() {
        let info = info();
        let user = info.entity("User").unwrap();
        assert_eq!(user.member_of, vec!["Group".to_string()]);
        let level = &user.attrs.attrs["level"];
        assert!(level.required);
        let Ty::Record(level) = &level.ty else {
            panic!("level is a record")
        };
        assert!(!level.attrs["rank"].required);
        assert_eq!(
            user.attrs.attrs["groups"].ty,
            Ty::Set(Box::new(Ty::Entity("Group".into())))
        );
    }

    #[test]
    fn reads_actions_and_groups() {
        let info = info();
        let read = info.action("read").unwrap();
        assert_eq!(read.principals, vec!["User".to_string()]);
        assert!(read.context.attrs.contains_key("soft"));
        assert!(info.action("all_things").unwrap().is_group);
    }

    #[test]
    fn undeclared_keys_are_dropped_and_declared_ones_kept() {
        let info = info();
        let attrs = &info.entity("User").unwrap().attrs;
        let props = json!({"role": "admin", "department": "Sales", "level": {"name": "x", "extra": 1}});
        let out = filter_record(attrs, props.as_object().unwrap(), "subject.properties").unwrap();
        assert_eq!(
            Value::Object(out),
            json!({"role": "admin", "level": {"name": "x"}})
        );
    }

    #[test]
    fn a_declared_key_of_the_wrong_type_is_named() {
        let info = info();
        let attrs = &info.entity("User").unwrap().attrs;
        let props = json!({"role": 3});
        let err = filter_record(attrs, props.as_object().unwrap(), "subject.properties").unwrap_err();
        assert_eq!(err, "`subject.properties.role` must be a string");
    }

    #[test]
    fn entity_references_and_extensions_take_cedar_json_form() {
        let info = info();
        let attrs = &info.entity("User").unwrap().attrs;
        let props = json!({"groups": [{"type": "Group", "id": "g"}], "ip": "10.0.0.1"});
        let out = filter_record(attrs, props.as_object().unwrap(), "p").unwrap();
        assert_eq!(out["groups"], json!([{"__entity": {"type": "Group", "id": "g"}}]));
        assert_eq!(out["ip"], json!({"__extn": {"fn": "ip", "arg": "10.0.0.1"}}));
    }
}
