//! Recorded answers: where a scenario file's answers live, reading and writing them, and how a run differs from them.

use super::*;

/// Where the recorded answers of a scenario file live: `answers/<file>` beside it.
pub fn answers_path(file: &Path) -> PathBuf {
    let name = file.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    file.parent().unwrap_or(Path::new(".")).join("answers").join(name)
}

/// One recorded answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Recorded {
    pub name: String,
    pub status: u16,
    pub response: Value,
}

/// The answers as they would be recorded.
pub fn recorded(outcome: &Outcome) -> Vec<Recorded> {
    outcome
        .cases
        .iter()
        .map(|c| Recorded {
            name: c.name.clone(),
            status: c.status,
            response: c.response.clone(),
        })
        .collect()
}

/// Reads the recorded answers of `file`, if it has any.
pub(crate) fn read_answers(file: &Path) -> Result<Option<Vec<Recorded>>, String> {
    let path = answers_path(file);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_yaml_ng::from_str(&text)
            .map(Some)
            .map_err(|e| format!("`{}` is not a file of recorded answers: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read `{}`: {e}", path.display())),
    }
}

/// Writes the answers of `outcome` as the recorded ones.
pub(crate) fn write_answers(outcome: &Outcome) -> Result<PathBuf, String> {
    let path = answers_path(&outcome.file);
    let header = format!(
        "# The whole answers of `{}`, recorded by `turnstile test --accept`:\n# every run compares each step's answer with these. Do not edit by hand.\n",
        outcome
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    let body = serde_yaml_ng::to_string(&recorded(outcome)).map_err(|e| e.to_string())?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    }
    std::fs::write(&path, format!("{header}{body}"))
        .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
    Ok(path)
}

/// How the answers of a run differ from the recorded ones, per case
/// (index, lines); empty when they are the same.
pub(crate) fn answer_changes(outcome: &Outcome, recorded: &[Recorded]) -> Vec<(Option<usize>, Vec<String>)> {
    let mut out = Vec::new();
    if recorded.len() != outcome.cases.len() {
        out.push((
            None,
            vec![format!(
                "the file has {} steps, the recorded answers {}",
                outcome.cases.len(),
                recorded.len()
            )],
        ));
    }
    for (i, (case, rec)) in outcome.cases.iter().zip(recorded).enumerate() {
        let mut lines = Vec::new();
        if case.name != rec.name {
            lines.push(format!("recorded as step `{}`", rec.name));
        }
        if case.status != rec.status {
            lines.push(format!("status: {} → {}", rec.status, case.status));
        }
        for c in crate::replay::changes(&rec.response, &case.response) {
            lines.push(c.to_string());
        }
        if !lines.is_empty() {
            out.push((Some(i), lines));
        }
    }
    out
}

/// Adds to each case a failure for every difference from the recorded answers.
pub(super) fn check_answers(outcome: &mut Outcome) {
    let recorded = match read_answers(&outcome.file) {
        Ok(Some(r)) => r,
        Ok(None) => return,
        Err(e) => {
            if let Some(first) = outcome.cases.first_mut() {
                first.changed.push(e);
            }
            return;
        }
    };
    for (index, lines) in answer_changes(outcome, &recorded) {
        let case = match index {
            Some(i) => outcome.cases.get_mut(i),
            None => outcome.cases.last_mut(),
        };
        if let Some(case) = case {
            case.changed.extend(lines);
        }
    }
}

/// The scenario files of a directory, sorted.
pub fn files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    out.sort();
    Ok(out)
}
