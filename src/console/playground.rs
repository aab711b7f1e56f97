//! playground: ask a decision as a service would (subject, action, resource,
//! optional properties and context, chosen from the store with completion)
//! and see the answer with its explanation condition by condition, the slice
//! of entities it loaded, and the same request as a curl command. A GET form:
//! a playground link can be shared. Nothing is logged or changed.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::auth::Session;
use super::layout::{self, Nav};
use super::text::Lang;
use crate::explain::{self, Explanation};
use crate::http::AppState;
use crate::slice::Source;
use crate::store::candidates::Within;

/// The playground's fields, as the form sends them.
#[derive(Deserialize, Default, Debug)]
pub(crate) struct Params {
    #[serde(default)]
    pub subject_type: String,
    #[serde(default)]
    pub subject_id: String,
    #[serde(default)]
    pub subject_properties: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub resource_type: String,
    #[serde(default)]
    pub resource_id: String,
    #[serde(default)]
    pub resource_properties: String,
    #[serde(default)]
    pub context: String,
    #[serde(default)]
    pub at: String,
}

impl Params {
    /// The playground link that asks `request` (an AuthZEN evaluation request).
    pub(crate) fn link(request: &Value) -> String {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let json_of = |v: &Value| match v {
            Value::Object(m) if !m.is_empty() => v.to_string(),
            _ => String::new(),
        };
        let pairs = [
            ("subject_type", text(&request["subject"]["type"])),
            ("subject_id", text(&request["subject"]["id"])),
            ("subject_properties", json_of(&request["subject"]["properties"])),
            ("action", text(&request["action"]["name"])),
            ("resource_type", text(&request["resource"]["type"])),
            ("resource_id", text(&request["resource"]["id"])),
            ("resource_properties", json_of(&request["resource"]["properties"])),
            ("context", json_of(&request["context"])),
        ];
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
            q.append_pair(k, v);
        }
        format!("/console/playground?{}", q.finish())
    }

    /// The AuthZEN request these fields make, or which field is not JSON.
    fn request(&self, lang: Lang) -> Result<Value, String> {
        let object = |label: &str, text: &str| -> Result<Option<Map<String, Value>>, String> {
            if text.trim().is_empty() {
                return Ok(None);
            }
            match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(m)) => Ok(Some(m)),
                _ => Err(format!("{} {}", lang.t(label), lang.t("bad_json"))),
            }
        };
        let mut subject = json!({"type": self.subject_type.trim(), "id": self.subject_id.trim()});
        if let Some(p) = object("subject_properties", &self.subject_properties)? {
            subject["properties"] = Value::Object(p);
        }
        let mut resource = json!({"type": self.resource_type.trim(), "id": self.resource_id.trim()});
        if let Some(p) = object("resource_properties", &self.resource_properties)? {
            resource["properties"] = Value::Object(p);
        }
        let mut request =
            json!({"subject": subject, "action": {"name": self.action.trim()}, "resource": resource});
        if let Some(c) = object("context", &self.context)? {
            request["context"] = Value::Object(c);
        }
        Ok(request)
    }

    fn asked(&self) -> bool {
        !self.subject_id.trim().is_empty()
            && !self.action.trim().is_empty()
            && !self.resource_id.trim().is_empty()
    }
}

/// `GET /console/playground?...`: the form, and the answer when it is filled.
pub async fn page(
    session: Session,
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Response {
    let lang = session.lang;
    let pack = state.engine().pack();
    let (answer, status) = if p.asked() {
        match ask(&state, lang, &p).await {
            Ok((request, x)) => (Some(Ok((request, x))), StatusCode::OK),
            Err(m) => (Some(Err(m)), StatusCode::BAD_REQUEST),
        }
    } else {
        (None, StatusCode::OK)
    };
    let types: Vec<&String> = pack.info.entities.keys().collect();
    let actions = super::action_names(&pack);
    // The subject's or the resource's fields: a type, an id completed from
    // the store, properties.
    let entity = |side: &str, ty: &str, id: &str, properties: &str, fallback: &str| {
        let chosen = if ty.is_empty() { fallback } else { ty };
        html! {
            fieldset {
                legend { (lang.t(side)) }
                label { (lang.t("type"))
                    select name={ (side) "_type" } data-completes={ (side) "_id" } {
                        @for t in &types { option value=(t) selected[t.as_str() == chosen] { (t) } }
                    }
                }
                label { (lang.t("id")) input type="text" name={ (side) "_id" } value=(id) list={ (side) "_id-list" } autocomplete="off" required; }
                datalist id={ (side) "_id-list" } {}
                label { (lang.t(&format!("{side}_properties"))) textarea name={ (side) "_properties" } rows="2" { (properties) } }
            }
        }
    };
    let base = state.public_url(&headers);
    let body = html! {
        h1 { (lang.t("nav_playground")) }
        p.muted { (lang.t("playground_intro")) }
        form.card.playground #playground method="get" action="/console/playground" {
            div.grid3 {
                (entity("subject", &p.subject_type, &p.subject_id, &p.subject_properties, "User"))
                fieldset {
                    legend { (lang.t("action")) }
                    label { (lang.t("action")) select name="action" {
                        @for a in &actions { option value=(a) selected[*a == p.action] { (a) } }
                    } }
                    label { (lang.t("context")) textarea name="context" rows="4" { (p.context) } }
                    label { (lang.t("at_time")) input type="text" name="at" value=(p.at) placeholder="2026-12-02T09:00:00Z"; }
                }
                (entity("resource", &p.resource_type, &p.resource_id, &p.resource_properties, "Tenant"))
            }
            button.primary type="submit" { (lang.t("decide")) }
        }
        @match &answer {
            None => {}
            Some(Err(m)) => (layout::refusal(lang, m, &[])),
            Some(Ok((request, x))) => (answer_view(&state, lang, &base, request, x)),
        }
    };
    (
        status,
        layout::page(&session, lang.t("nav_playground"), Nav::Playground, body),
    )
        .into_response()
}

/// Explains the request the fields make.
async fn ask(state: &AppState, lang: Lang, p: &Params) -> Result<(Value, Explanation), String> {
    let request = p.request(lang)?;
    let query = crate::http::authzen::parse_evaluation(&request).map_err(|e| message_of(state, lang, &e))?;
    let at = match p.at.trim() {
        "" => None,
        text => Some(crate::time::parse(text).map_err(|m| format!("{}: {m}", lang.t("at_time")))?),
    };
    let engine = state.engine().clone();
    let explained = tokio::task::spawn_blocking(move || {
        let pack = engine.pack();
        let now = at.unwrap_or_else(|| engine.clock().now());
        explain::explain(&engine, &pack, Source::Store(engine.store()), now, &query)
    })
    .await;
    match explained {
        Ok(Ok(x)) => Ok((request, x)),
        Ok(Err(e)) => Err(message_of(state, lang, &e.into())),
        Err(e) => Err(message_of(state, lang, &e.into())),
    }
}

fn message_of(state: &AppState, lang: Lang, e: &crate::http::error::ApiError) -> String {
    let (_, messages, _) = crate::http::error::error_words(&state.engine().pack(), e);
    lang.pick(&messages).to_string()
}

fn answer_view(state: &AppState, lang: Lang, base: &str, request: &Value, x: &Explanation) -> Markup {
    let curl = curl(state, base, request);
    html! {
        section.card.answer #answer data-decision=(x.decision) {
            div.title-row {
                h2 {
                    (lang.t("decision")) ": "
                    @if x.decision { span.badge.ok.big { (lang.t("allow")) } } @else { span.badge.locked.big { (lang.t("deny")) } }
                }
                button.small type="button" data-copy="curl" data-copied=(lang.t("copied")) { (lang.t("copy_curl")) }
            }
            @if let Some(m) = &x.message { p.message { (lang.pick(m)) } }
            p.small {
                (lang.t("policies_said")) ": "
                @if x.reasons.is_empty() { span.muted { (lang.t("none")) } }
                @for r in &x.reasons { code { (r) } " " }
                " · " (lang.t("revision")) " " code { (x.policy_revision) }
            }
            @if !x.unknown.is_empty() {
                div.error { strong { (lang.t("unknown")) } ": " @for u in &x.unknown { div { (u) } } }
            }
            @if !x.errors.is_empty() {
                div.error { strong { (lang.t("errors")) } ": " @for u in &x.errors { div { (u) } } }
            }
            @for n in &x.notices { div.notice data-kind=(n.kind) { (lang.pick(&n.message)) } }
            pre #curl { code { (curl) } }
        }
        @if !x.policies.is_empty() {
            h2 { (lang.t("explanation")) }
            div #explanation {
                @for p in &x.policies {
                    details.card.trace data-policy=(p.id) data-outcome=(p.outcome) open[p.outcome == "determining"] {
                        summary {
                            span class={ "badge outcome-" (p.outcome) } { (p.outcome) } " "
                            strong { (p.id) } " " span.muted.small { (p.effect) " · " (p.file) ":" (p.line) }
                            @if let Some(d) = &p.description { div.small { (d) } }
                        }
                        @if let Some(m) = &p.message { p.small.message { (lang.pick(m)) } }
                        @if let Some(e) = &p.error { p.error.small { (e) } }
                        table.checks {
                            @for c in p.scope.iter().chain(p.clauses.iter()) {
                                tr class=(if c.passed { "pass" } else { "fail" }) {
                                    td.mark { @if c.passed { "✓" } @else { "✗" } }
                                    td { span.muted.small { (c.kind) } " " code { (c.text) }
                                        @if let Some(b) = &c.because { div.small { "⟶ " code { (b) } } }
                                        @if let Some(e) = &c.error { div.small.error { (e) } }
                                    }
                                    td.values {
                                        @for (k, v) in &c.values { div.small { code { (k) } " = " code { (v) } } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { (lang.t("slice")) }
        pre.slice #slice { code { (serde_json::to_string_pretty(&x.entities).unwrap_or_default()) } }
    }
}

/// The same request as a curl command against this service.
fn curl(state: &AppState, base: &str, request: &Value) -> String {
    let body = request.to_string().replace('\'', "'\\''");
    let token = if state.decisions_need_token() {
        " \\\n  -H \"Authorization: Bearer $TURNSTILE_DECISION_TOKEN\""
    } else {
        ""
    };
    format!(
        "curl -s {base}/access/v1/evaluation \\\n  -H 'Content-Type: application/json'{token} \\\n  -d '{body}'"
    )
}

#[derive(Deserialize)]
pub(crate) struct Complete {
    #[serde(rename = "type", default)]
    ty: String,
    #[serde(default)]
    q: String,
}

/// `GET /console/complete?type=User&q=ac`: up to 20 stored ids of that type
/// starting with `q`, for the playground's completion (JSON).
pub async fn complete(
    _session: Session,
    State(state): State<AppState>,
    Query(c): Query<Complete>,
) -> Response {
    let pack = state.engine().pack();
    let ledger = pack.ledger_types.contains(&c.ty);
    let store = state.engine().store().clone();
    let prefix = c.q.clone();
    let found = tokio::task::spawn_blocking(move || -> Result<Vec<String>, crate::store::StoreError> {
        let conn = store.reader()?;
        let ids = conn.candidates(&c.ty, ledger, Within::All, &just_before(&prefix), 20)?;
        Ok(ids.into_iter().filter(|id| id.starts_with(&prefix)).collect())
    })
    .await;
    match found {
        Ok(Ok(ids)) => axum::Json(ids).into_response(),
        _ => (StatusCode::SERVICE_UNAVAILABLE, axum::Json(Vec::<String>::new())).into_response(),
    }
}

/// A string just before every string that starts with `prefix` (ids are
/// compared byte by byte): `ab` → `aa\u{10FFFF}`.
fn just_before(prefix: &str) -> String {
    let mut chars: Vec<char> = prefix.chars().collect();
    match chars.pop() {
        None => String::new(),
        Some(last) => {
            let mut s: String = chars.into_iter().collect();
            if let Some(prev) = (last as u32).checked_sub(1).and_then(char::from_u32) {
                s.push(prev);
                s.push(char::MAX);
            }
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_completion_cursor_sorts_before_every_id_with_the_prefix() {
        let before = just_before("ab");
        for id in ["ab", "ab0", "abz", "ab\u{10FFFF}"] {
            assert!(before.as_str() < id, "{id}");
        }
        assert!(before.as_str() > "aa");
        assert_eq!(just_before(""), "");
    }
}
