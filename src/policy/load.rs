//! Reading a pack directory and turning it into a [`PolicyPack`], or into every
//! problem that stops it from serving.

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

/// One thing wrong with a pack, located where possible.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub policy: Option<String>,
    /// One line: what is wrong.
    pub message: String,
    /// The Cedar-style report with the offending source lines.
    #[serde(skip)]
    pub rendered: String,
}

impl Problem {
    fn plain(file: Option<&str>, message: impl Into<String>) -> Self {
        let message = message.into();
        let rendered = match file {
            Some(f) => format!("  × {f}: {message}\n"),
            None => format!("  × {message}\n"),
        };
        Self {
            file: file.map(str::to_string),
            line: None,
            column: None,
            policy: None,
            message,
            rendered,
        }
    }

    /// A problem at a line of a file.
    fn at(file: &str, line: usize, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            file: Some(file.to_string()),
            line: Some(line),
            column: Some(1),
            policy: None,
            rendered: format!("  × {file}:{line}:1: {message}\n"),
            message,
        }
    }

    fn from_diagnostic(diag: &dyn Diagnostic, file: &SourceFile, policy: Option<&str>) -> Self {
        let message = one_line(diag);
        let offset = diag.labels().and_then(|mut l| l.next()).map(|l| l.offset());
        let (line, column) = match offset {
            Some(o) => {
                let (l, c) = line_col(&file.text, o);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        let located = Located {
            inner: diag,
            source: NamedSource::new(file.name.clone(), file.text.clone()),
        };
        let mut rendered = String::new();
        let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(100);
        if handler.render_report(&mut rendered, &located).is_err() {
            rendered = format!("  × {}: {message}\n", file.name);
        }
        Self {
            file: Some(file.name.clone()),
            line,
            column,
            policy: policy.map(str::to_string),
            message,
            rendered,
        }
    }

    /// `file:line:column: message`, the form editors and CI logs understand.
    pub fn short(&self) -> String {
        match (&self.file, self.line, self.column) {
            (Some(f), Some(l), Some(c)) => format!("{f}:{l}:{c}: {}", self.message),
            (Some(f), _, _) => format!("{f}: {}", self.message),
            _ => self.message.clone(),
        }
    }
}

/// A diagnostic shown against a named file, whatever source it carried.
struct Located<'a> {
    inner: &'a dyn Diagnostic,
    source: NamedSource<String>,
}

impl fmt::Debug for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.inner, f)
    }
}

impl fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.inner, f)
    }
}

impl std::error::Error for Located<'_> {}

impl Diagnostic for Located<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.inner.code()
    }
    fn severity(&self) -> Option<miette::Severity> {
        self.inner.severity()
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.inner.help()
    }
    fn url<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.inner.url()
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        self.inner.labels()
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        self.inner.related()
    }
    fn diagnostic_source(&self) -> Option<&dyn Diagnostic> {
        self.inner.diagnostic_source()
    }
}

fn one_line(diag: &dyn Diagnostic) -> String {
    let mut msg = diag.to_string();
    if let Some(help) = diag.help() {
        msg.push_str(&format!(" (help: {help})"));
    }
    msg.replace('\n', " ")
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, col)
}

/// Everything that stops a pack from serving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackError {
    pub problems: Vec<Problem>,
}

impl PackError {
    fn one(problem: Problem) -> Self {
        Self {
            problems: vec![problem],
        }
    }
}

impl fmt::Display for PackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "{n} problem{} in the policy pack",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            write!(f, "\n{}", p.rendered.trim_end())?;
        }
        Ok(())
    }
}

impl std::error::Error for PackError {}

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
    let Some(schema_file) = files.iter().find(|f| f.name == SCHEMA_FILE) else {
        return Err(PackError::one(Problem::plain(
            None,
            format!("the pack has no `{SCHEMA_FILE}`"),
        )));
    };

    // The schema: nothing can be checked without it.
    let (schema, schema_warnings) = match Schema::from_cedarschema_str(&schema_file.text) {
        Ok((schema, warnings)) => (schema, warnings.collect::<Vec<_>>()),
        Err(e) => return Err(PackError::one(Problem::from_diagnostic(&e, schema_file, None))),
    };
    let info = SchemaInfo::from_cedarschema(&schema_file.text)
        .map_err(|e| PackError::one(Problem::plain(Some(SCHEMA_FILE), e)))?;
    let mut warnings: Vec<Problem> = schema_warnings
        .into_iter()
        .map(|w| Problem::from_diagnostic(&w, schema_file, None))
        .collect();

    // Every policy file, each parsed on its own so errors point into it.
    let mut policies = PolicySet::new();
    let mut file_of: HashMap<String, usize> = HashMap::new();
    let mut meta = BTreeMap::new();
    let catalogue = match files.iter().find(|f| f.name == MESSAGES_FILE) {
        Some(f) => match read_catalogue(&f.text) {
            Ok(c) => c,
            Err(p) => {
                problems.push(*p);
                BTreeMap::new()
            }
        },
        None => BTreeMap::new(),
    };
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
    // Files that parsed are validated even if others did not: every error at once.

    // Every message in every language the pack speaks: a deleted or misspelt
    // `@message_fr` must not silently leave French speakers without one.
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

    // Strict validation, then the shallowest entity level the pack validates at.
    let validator = Validator::new(schema.clone());
    let locate = |id: &PolicyId| -> &SourceFile {
        file_of
            .get(AsRef::<str>::as_ref(id))
            .map(|&i| &files[i])
            .unwrap_or(schema_file)
    };
    let strict = validator.validate(&policies, ValidationMode::Strict);
    for e in strict.validation_errors() {
        let file = locate(e.policy_id());
        problems.push(Problem::from_diagnostic(e, file, Some(e.policy_id().as_ref())));
    }
    for w in strict.validation_warnings() {
        let file = locate(w.policy_id());
        warnings.push(Problem::from_diagnostic(w, file, Some(w.policy_id().as_ref())));
    }
    if !problems.is_empty() {
        return Err(PackError { problems });
    }
    let mut level = None;
    for l in 1..=MAX_LEVEL {
        let result = validator.validate_with_level(&policies, ValidationMode::Strict, l);
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
        return Err(PackError { problems });
    };

    // Index the policies by the actions they can apply to.
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
                        if scope_admits(&info, &policy.principal_constraint().into(), p_ty)
                            && scope_admits(&info, &policy.resource_constraint().into(), r_ty)
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

    // Notices: forbids that warn before they apply.
    let mut notices = Vec::new();
    for policy in policies.policies() {
        let Some(kind) = policy.annotation("notice") else {
            continue;
        };
        let id = policy.id().to_string();
        let file = locate(policy.id());
        match notice_rule(policy, kind) {
            Ok(rule) => {
                let missing = rule.templates.missing(&languages);
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

    if !problems.is_empty() {
        return Err(PackError { problems });
    }

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
    if !problems.is_empty() {
        return Err(PackError { problems });
    }

    let type_names = info
        .entities
        .keys()
        .filter_map(|t| t.parse().ok().map(|n| (t.clone(), n)))
        .collect();
    let action_uids = by_action
        .keys()
        .map(|a: &EntityUid| (action_key(a), a.clone()))
        .collect();

    Ok(PolicyPack {
        type_names,
        action_uids,
        dir: dir.to_path_buf(),
        revision: revision(&files),
        schema,
        info,
        policies,
        by_action,
        by_request,
        meta,
        catalogue,
        notices,
        level,
        action_entities,
        ledger_types,
        property_modes,
        files,
        warnings,
    })
}

/// A principal or resource scope constraint, reduced to what type matching needs.
enum Scope {
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
fn scope_admits(info: &SchemaInfo, scope: &Scope, ty: &str) -> bool {
    match scope {
        Scope::Any => true,
        Scope::Type(t) => t == ty,
        Scope::In(t) => t == ty || descends(info, ty, t, 0),
    }
}

/// Whether entities of type `child` can have an ancestor of type `ancestor`.
fn descends(info: &SchemaInfo, child: &str, ancestor: &str, depth: usize) -> bool {
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
pub fn action_key(action: &EntityUid) -> String {
    let ty = action.type_name().to_string();
    let id = action.id().unescaped().to_string();
    match ty.strip_suffix("::Action") {
        Some(ns) => format!("{ns}::{id}"),
        None => id,
    }
}

fn action_list(c: &ActionConstraint) -> Vec<EntityUid> {
    match c {
        ActionConstraint::Any => Vec::new(),
        ActionConstraint::Eq(a) => vec![a.clone()],
        ActionConstraint::In(list) => list.clone(),
    }
}

fn id_line(text: &str, id: &str) -> usize {
    let needle = format!("@id(\"{id}\")");
    text.find(&needle).map(|o| line_col(text, o).0).unwrap_or(1)
}

fn policy_line(text: &str, policy: &cedar_policy::Policy) -> usize {
    let src = policy.to_string();
    let head: String = src.lines().next().unwrap_or("").chars().take(20).collect();
    text.find(head.trim()).map(|o| line_col(text, o).0).unwrap_or(1)
}

/// A notice policy: a forbid whose first `when` says the notice is due and whose
/// clauses together say the forbid applies.
fn notice_rule(policy: &cedar_policy::Policy, kind: &str) -> Result<NoticeRule, String> {
    if policy.effect() != Effect::Forbid {
        return Err("a `@notice` policy must be a `forbid`".into());
    }
    let pst = policy.to_pst().map_err(|e| e.to_string())?;
    let clauses = pst.body().clauses();
    if clauses.len() < 2 {
        return Err(
            "a `@notice` policy needs two clauses or more: a first `when` saying the notice is due, then the rest of the condition"
                .into(),
        );
    }
    let text = |c: &cedar_policy::pst::Clause| match c {
        cedar_policy::pst::Clause::When(e) => format!("({e})"),
        cedar_policy::pst::Clause::Unless(e) => format!("!({e})"),
    };
    if !matches!(clauses[0], cedar_policy::pst::Clause::When(_)) {
        return Err("the first clause of a `@notice` policy must be a `when`".into());
    }
    let armed = Expression::from_str(&text(&clauses[0])).map_err(|e| e.to_string())?;
    let all = clauses.iter().map(text).collect::<Vec<_>>().join(" && ");
    let applies = Expression::from_str(&all).map_err(|e| e.to_string())?;
    let templates = Messages::from_annotations("notice", policy.annotations());
    if templates.is_empty() {
        return Err("a `@notice` policy needs `@notice_en(\"...\")` (and other languages)".into());
    }
    Ok(NoticeRule {
        policy_id: policy.id().to_string(),
        kind: kind.to_string(),
        armed,
        applies,
        templates,
    })
}

/// Annotations turnstile reads; anything else is a typo until proven otherwise.
fn known_annotation(key: &str) -> bool {
    matches!(key, "id" | "description" | "code" | "notice")
        || ["message_", "notice_"]
            .iter()
            .any(|p| key.strip_prefix(p).is_some_and(is_language))
}

/// A language code: two or three lowercase letters (`en`, `fr`, `deu`).
fn is_language(s: &str) -> bool {
    (2..=3).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase())
}

/// The known annotation an unknown one is closest to, if close.
fn suggestion(key: &str) -> Option<String> {
    let lang = key
        .rsplit_once('_')
        .map(|(_, l)| l)
        .filter(|l| is_language(l))
        .unwrap_or("en");
    let candidates = [
        "id".to_string(),
        "description".into(),
        "code".into(),
        "notice".into(),
        format!("message_{lang}"),
        format!("notice_{lang}"),
    ];
    candidates
        .into_iter()
        .map(|c| (distance(key, &c), c))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance (short strings: annotation names).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The line of `@key(` near the policy's `@id` line (annotations may sit
/// before or after it).
fn annotation_line(text: &str, id_line: usize, key: &str) -> usize {
    let needle = format!("@{key}(");
    let lo = id_line.saturating_sub(12).max(1);
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(n, _)| *n >= lo && *n <= id_line + 12)
        .find(|(_, l)| l.contains(&needle))
        .map(|(n, _)| n)
        .unwrap_or(id_line)
}

/// The line of the `n`th `@id("id")` in `text` (1-based), or 1.
fn nth_id_line(text: &str, id: &str, n: usize) -> usize {
    let needle = format!("@id(\"{id}\")");
    text.match_indices(&needle)
        .nth(n.saturating_sub(1))
        .map(|(o, _)| line_col(text, o).0)
        .unwrap_or(1)
}

/// `messages.yaml`: code → language → text.
fn read_catalogue(text: &str) -> Result<BTreeMap<String, Messages>, Box<Problem>> {
    let raw: BTreeMap<String, BTreeMap<String, String>> = serde_yaml_ng::from_str(text).map_err(|e| {
        let mut p = Problem::plain(
            Some(MESSAGES_FILE),
            format!("not a message catalogue (code: {{language: text}}): {e}"),
        );
        if let Some(loc) = e.location() {
            p.line = Some(loc.line());
            p.column = Some(loc.column());
        }
        Box::new(p)
    })?;
    let mut out = BTreeMap::new();
    for (code, texts) in raw {
        if let Some(bad) = texts.keys().find(|l| !is_language(l)) {
            return Err(Box::new(Problem::plain(
                Some(MESSAGES_FILE),
                format!("`{code}`: `{bad}` is not a language code (`en`, `fr`, …)"),
            )));
        }
        out.insert(code, Messages(texts));
    }
    Ok(out)
}
