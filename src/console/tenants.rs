//! tenants: every tenant a page at a time, searchable by id or name, with
//! its state, seats and notices.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::auth::Session;
use super::layout::{self, Nav};
use super::text::Lang;
use crate::http::AppState;
use crate::ledger::browse::TenantSummary;

/// Tenants a page shows.
pub(crate) const PAGE: usize = 25;

#[derive(Deserialize, Default)]
pub(crate) struct Params {
    #[serde(default)]
    q: String,
    #[serde(default)]
    after: String,
}

/// `GET /console/tenants?q=&after=`.
pub async fn page(session: Session, State(state): State<AppState>, Query(p): Query<Params>) -> Response {
    let lang = session.lang;
    let result = state
        .ledger()
        .browse_tenants(p.q.clone(), p.after.clone(), PAGE)
        .await;
    let result = super::tenant::shown(&state, lang, result);
    let body = html! {
        div.title-row {
            h1 { (lang.t("nav_tenants")) }
            form.search method="get" action="/console/tenants" role="search" {
                input type="search" name="q" value=(p.q) placeholder=(lang.t("search_tenants")) aria-label=(lang.t("search_tenants"));
                button type="submit" { (lang.t("search")) }
            }
        }
        @match &result {
            Err(banner) => (banner),
            Ok(page) if page.items.is_empty() => { div.card { p.muted { (lang.t("no_tenants")) } } }
            Ok(page) => {
                table.list #tenants {
                    thead { tr {
                        th { (lang.t("tenant")) }
                        th { (lang.t("state")) }
                        th { (lang.t("seats_user")) }
                        th { (lang.t("seats_shop_floor")) }
                        th { (lang.t("notices")) }
                    } }
                    tbody {
                        @for t in &page.items { (row(&state, lang, t)) }
                    }
                }
                nav.pager {
                    @if !p.after.is_empty() {
                        a href=(super::with_param("/console/tenants", &[("q", &p.q)], "after", "")) { "« " (lang.t("first_page")) }
                    }
                    @if let Some(next) = &page.next {
                        a.next href=(super::with_param("/console/tenants", &[("q", &p.q)], "after", next)) { (lang.t("next_page")) " »" }
                    }
                }
            }
        }
    };
    layout::page(&session, lang.t("nav_tenants"), Nav::Tenants, body).into_response()
}

fn row(state: &AppState, lang: Lang, t: &TenantSummary) -> Markup {
    let href = format!("/console/tenants/{}", super::tenant::encode(&t.tenant.id));
    html! {
        tr data-tenant=(t.tenant.id) {
            td {
                a href=(href) { strong { (t.tenant.name) } }
                div.small.muted { code { (t.tenant.id) } " · " (lang.t("account")) " " code { (t.tenant.account) } }
            }
            td { (state_badges(state, lang, t)) }
            td { (layout::seat_bar(lang, "", Some(&t.seats.user))) }
            td { (layout::seat_bar(lang, "", t.seats.shop_floor.as_ref())) }
            td {
                @if t.notices.is_empty() { span.muted { "—" } }
                @for n in &t.notices {
                    div.notice.small data-kind=(n.kind) { (lang.pick(&n.message)) }
                }
            }
        }
    }
}

/// The tenant's state: trial (and until when) or provisioned, and locked
/// when a notice policy's forbid is in force (its own message as title).
pub(crate) fn state_badges(state: &AppState, lang: Lang, t: &TenantSummary) -> Markup {
    let pack = state.engine().pack();
    html! {
        @if t.tenant.state == "trial" {
            span.badge.trial { (lang.t("state_trial")) }
        } @else {
            span.badge.ok { (lang.t("state_provisioned")) }
        }
        @for id in &t.in_force {
            @let why = pack.meta.get(id).map(|m| lang.pick(&m.messages).to_string()).unwrap_or_default();
            " " span.badge.locked title=(why) data-policy=(id) { (lang.t("state_locked")) }
        }
        @for n in &t.notices {
            " " span.badge.warn data-kind=(n.kind) { (n.days_left) " " (lang.t("days_left")) }
        }
    }
}
