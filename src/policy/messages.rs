//! messages: what policies say to people, per language, from their annotations.
//!
//! `@message_en("...")` and `@message_fr("...")` give a deny's message;
//! `@notice_en` / `@notice_fr` give a notice's template. Templates may hold
//! `{days_left}` or `{days_left|day|days}` (singular and plural forms).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Text per language code (`en`, `fr`, ...), sorted by language.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(example = json!({"en": "No policy permits this operation", "fr": "Aucune règle n'autorise cette opération"}))]
pub struct Messages(pub BTreeMap<String, String>);

impl Messages {
    /// Collects every annotation named `{prefix}_{lang}`.
    pub(crate) fn from_annotations<'a>(
        prefix: &str,
        annotations: impl Iterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        let prefix = format!("{prefix}_");
        Self(
            annotations
                .filter_map(|(k, v)| {
                    let lang = k.strip_prefix(&prefix)?;
                    (!lang.is_empty()).then(|| (lang.to_string(), v.to_string()))
                })
                .collect(),
        )
    }

    /// The languages of `languages` this has no text in.
    pub fn missing<'a>(&self, languages: &'a std::collections::BTreeSet<String>) -> Vec<&'a str> {
        languages
            .iter()
            .filter(|l| !self.0.contains_key(*l))
            .map(String::as_str)
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, lang: &str) -> Option<&str> {
        self.0.get(lang).map(String::as_str)
    }

    /// Fills `{key}` placeholders with `values` in every language.
    pub fn fill<K: AsRef<str>>(&self, values: &[(K, String)]) -> Self {
        Self(
            self.0
                .iter()
                .map(|(lang, t)| {
                    let mut text = t.clone();
                    for (k, v) in values {
                        text = text.replace(&format!("{{{}}}", k.as_ref()), v);
                    }
                    (lang.clone(), text)
                })
                .collect(),
        )
    }

    /// Fills `{days_left}` placeholders in every language.
    pub(crate) fn fill_days(&self, days_left: i64) -> Self {
        Self(
            self.0
                .iter()
                .map(|(lang, t)| (lang.clone(), fill_days(lang, t, days_left)))
                .collect(),
        )
    }
}

/// Replaces `{days_left}` with the number, and `{days_left|one|many}` with the
/// number followed by the form the language uses for it.
pub(crate) fn fill_days(lang: &str, template: &str, days: i64) -> String {
    let mut out = String::with_capacity(template.len() + 8);
    let mut rest = template;
    while let Some(start) = rest.find("{days_left") {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let Some(end) = after.find('}') else {
            out.push_str(after);
            return out;
        };
        let inner = &after[1..end];
        let mut parts = inner.split('|');
        let _ = parts.next();
        match (parts.next(), parts.next()) {
            (Some(one), Some(many)) => {
                let form = if is_singular(lang, days) { one } else { many };
                out.push_str(&format!("{days} {form}"));
            }
            _ => out.push_str(&days.to_string()),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// French uses the singular for 0 and 1; English and most others only for 1.
fn is_singular(lang: &str, n: i64) -> bool {
    match lang {
        "fr" => n.abs() < 2,
        _ => n.abs() == 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_placeholder_is_the_number() {
        assert_eq!(fill_days("en", "{days_left} left", 5), "5 left");
    }

    #[test]
    fn plural_forms_follow_the_language() {
        let t = "in {days_left|day|days}";
        assert_eq!(fill_days("en", t, 1), "in 1 day");
        assert_eq!(fill_days("en", t, 0), "in 0 days");
        assert_eq!(fill_days("en", t, 12), "in 12 days");
        let t = "dans {days_left|jour|jours}";
        assert_eq!(fill_days("fr", t, 0), "dans 0 jour");
        assert_eq!(fill_days("fr", t, 1), "dans 1 jour");
        assert_eq!(fill_days("fr", t, 2), "dans 2 jours");
    }

    #[test]
    fn collects_messages_by_language() {
        let ann = [("message_en", "hi"), ("message_fr", "salut"), ("id", "x")];
        let m = Messages::from_annotations("message", ann.into_iter());
        assert_eq!(m.get("en"), Some("hi"));
        assert_eq!(m.get("fr"), Some("salut"));
        assert_eq!(m.0.len(), 2);
    }
}
