//! console: the web console at `/console`, HTML rendered by this binary over
//! the same ledger, engine and author's tools the JSON API calls. Five pages:
//! tenants, one tenant, the decision playground, the policies (with the
//! impact of an edit) and the decision log, in English and French.
//!
//! Behind the admin token: a login form sets a signed session cookie
//! (HttpOnly, SameSite=Strict), every form carries a CSRF token bound to that
//! session, and maud escapes every value it prints. Changes go through the
//! ledger, so the policies decide them and their refusals are shown as the
//! policies word them. This module never decides anything and speaks no SQL.

mod assets;
mod auth;
mod layout;
mod log;
mod playground;
mod policies;
mod tenant;
mod tenants;
mod text;

use axum::Router;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::http::AppState;
pub use auth::Session;
pub use text::Lang;

/// The console's routes, to be nested at `/console`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/console/tenants") }))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/language/{lang}", get(auth::language))
        .route("/assets/console.css", get(assets::css))
        .route("/assets/console.js", get(assets::js))
        .route("/tenants", get(tenants::page))
        .route("/tenants/{tenant}", get(tenant::page))
        .route("/tenants/{tenant}/operators", post(tenant::add_operator))
        .route(
            "/tenants/{tenant}/subscriptions/{number}/payment",
            post(tenant::pay),
        )
        .route("/tenants/{tenant}/users/{user}/license", post(tenant::license))
        .route(
            "/tenants/{tenant}/operators/{operator}/active",
            post(tenant::operator_active),
        )
        .route("/playground", get(playground::page))
        .route("/complete", get(playground::complete))
        .route("/policies", get(policies::page))
        .route("/policies/impact", post(policies::impact))
        .route("/log", get(log::page))
        .fallback(|session: Session| async move { not_found(&session) })
        .layer(axum::middleware::map_response(guarded))
}

/// What every console answer tells the browser: run only this site's
/// scripts, never be framed (no clickjacking of its buttons), keep pages out
/// of caches, send no referrer elsewhere.
async fn guarded(mut resp: Response) -> Response {
    use axum::http::{HeaderValue, header};
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
             frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// A page for a path that names nothing.
fn not_found(session: &Session) -> Response {
    let lang = session.lang;
    let body = maud::html! {
        div.card {
            h1 { (lang.t("not_found")) }
            p { a href="/console/tenants" { (lang.t("back_to_tenants")) } }
        }
    };
    (
        axum::http::StatusCode::NOT_FOUND,
        layout::page(session, lang.t("not_found"), layout::Nav::None, body),
    )
        .into_response()
}

/// The actions a request may name (groups are not), in name order.
fn action_names(pack: &crate::policy::PolicyPack) -> Vec<&str> {
    pack.info
        .actions
        .iter()
        .filter(|(_, a)| !a.is_group)
        .map(|(n, _)| n.as_str())
        .collect()
}

/// Where a paged table goes on: the same query with `key` set to `value`.
fn with_param(path: &str, params: &[(&str, &str)], key: &str, value: &str) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        if *k != key && !v.is_empty() {
            out.append_pair(k, v);
        }
    }
    out.append_pair(key, value);
    format!("{path}?{}", out.finish())
}
