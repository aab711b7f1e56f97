//! Reading a pack directory and turning it into a [`PolicyPack`], or into every
//! problem that stops it from serving.

mod annotations;
mod index;
mod problems;

use annotations::*;
use index::*;
use problems::line_col;
pub use problems::{PackError, Problem};

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use cedar_policy::{
    ActionConstraint, Effect, Entity, EntityUid, Expression, PolicyId, PolicySet, Schema, ValidationMode,
    Validator,
};
use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, NamedSource};
use sha2::{Digest, Sha256};

use super::{
    MAX_LEVEL, MESSAGES_FILE, Messages, NoticeRule, PolicyMeta, PolicyPack, PropertyMode, SCHEMA_FILE,
    SchemaInfo,
};

/// One file of a pack: its name relative to the pack directory and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
}

/// Reads the schema and every `*.cedar` file of `dir` (schema first, then by name).
pub fn read_dir(dir: &Path) -> Result<Vec<SourceFile>, PackError> {
    let display = dir.display().to_string();
    let entries = std::fs::read_dir(dir).map_err(|e| {
        PackError::one(Problem::plain(
            None,
            format!("cannot read the policy directory `{display}`: {e}"),
        ))
    })?;
    let mut names = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_file()
            && path.extension().is_some_and(|e| e == "cedar")
            && let Some(name) = path.file_name().and_then(|n| n.to_str())
        {
            names.push(name.to_string());
        }
    }
    names.sort();
    let mut files = Vec::with_capacity(names.len() + 1);
    let schema_path = dir.join(SCHEMA_FILE);
    let schema = std::fs::read_to_string(&schema_path).map_err(|e| {
        PackError::one(Problem::plain(
            None,
            format!("cannot read `{}`: {e}", schema_path.display()),
        ))
    })?;
    files.push(SourceFile {
        name: SCHEMA_FILE.to_string(),
        text: schema,
    });
    let mut problems = Vec::new();
    if dir.join(MESSAGES_FILE).is_file() {
        names.push(MESSAGES_FILE.to_string());
    }
    for name in names {
        match std::fs::read_to_string(dir.join(&name)) {
            Ok(text) => files.push(SourceFile { name, text }),
            Err(e) => problems.push(Problem::plain(Some(&name), format!("cannot read: {e}"))),
        }
    }
    if problems.is_empty() {
        Ok(files)
    } else {
        Err(PackError { problems })
    }
}

/// The revision of a pack: a hash of every file's name and text.
pub fn revision(files: &[SourceFile]) -> String {
    let mut sorted: Vec<&SourceFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut hasher = Sha256::new();
    for f in sorted {
        hasher.update(f.name.as_bytes());
        hasher.update([0]);
        hasher.update(f.text.as_bytes());
        hasher.update([0]);
    }
    let digest = hasher.finalize();
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

pub(super) fn build(dir: &Path, files: Vec<SourceFile>) -> Result<PolicyPack, PackError> {
    let mut problems = Vec::new();
    let (schema_file, schema, info, mut warnings) = read_schema(&files)?;
    let catalogue = read_catalogue_file(&files, &mut problems);
    let parsed = read_policies(&files, &catalogue, &mut problems);
    // Files that parsed are validated even if others did not: every error at once.
    let languages = check_messages(&parsed.meta, &catalogue, &mut problems);
    let locate = |id: &PolicyId| parsed.file(id, &files).unwrap_or(schema_file);
    let level = validate(&schema, &parsed.policies, &locate, &mut problems, &mut warnings)?;
    let index = index_by_action(&schema, &info, &parsed.policies, &mut problems)?;
    let notices = read_notices(&parsed, &languages, &locate, &mut problems);
    if !problems.is_empty() {
        return Err(PackError { problems });
    }
    let (ledger_types, property_modes) = property_modes(&info, &mut problems);
    if !problems.is_empty() {
        return Err(PackError { problems });
    }
    let type_names = info
        .entities
        .keys()
        .filter_map(|t| t.parse().ok().map(|n| (t.clone(), n)))
        .collect();
    let action_uids = index
        .by_action
        .keys()
        .map(|a: &EntityUid| (action_key(a), a.clone()))
        .collect();
    let Parsed { policies, meta, .. } = parsed;
    Ok(PolicyPack {
        type_names,
        action_uids,
        dir: dir.to_path_buf(),
        revision: revision(&files),
        schema,
        info,
        policies,
        by_action: index.by_action,
        by_request: index.by_request,
        meta,
        catalogue,
        notices,
        level,
        action_entities: index.action_entities,
        ledger_types,
        property_modes,
        files,
        warnings,
    })
}

/// The schema: nothing can be checked without it. Its file, the schema, what
/// the pack reads of it, and its warnings.
fn read_schema(files: &[SourceFile]) -> Result<(&SourceFile, Schema, SchemaInfo, Vec<Problem>), PackError> {
    let Some(schema_file) = files.iter().find(|f| f.name == SCHEMA_FILE) else {
        return Err(PackError::one(Problem::plain(
            None,
            format!("the pack has no `{SCHEMA_FILE}`"),
        )));
    };
    let (schema, schema_warnings) = match Schema::from_cedarschema_str(&schema_file.text) {
        Ok((schema, warnings)) => (schema, warnings.collect::<Vec<_>>()),
        Err(e) => return Err(PackError::one(Problem::from_diagnostic(&e, schema_file, None))),
    };
    let info = SchemaInfo::from_cedarschema(&schema_file.text)
        .map_err(|e| PackError::one(Problem::plain(Some(SCHEMA_FILE), e)))?;
    let warnings = schema_warnings
        .into_iter()
        .map(|w| Problem::from_diagnostic(&w, schema_file, None))
        .collect();
    Ok((schema_file, schema, info, warnings))
}

/// The message catalogue (`messages.yaml`), if the pack has one.
fn read_catalogue_file(files: &[SourceFile], problems: &mut Vec<Problem>) -> BTreeMap<String, Messages> {
    match files.iter().find(|f| f.name == MESSAGES_FILE) {
        Some(f) => match read_catalogue(&f.text) {
            Ok(c) => c,
            Err(p) => {
                problems.push(*p);
                BTreeMap::new()
            }
        },
        None => BTreeMap::new(),
    }
}

/// Every policy of the pack, with its `@id` as its id, and where each is written.
struct Parsed {
    policies: PolicySet,
    /// Per policy id, the index of its file.
    file_of: HashMap<String, usize>,
    meta: BTreeMap<String, PolicyMeta>,
}

impl Parsed {
    /// The file policy `id` is written in.
    fn file<'f>(&self, id: &PolicyId, files: &'f [SourceFile]) -> Option<&'f SourceFile> {
        self.file_of.get(AsRef::<str>::as_ref(id)).map(|&i| &files[i])
    }
}

/// Every policy file, each parsed on its own so errors point into it; ids,
/// duplicates and annotations checked.
fn read_policies(
    files: &[SourceFile],
    catalogue: &BTreeMap<String, Messages>,
    problems: &mut Vec<Problem>,
) -> Parsed {
    let mut policies = PolicySet::new();
    let mut file_of: HashMap<String, usize> = HashMap::new();
    let mut meta = BTreeMap::new();
    for (index, file) in files.iter().enumerate() {
        if file.name == SCHEMA_FILE || file.name == MESSAGES_FILE {
            continue;
        }
        let set = match PolicySet::from_str(&file.text) {
            Ok(set) => set,
            Err(errs) => {
                for e in errs.iter() {
                    problems.push(Problem::from_diagnostic(e, file, None));
                }
                continue;
            }
        };
        if set.templates().next().is_some() {
            problems.push(Problem::plain(
                Some(&file.name),
                "templates (policies with `?principal` or `?resource`) are not supported",
            ));
        }
        for policy in set.policies() {
            let Some(id) = policy.annotation("id").map(str::to_string) else {
                let line = policy_line(&file.text, policy);
                let mut p = Problem::plain(
                    Some(&file.name),
                    "every policy needs an `@id(\"...\")` annotation",
                );
                p.line = Some(line);
                p.column = Some(1);
                p.rendered = format!(
                    "  × {}:{line}:1: every policy needs an `@id(\"...\")` annotation\n",
                    file.name
                );
                problems.push(p);
                continue;
            };
            let line = id_line(&file.text, &id);
            if let Some(&other) = file_of.get(&id) {
                let first = id_line(&files[other].text, &id);
                problems.push(Problem::at(
                    &file.name,
                    if other == index {
                        nth_id_line(&file.text, &id, 2)
                    } else {
                        line
                    },
                    format!(
                        "policy id `{id}` is already used in `{}` line {first}",
                        files[other].name
                    ),
                ));
                continue;
            }
            for (key, _) in policy.annotations() {
                if !known_annotation(key) {
                    problems.push(Problem::at(
                        &file.name,
                        annotation_line(&file.text, line, key),
                        format!(
                            "policy `{id}`: unknown annotation `@{key}`{}",
                            suggestion(key)
                                .map(|s| format!(" (did you mean `@{s}`?)"))
                                .unwrap_or_default()
                        ),
                    ));
                }
            }
            let code = policy.annotation("code").map(str::to_string);
            let mut messages = Messages::from_annotations("message", policy.annotations());
            if messages.is_empty()
                && let Some(shared) = code.as_ref().and_then(|c| catalogue.get(c))
            {
                messages = shared.clone();
            }
            let renamed = policy.new_id(PolicyId::new(&id));
            meta.insert(
                id.clone(),
                PolicyMeta {
                    id: id.clone(),
                    effect: policy.effect(),
                    file: file.name.clone(),
                    line,
                    description: policy.annotation("description").map(str::to_string),
                    code,
                    messages,
                    actions: action_list(&policy.action_constraint()),
                },
            );
            file_of.insert(id, index);
            if let Err(e) = policies.add(renamed) {
                problems.push(Problem::plain(Some(&file.name), e.to_string()));
            }
        }
    }
    Parsed {
        policies,
        file_of,
        meta,
    }
}

/// Every message in every language the pack speaks: a deleted or misspelt
/// `@message_fr` must not silently leave French speakers without one. Returns
/// the languages the pack speaks.
fn check_messages(
    meta: &BTreeMap<String, PolicyMeta>,
    catalogue: &BTreeMap<String, Messages>,
    problems: &mut Vec<Problem>,
) -> BTreeSet<String> {
    let languages: BTreeSet<String> = meta
        .values()
        .flat_map(|m: &PolicyMeta| m.messages.0.keys().cloned())
        .chain(catalogue.values().flat_map(|m| m.0.keys().cloned()))
        .collect();
    for m in meta.values() {
        if m.messages.is_empty() {
            if let Some(code) = &m.code {
                problems.push(Problem::at(
                    &m.file,
                    m.line,
                    format!(
                        "policy `{}` has `@code(\"{code}\")` but no message: add `@message_en(...)` and the other languages, or `{code}` to `{MESSAGES_FILE}`",
                        m.id
                    ),
                ));
            }
            continue;
        }
        let missing = m.messages.missing(&languages);
        if !missing.is_empty() {
            problems.push(Problem::at(
                &m.file,
                m.line,
                format!(
                    "policy `{}` has no message in {} (the pack speaks {})",
                    m.id,
                    missing.join(", "),
                    languages.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    }
    languages
}

/// Strict validation, then the shallowest entity level the pack validates at.
fn validate<'f>(
    schema: &Schema,
    policies: &PolicySet,
    locate: &dyn Fn(&PolicyId) -> &'f SourceFile,
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) -> Result<u32, PackError> {
    let validator = Validator::new(schema.clone());
    let strict = validator.validate(policies, ValidationMode::Strict);
    for e in strict.validation_errors() {
        let file = locate(e.policy_id());
        problems.push(Problem::from_diagnostic(e, file, Some(e.policy_id().as_ref())));
    }
    for w in strict.validation_warnings() {
        let file = locate(w.policy_id());
        warnings.push(Problem::from_diagnostic(w, file, Some(w.policy_id().as_ref())));
    }
    if !problems.is_empty() {
        return Err(PackError {
            problems: std::mem::take(problems),
        });
    }
    let mut level = None;
    for l in 1..=MAX_LEVEL {
        let result = validator.validate_with_level(policies, ValidationMode::Strict, l);
        if result.validation_passed() {
            level = Some(l);
            break;
        }
        if l == MAX_LEVEL {
            for e in result.validation_errors() {
                let file = locate(e.policy_id());
                problems.push(Problem::from_diagnostic(e, file, Some(e.policy_id().as_ref())));
            }
        }
    }
    let Some(level) = level else {
        return Err(PackError {
            problems: std::mem::take(problems),
        });
    };
    Ok(level)
}

/// The policies that can apply to each action, and per principal and
/// resource type those whose scope can match; the action entities.
struct Index {
    by_action: HashMap<EntityUid, PolicySet>,
    by_request: HashMap<EntityUid, HashMap<String, HashMap<String, PolicySet>>>,
    action_entities: HashMap<EntityUid, Arc<cedar_policy_core::ast::Entity>>,
}

/// Indexes the policies by the actions they can apply to.
fn index_by_action(
    schema: &Schema,
    info: &SchemaInfo,
    policies: &PolicySet,
    problems: &mut Vec<Problem>,
) -> Result<Index, PackError> {
    let mut by_action = HashMap::new();
    let mut by_request: HashMap<EntityUid, HashMap<String, HashMap<String, PolicySet>>> = HashMap::new();
    let mut action_entities = HashMap::new();
    let schema_actions = schema
        .action_entities()
        .map_err(|e| PackError::one(Problem::plain(Some(SCHEMA_FILE), e.to_string())))?;
    for action in schema.actions() {
        let key = action_key(action);
        if info.action(&key).is_none_or(|a| a.is_group) {
            continue;
        }
        let ancestors: HashSet<EntityUid> = schema_actions
            .ancestors(action)
            .map(|it| it.cloned().collect())
            .unwrap_or_default();
        let mut set = PolicySet::new();
        for policy in policies.policies() {
            let applies = match policy.action_constraint() {
                ActionConstraint::Any => true,
                ActionConstraint::Eq(a) => &a == action,
                ActionConstraint::In(list) => list.iter().any(|a| a == action || ancestors.contains(a)),
            };
            if applies && let Err(e) = set.add(policy.clone()) {
                problems.push(Problem::plain(None, e.to_string()));
            }
        }
        // Narrower still: per principal and resource type, the policies whose
        // scope can match those types.
        if let Some(a) = info.action(&key) {
            for p_ty in &a.principals {
                for r_ty in &a.resources {
                    let mut narrow = PolicySet::new();
                    for policy in set.policies() {
                        if scope_admits(info, &policy.principal_constraint().into(), p_ty)
                            && scope_admits(info, &policy.resource_constraint().into(), r_ty)
                            && let Err(e) = narrow.add(policy.clone())
                        {
                            problems.push(Problem::plain(None, e.to_string()));
                        }
                    }
                    by_request
                        .entry(action.clone())
                        .or_default()
                        .entry(p_ty.clone())
                        .or_default()
                        .insert(r_ty.clone(), narrow);
                }
            }
        }
        by_action.insert(action.clone(), set);
        let entity = Entity::new_no_attrs(action.clone(), ancestors);
        action_entities.insert(action.clone(), Arc::new(entity.as_ref().clone()));
    }
    Ok(Index {
        by_action,
        by_request,
        action_entities,
    })
}

/// Notices: forbids that warn before they apply, with their texts in every
/// language the pack speaks.
fn read_notices<'f>(
    parsed: &Parsed,
    languages: &BTreeSet<String>,
    locate: &dyn Fn(&PolicyId) -> &'f SourceFile,
    problems: &mut Vec<Problem>,
) -> Vec<NoticeRule> {
    let meta = &parsed.meta;
    let mut notices = Vec::new();
    for policy in parsed.policies.policies() {
        let Some(kind) = policy.annotation("notice") else {
            continue;
        };
        let id = policy.id().to_string();
        let file = locate(policy.id());
        match notice_rule(policy, kind) {
            Ok(rule) => {
                let missing = rule.templates.missing(languages);
                if !missing.is_empty() {
                    let mut p = Problem::plain(
                        Some(&file.name),
                        format!("policy `{id}`: its notice has no text in {}", missing.join(", ")),
                    );
                    p.policy = Some(id.clone());
                    p.line = meta.get(&id).map(|m: &PolicyMeta| m.line);
                    problems.push(p);
                }
                notices.push(rule)
            }
            Err(msg) => {
                let mut p = Problem::plain(Some(&file.name), format!("policy `{id}`: {msg}"));
                p.policy = Some(id.clone());
                p.line = meta.get(&id).map(|m: &PolicyMeta| m.line);
                problems.push(p);
            }
        }
    }
    notices.sort_by(|a, b| a.kind.cmp(&b.kind));
    notices
}

/// The types the ledger builds (`@source("ledger")`) and what a request's
/// properties may do to each type (`@properties`).
fn property_modes(
    info: &SchemaInfo,
    problems: &mut Vec<Problem>,
) -> (BTreeSet<String>, BTreeMap<String, PropertyMode>) {
    let ledger_types = info
        .entities
        .iter()
        .filter(|(_, e)| e.annotations.get("source").is_some_and(|s| s == "ledger"))
        .map(|(name, _)| name.clone())
        .collect::<BTreeSet<_>>();

    let mut property_modes = BTreeMap::new();
    for (name, e) in &info.entities {
        let ledger = ledger_types.contains(name);
        let mode = match e.annotations.get("properties").map(String::as_str) {
            None if ledger => PropertyMode::Ledger,
            None => PropertyMode::Overlay,
            Some("add") if ledger => PropertyMode::Ledger,
            Some("add") => PropertyMode::Add,
            Some("overlay") if ledger => {
                problems.push(Problem::plain(
                    Some(SCHEMA_FILE),
                    format!(
                        "entity type `{name}` is built by the ledger (@source(\"ledger\")): its facts are the \
                         ledger's, so `@properties(\"overlay\")` cannot let a request replace them"
                    ),
                ));
                continue;
            }
            Some("overlay") => PropertyMode::Overlay,
            Some(other) => {
                problems.push(Problem::plain(
                    Some(SCHEMA_FILE),
                    format!(
                        "entity type `{name}`: `@properties(\"{other}\")` is not a property mode; \
                         use `overlay` (a request's properties win) or `add` (a request may only add \
                         attributes the store does not hold)"
                    ),
                ));
                continue;
            }
        };
        property_modes.insert(name.clone(), mode);
    }
    (ledger_types, property_modes)
}
