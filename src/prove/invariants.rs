//! The invariants a pack ships (`invariants.yaml`): their forms, request shapes and conditions, read and checked against the schema.

use super::*;

/// The invariants file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InvariantsFile {
    #[serde(default)]
    assume: Option<String>,
    invariants: Vec<Invariant>,
}

/// A pack's invariants and what they assume of the data.
#[derive(Debug, Clone, Default)]
pub(crate) struct Invariants {
    /// A Cedar condition every proof assumes: what the data can be (the
    /// ranges the ledger keeps times and counts in). Requests outside it are
    /// not considered, by invariants and comparisons alike.
    pub assume: Option<String>,
    pub list: Vec<Invariant>,
}

/// One invariant: an id, what it says, and exactly one form.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Invariant {
    pub id: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    never_allows: Option<Shape>,
    #[serde(default)]
    always_allows: Option<Shape>,
    #[serde(default)]
    never_errors: Option<Shape>,
}

/// The requests an invariant speaks of.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shape {
    /// Action names or action groups (default: every action).
    #[serde(default)]
    pub actions: Vec<String>,
    /// Principal entity types (default: every type).
    #[serde(default)]
    pub principals: Vec<String>,
    /// Resource entity types (default: every type).
    #[serde(default)]
    pub resources: Vec<String>,
    /// A Cedar condition over `principal`, `action`, `resource` and `context`.
    #[serde(default)]
    pub when: Option<String>,
}

/// What an invariant claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    NeverAllows,
    AlwaysAllows,
    NeverErrors,
}

impl Form {
    pub fn name(self) -> &'static str {
        match self {
            Form::NeverAllows => "never_allows",
            Form::AlwaysAllows => "always_allows",
            Form::NeverErrors => "never_errors",
        }
    }
}

impl Invariant {
    /// Its form and shape.
    pub fn form(&self) -> (Form, &Shape) {
        match (&self.never_allows, &self.always_allows, &self.never_errors) {
            (Some(s), _, _) => (Form::NeverAllows, s),
            (None, Some(s), _) => (Form::AlwaysAllows, s),
            (None, None, Some(s)) => (Form::NeverErrors, s),
            // Refused when the file is read.
            (None, None, None) => (Form::NeverErrors, &EMPTY_SHAPE),
        }
    }
}

static EMPTY_SHAPE: Shape = Shape {
    actions: Vec::new(),
    principals: Vec::new(),
    resources: Vec::new(),
    when: None,
};

/// Reads an invariants file and checks it against `pack`: one form per
/// invariant, unique ids, and only actions and types the schema declares.
pub(crate) fn read_invariants(path: &Path, pack: &PolicyPack) -> Result<Invariants, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let file: InvariantsFile = serde_yaml_ng::from_str(&text)
        .map_err(|e| format!("`{}` is not a valid invariants file: {e}", path.display()))?;
    let mut seen = BTreeSet::new();
    let mut problems = Vec::new();
    let actions: BTreeSet<String> = pack
        .schema
        .actions()
        .chain(pack.schema.action_groups())
        .map(|a| a.id().unescaped().to_string())
        .collect();
    let types: BTreeSet<String> = pack.schema.entity_types().map(ToString::to_string).collect();
    for inv in &file.invariants {
        let at = format!("invariant `{}`", inv.id);
        if inv.id.trim().is_empty() {
            problems.push("an invariant has an empty `id`".to_string());
        }
        if !seen.insert(inv.id.clone()) {
            problems.push(format!("{at} is written twice"));
        }
        let forms = [&inv.never_allows, &inv.always_allows, &inv.never_errors]
            .iter()
            .filter(|f| f.is_some())
            .count();
        if forms != 1 {
            problems.push(format!(
                "{at} must have exactly one of `never_allows`, `always_allows` or `never_errors` (it has {forms})"
            ));
            continue;
        }
        let (_, shape) = inv.form();
        for a in &shape.actions {
            if !actions.contains(a) {
                problems.push(format!(
                    "{at} names the action `{a}`, which the schema does not declare"
                ));
            }
        }
        for t in shape.principals.iter().chain(&shape.resources) {
            if !types.contains(t) {
                problems.push(format!(
                    "{at} names the entity type `{t}`, which the schema does not declare"
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(Invariants {
            assume: file.assume,
            list: file.invariants,
        })
    } else {
        Err(format!("`{}`:\n  {}", path.display(), problems.join("\n  ")))
    }
}
