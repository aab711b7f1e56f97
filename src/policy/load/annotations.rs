//! Reading a policy's annotations: the lines they sit on, the ones the pack knows (with a suggestion for a misspelt one), notices, and the message catalogue.

use super::*;

pub(super) fn id_line(text: &str, id: &str) -> usize {
    let needle = format!("@id(\"{id}\")");
    text.find(&needle).map(|o| line_col(text, o).0).unwrap_or(1)
}

pub(super) fn policy_line(text: &str, policy: &cedar_policy::Policy) -> usize {
    let src = policy.to_string();
    let head: String = src.lines().next().unwrap_or("").chars().take(20).collect();
    text.find(head.trim()).map(|o| line_col(text, o).0).unwrap_or(1)
}

/// A notice policy: a forbid whose first `when` says the notice is due and whose
/// clauses together say the forbid applies.
pub(super) fn notice_rule(policy: &cedar_policy::Policy, kind: &str) -> Result<NoticeRule, String> {
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
pub(super) fn known_annotation(key: &str) -> bool {
    matches!(key, "id" | "description" | "code" | "notice")
        || ["message_", "notice_"]
            .iter()
            .any(|p| key.strip_prefix(p).is_some_and(is_language))
}

/// A language code: two or three lowercase letters (`en`, `fr`, `deu`).
pub(super) fn is_language(s: &str) -> bool {
    (2..=3).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase())
}

/// The known annotation an unknown one is closest to, if close.
pub(super) fn suggestion(key: &str) -> Option<String> {
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
pub(super) fn distance(a: &str, b: &str) -> usize {
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
pub(super) fn annotation_line(text: &str, id_line: usize, key: &str) -> usize {
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
pub(super) fn nth_id_line(text: &str, id: &str, n: usize) -> usize {
    let needle = format!("@id(\"{id}\")");
    text.match_indices(&needle)
        .nth(n.saturating_sub(1))
        .map(|(o, _)| line_col(text, o).0)
        .unwrap_or(1)
}

/// `messages.yaml`: code → language → text.
pub(super) fn read_catalogue(text: &str) -> Result<BTreeMap<String, Messages>, Box<Problem>> {
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
