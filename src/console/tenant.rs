//! tenant: one tenant whole — state, seats, notices, subscriptions, users and
//! operators (paged), what reconciliation would do now — and the ledger's
//! changes a support person makes (mark paid, assign or revoke a licence,
//! deactivate or reactivate an operator, add one). Each change goes through
//! the ledger, so the policies decide it; a refusal shows their message.

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::auth::Session;
use super::layout::{self, Nav};
use super::text::Lang;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::ledger::LedgerError;
use crate::ledger::inputs::{ByOnly, NewOperator, NumberInput, OperatorChange};

/// Users and operators a page shows.
pub(crate) const PAGE: usize = 50;

/// A path segment, percent-encoded.
pub fn encode(segment: &str) -> String {
    form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// A ledger error in the pack's words: its status and its banner.
pub fn refused(state: &AppState, lang: Lang, e: LedgerError) -> (StatusCode, Markup) {
    let (status, messages, policies) =
        crate::http::error::error_words(&state.engine().pack(), &ApiError::from(e));
    (status, layout::refusal(lang, lang.pick(&messages), &policies))
}

/// A result whose error is already a banner.
pub fn shown<T>(state: &AppState, lang: Lang, r: Result<T, LedgerError>) -> Result<T, Markup> {
    r.map_err(|e| refused(state, lang, e).1)
}

#[derive(Deserialize, Default)]
pub(crate) struct Params {
    #[serde(default)]
    users_after: String,
    #[serde(default)]
    operators_after: String,
    /// What the last change did (a key of the console's texts).
    #[serde(default)]
    done: String,
}

/// `GET /console/tenants/{tenant}`.
pub async fn page(
    session: Session,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Query(p): Query<Params>,
) -> Response {
    render(&session, &state, &tenant, &p, None).await
}

/// The tenant page, with a banner on top (a refusal, with its status).
async fn render(
    session: &Session,
    state: &AppState,
    tenant: &str,
    p: &Params,
    banner: Option<(StatusCode, Markup)>,
) -> Response {
    let lang = session.lang;
    let ledger = state.ledger();
    let summary = match ledger.tenant_summary(tenant.to_string()).await {
        Ok(s) => s,
        Err(e) => {
            let (status, banner) = refused(state, lang, e);
            let body = html! {
                h1 { (lang.t("tenant")) " " code { (tenant) } }
                (banner)
                p { a href="/console/tenants" { (lang.t("back_to_tenants")) } }
            };
            return (
                status,
                layout::page(session, lang.t("tenant"), Nav::Tenants, body),
            )
                .into_response();
        }
    };
    let (subs, users, operators, plan) = tokio::join!(
        ledger.list_subscriptions(tenant.to_string()),
        ledger.browse_users(tenant.to_string(), p.users_after.clone(), PAGE),
        ledger.browse_operators(tenant.to_string(), p.operators_after.clone(), PAGE),
        ledger.reconcile(tenant.to_string(), true),
    );
    let (subs, users, operators, plan) = (
        shown(state, lang, subs),
        shown(state, lang, users),
        shown(state, lang, operators),
        shown(state, lang, plan),
    );
    let pack = state.engine().pack();
    let t = &summary.tenant;
    let here = format!("/console/tenants/{}", encode(&t.id));
    let params = [
        ("users_after", p.users_after.as_str()),
        ("operators_after", p.operators_after.as_str()),
    ];
    let done = match p.done.as_str() {
        "paid" | "license" | "operator" | "added" => Some(lang.t(&format!("done_{}", p.done))),
        _ => None,
    };
    let status = banner.as_ref().map_or(StatusCode::OK, |(s, _)| *s);
    let body = html! {
        div.title-row {
            div {
                h1 { (t.name) }
                div.muted { code { (t.id) } " · " (lang.t("account")) " " code { (t.account) } }
            }
            div.badges { (super::tenants::state_badges(state, lang, &summary)) }
        }
        @if let Some((_, b)) = &banner { (b) }
        @if let Some(d) = done { (layout::done(d)) }
        div.grid {
            div.card {
                (layout::seat_bar(lang, lang.t("seats_user"), Some(&summary.seats.user)))
                (layout::seat_bar(lang, lang.t("seats_shop_floor"), summary.seats.shop_floor.as_ref()))
            }
            div.card {
                dl {
                    dt { (lang.t("hub")) }
                    dd { @match &t.hub { Some(h) => { (h.name) " · " (layout::when(&h.created_at)) } None => { span.muted { (lang.t("no_hub")) } } } }
                    @if let Some(end) = &t.trial_ends_at {
                        dt { (lang.t("trial_ends")) } dd { (layout::when(end)) }
                    }
                    dt { (lang.t("notices")) }
                    dd #notices {
                        @if summary.notices.is_empty() { span.muted { (lang.t("none")) } }
                        @for n in &summary.notices { div.notice data-kind=(n.kind) { (lang.pick(&n.message)) } }
                    }
                    @if !summary.in_force.is_empty() {
                        dt { (lang.t("in_force")) }
                        dd #in-force {
                            @for id in &summary.in_force {
                                div.notice.locked data-policy=(id) {
                                    (pack.meta.get(id).map(|m| lang.pick(&m.messages).to_string()).unwrap_or_default())
                                    " " code.small { (id) }
                                }
                            }
                        }
                    }
                }
            }
        }

        h2 { (lang.t("subscriptions")) }
        @match &subs {
            Err(banner) => (banner),
            Ok(list) => {
                table.list #subscriptions {
                    thead { tr {
                        th { (lang.t("number")) } th { (lang.t("kind")) } th.num { (lang.t("quantity")) }
                        th { (lang.t("starts")) } th { (lang.t("ends")) } th { (lang.t("payment_due")) }
                        th { (lang.t("paid")) } th { (lang.t("state")) } th {}
                    } }
                    tbody {
                        @for s in list {
                            tr data-number=(s.number) data-state=(s.state) {
                                td { (s.number) }
                                td { (lang.t(&format!("kind_{}", s.kind))) }
                                td.num { (s.quantity) }
                                td { (layout::when(&s.starts_at)) }
                                td { (layout::when(&s.ends_at)) }
                                td { (layout::when_opt(s.payment_due_at.as_deref())) }
                                td { @if s.paid || s.payment_due_at.is_some() { (layout::yes_no(lang, s.paid)) } @else { span.muted { "—" } } }
                                td { span class={ "badge sub-" (s.state) } { (lang.t(&format!("sub_{}", s.state))) } }
                                td {
                                    @if !s.paid && s.payment_due_at.is_some() {
                                        form.inline method="post" action={ (here) "/subscriptions/" (s.number) "/payment" } {
                                            input type="hidden" name="csrf" value=(session.csrf);
                                            button.primary.small type="submit" { (lang.t("mark_paid")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }

        h2 { (lang.t("users")) }
        @match &users {
            Err(banner) => (banner),
            Ok(page) => {
                table.list #users {
                    thead { tr {
                        th { (lang.t("id")) } th { (lang.t("name")) } th { (lang.t("role")) }
                        th { (lang.t("active")) } th { (lang.t("licensed")) } th { (lang.t("own_operator")) } th {}
                    } }
                    tbody {
                        @if page.items.is_empty() { tr { td.muted colspan="7" { (lang.t("none")) } } }
                        @for u in &page.items {
                            tr data-user=(u.id) {
                                td { code { (u.id) } }
                                td { (u.name) div.small.muted { (u.email) } }
                                td { (u.role) }
                                td { (layout::yes_no(lang, u.active)) }
                                td { (layout::yes_no(lang, u.licensed)) }
                                td { @match &u.own_operator { Some(o) => code { (o) }, None => span.muted { "—" } } }
                                td {
                                    form.inline method="post" action={ (here) "/users/" (encode(&u.id)) "/license" } {
                                        input type="hidden" name="csrf" value=(session.csrf);
                                        input type="hidden" name="assign" value=(!u.licensed);
                                        @if u.licensed {
                                            button.small type="submit" { (lang.t("revoke_license")) }
                                        } @else {
                                            button.small.primary type="submit" { (lang.t("assign_license")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if let Some(next) = &page.next {
                    nav.pager { a.next href=(super::with_param(&here, &params, "users_after", next)) { (lang.t("next_page")) " »" } }
                }
            }
        }

        h2 { (lang.t("operators")) }
        @match &operators {
            Err(banner) => (banner),
            Ok(page) => {
                table.list #operators {
                    thead { tr {
                        th { (lang.t("id")) } th { (lang.t("number")) } th { (lang.t("name")) } th { (lang.t("kind")) }
                        th { (lang.t("active")) } th { (lang.t("latest_production")) } th {}
                    } }
                    tbody {
                        @if page.items.is_empty() { tr { td.muted colspan="7" { (lang.t("none")) } } }
                        @for o in &page.items {
                            tr data-operator=(o.id) {
                                td { code { (o.id) } }
                                td { (o.number) }
                                td { (o.name) }
                                td { (lang.t(&format!("kind_{}", o.kind))) }
                                td {
                                    (layout::yes_no(lang, o.active))
                                    @if let Some(r) = &o.inactive_reason { div.small.muted { (r) } }
                                }
                                td { (layout::when_opt(o.latest_production.as_deref())) }
                                td {
                                    form.inline method="post" action={ (here) "/operators/" (encode(&o.id)) "/active" } {
                                        input type="hidden" name="csrf" value=(session.csrf);
                                        input type="hidden" name="active" value=(!o.active);
                                        @if o.active {
                                            button.small type="submit" { (lang.t("deactivate")) }
                                        } @else {
                                            button.small.primary type="submit" { (lang.t("reactivate")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if let Some(next) = &page.next {
                    nav.pager { a.next href=(super::with_param(&here, &params, "operators_after", next)) { (lang.t("next_page")) " »" } }
                }
            }
        }
        details.card #add-operator open[banner.is_some()] {
            summary { (lang.t("add_operator")) }
            form.row method="post" action={ (here) "/operators" } {
                input type="hidden" name="csrf" value=(session.csrf);
                label { (lang.t("id")) input type="text" name="id" required; }
                label { (lang.t("number")) input type="text" name="number" required; }
                label { (lang.t("name")) input type="text" name="name" required; }
                button.primary type="submit" { (lang.t("add")) }
            }
        }

        h2 { (lang.t("reconciliation")) }
        p.muted { (lang.t("reconciliation_intro")) }
        @match &plan {
            Err(banner) => (banner),
            Ok(plan) => {
                div.card #reconciliation {
                    p.small {
                        (lang.t("seats_shop_floor")) ": " (plan.shop_floor.in_use) " " (lang.t("in_use")) " / " (plan.shop_floor.capacity) " " (lang.t("capacity"))
                        " · " (lang.t("seats_user")) ": " (plan.user.in_use) " " (lang.t("in_use")) " / " (plan.user.capacity) " " (lang.t("capacity"))
                    }
                    @if plan.is_empty() {
                        p { (lang.t("reconciliation_nothing")) }
                    }
                    @if !plan.operators.is_empty() {
                        h3 { (lang.t("operators_to_deactivate")) }
                        ol {
                            @for o in &plan.operators {
                                li data-operator=(o.id) { code { (o.id) } " " (o.name) " (" (o.number) ") — " (lang.pick(&o.message)) }
                            }
                        }
                    }
                    @if !plan.licenses.is_empty() {
                        h3 { (lang.t("licences_to_revoke")) }
                        ol {
                            @for l in &plan.licenses {
                                li data-user=(l.user) { code { (l.user) } " — " (lang.pick(&l.message)) }
                            }
                        }
                    }
                }
            }
        }
    };
    (status, layout::page(session, &t.name, Nav::Tenants, body)).into_response()
}

/// After a change: back to the tenant page, saying what was done; on a
/// refusal, the page again with the policies' message and their status.
async fn after<T>(
    session: &Session,
    state: &AppState,
    tenant: &str,
    result: Result<T, LedgerError>,
    done: &str,
) -> Response {
    match result {
        Ok(_) => Redirect::to(&format!("/console/tenants/{}?done={done}", encode(tenant))).into_response(),
        Err(e) => {
            let banner = refused(state, session.lang, e);
            render(session, state, tenant, &Params::default(), Some(banner)).await
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct Csrf {
    #[serde(default)]
    csrf: String,
}

/// `POST .../subscriptions/{number}/payment`: marks it paid.
pub async fn pay(
    session: Session,
    State(state): State<AppState>,
    Path((tenant, number)): Path<(String, i64)>,
    Form(form): Form<Csrf>,
) -> Response {
    if let Some(refused) = session.forged(&form.csrf) {
        return refused;
    }
    let result = state.ledger().pay(tenant.clone(), number).await;
    after(&session, &state, &tenant, result, "paid").await
}

#[derive(Deserialize)]
pub(crate) struct LicenseForm {
    #[serde(default)]
    csrf: String,
    assign: bool,
}

/// `POST .../users/{user}/license`: assigns or revokes the user's licence.
pub async fn license(
    session: Session,
    State(state): State<AppState>,
    Path((tenant, user)): Path<(String, String)>,
    Form(form): Form<LicenseForm>,
) -> Response {
    if let Some(refused) = session.forged(&form.csrf) {
        return refused;
    }
    let ledger = state.ledger();
    let by = ByOnly { by: None };
    let result = if form.assign {
        ledger.assign_license(user, by).await
    } else {
        ledger.revoke_license(user, by).await
    };
    after(&session, &state, &tenant, result, "license").await
}

#[derive(Deserialize)]
pub(crate) struct ActiveForm {
    #[serde(default)]
    csrf: String,
    active: bool,
}

/// `POST .../operators/{operator}/active`: deactivates or reactivates it.
pub(crate) async fn operator_active(
    session: Session,
    State(state): State<AppState>,
    Path((tenant, operator)): Path<(String, String)>,
    Form(form): Form<ActiveForm>,
) -> Response {
    if let Some(refused) = session.forged(&form.csrf) {
        return refused;
    }
    let result = state
        .ledger()
        .update_operator(
            operator,
            OperatorChange {
                active: form.active,
                by: None,
            },
        )
        .await;
    after(&session, &state, &tenant, result, "operator").await
}

#[derive(Deserialize)]
pub(crate) struct OperatorForm {
    #[serde(default)]
    csrf: String,
    id: String,
    number: String,
    name: String,
}

/// `POST .../operators`: adds a seat operator (R5 decides).
pub async fn add_operator(
    session: Session,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Form(form): Form<OperatorForm>,
) -> Response {
    if let Some(refused) = session.forged(&form.csrf) {
        return refused;
    }
    let result = state
        .ledger()
        .add_operator(
            tenant.clone(),
            NewOperator {
                id: form.id,
                number: NumberInput::Text(form.number),
                name: form.name,
                by: None,
            },
        )
        .await;
    after(&session, &state, &tenant, result, "added").await
}
