//! log: the latest decisions this node made (the in-memory tail of the
//! decision log), newest first, filtered by decision, tenant, action and
//! policy; each opens in the playground.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use serde_json::Value;

use super::auth::Session;
use super::layout::{self, Nav};
use super::playground::Params as Playground;
use crate::decision_log::Entry;
use crate::http::AppState;

/// Rows the page shows at most.
const ROWS: usize = 200;

#[derive(Deserialize, Default)]
pub(crate) struct Filter {
    /// `allow`, `deny` or empty for both.
    #[serde(default)]
    decision: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    policy: String,
}

/// The tenant a logged request concerns: its resource when a tenant, else
/// the `tenant` its context names.
fn tenant_of(request: &Value) -> Option<&str> {
    if request["resource"]["type"] == "Tenant" {
        return request["resource"]["id"].as_str();
    }
    let t = &request["context"]["tenant"];
    t["id"].as_str().or_else(|| t.as_str())
}

impl Filter {
    fn keeps(&self, e: &Entry) -> bool {
        let decision = match self.decision.as_str() {
            "allow" => e.decision,
            "deny" => !e.decision,
            _ => true,
        };
        let tenant = self.tenant.trim();
        let action = self.action.trim();
        let policy = self.policy.trim();
        decision
            && (tenant.is_empty() || tenant_of(&e.request) == Some(tenant))
            && (action.is_empty() || e.request["action"]["name"] == action)
            && (policy.is_empty() || e.reasons.iter().any(|r| r == policy))
    }
}

fn entity(v: &Value) -> String {
    format!(
        "{}::\"{}\"",
        v["type"].as_str().unwrap_or("?"),
        v["id"].as_str().unwrap_or("?")
    )
}

/// `GET /console/log?decision=&tenant=&action=&policy=`.
pub async fn page(session: Session, State(state): State<AppState>, Query(f): Query<Filter>) -> Response {
    let lang = session.lang;
    let log = state.engine().log().cloned();
    let entries: Vec<Entry> = log
        .as_ref()
        .map(|l| l.recent())
        .unwrap_or_default()
        .into_iter()
        .filter(|e| f.keeps(e))
        .take(ROWS)
        .collect();
    let pack = state.engine().pack();
    let actions = super::action_names(&pack);
    let body = html! {
        h1 { (lang.t("nav_log")) }
        p.muted { (lang.t("log_intro")) }
        form.card.row #log-filter method="get" action="/console/log" {
            label { (lang.t("decision"))
                select name="decision" {
                    option value="" { (lang.t("all")) }
                    option value="allow" selected[f.decision == "allow"] { (lang.t("allow")) }
                    option value="deny" selected[f.decision == "deny"] { (lang.t("deny")) }
                }
            }
            label { (lang.t("tenant")) input type="text" name="tenant" value=(f.tenant); }
            label { (lang.t("action"))
                select name="action" {
                    option value="" { (lang.t("all")) }
                    @for a in &actions { option value=(a) selected[*a == f.action] { (a) } }
                }
            }
            label { (lang.t("policy"))
                input type="text" name="policy" value=(f.policy) list="policy-ids";
                datalist #policy-ids { @for id in pack.meta.keys() { option value=(id) {} } }
            }
            button.primary type="submit" { (lang.t("filter")) }
        }
        @if log.is_none() {
            div.card { p.muted { (lang.t("log_off")) } }
        } @else if entries.is_empty() {
            div.card { p.muted { (lang.t("log_empty")) } }
        } @else {
            table.list #decisions {
                thead { tr {
                    th { (lang.t("time")) } th { (lang.t("subject")) } th { (lang.t("action")) } th { (lang.t("resource")) }
                    th { (lang.t("decision")) } th { (lang.t("policies_said")) } th.num { (lang.t("latency")) } th {}
                } }
                tbody {
                    @for e in &entries {
                        tr data-decision=(e.decision_id) data-allowed=(e.decision) {
                            td.small { (layout::when(&e.time)) div.muted { (e.source) } }
                            td { code { (entity(&e.request["subject"])) } }
                            td { (e.request["action"]["name"].as_str().unwrap_or("?")) }
                            td { code { (entity(&e.request["resource"])) } }
                            td { @if e.decision { span.badge.ok { (lang.t("allow")) } } @else { span.badge.locked { (lang.t("deny")) } } }
                            td.small { @for r in &e.reasons { code { (r) } " " } }
                            td.num.small { (e.latency_us) " µs" }
                            td { a.small href=(Playground::link(&e.request)) { (lang.t("open_playground")) } }
                        }
                    }
                }
            }
        }
    };
    layout::page(&session, lang.t("nav_log"), Nav::Log, body).into_response()
}
