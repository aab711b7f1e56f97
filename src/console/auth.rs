//! auth: who may use the console. The admin token, given once in a login
//! form, opens a session held in a signed cookie (HttpOnly, SameSite=Strict,
//! eight hours); every node with the same token accepts it, so the console
//! works behind a load balancer. Each form carries a CSRF token derived from
//! the session; a POST whose `Origin` is another site is refused too. The
//! token itself is never shown, stored in the cookie or logged.

use axum::extract::{Form, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use hmac::{Hmac, Mac};
use maud::html;
use serde::Deserialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::layout;
use super::text::Lang;
use crate::http::AppState;

/// The session cookie's name.
pub(crate) const COOKIE: &str = "turnstile_console";
/// The language cookie's name.
const LANG_COOKIE: &str = "turnstile_lang";
/// How long a session lasts.
const SESSION_SECS: i64 = 8 * 3600;

/// A signed-in person, as a handler sees them: taking a `Session` makes a
/// page need one (without, the browser is sent to the login form).
pub struct Session {
    pub lang: Lang,
    /// The CSRF token every form of this session carries.
    pub csrf: String,
    /// A POST from another site (its `Origin` is not this host).
    cross_origin: bool,
    /// When the request arrived, to show how long the page took.
    pub started: std::time::Instant,
    /// The page asked (path and query), for the language switch to return to.
    pub here: String,
}

impl Session {
    /// The refusal of a form whose CSRF token is not this session's (or that
    /// another site posted): a page saying so. `None`: the form may go on.
    pub fn forged(&self, given: &str) -> Option<Response> {
        let ok: bool = given.as_bytes().ct_eq(self.csrf.as_bytes()).into();
        if ok && !self.cross_origin {
            return None;
        }
        let body = html! { div.card.error { p { (self.lang.t("csrf")) } } };
        Some(
            (
                StatusCode::FORBIDDEN,
                layout::page(self, self.lang.t("refused"), layout::Nav::None, body),
            )
                .into_response(),
        )
    }
}

fn mac(key: &[u8; 32], data: &str) -> String {
    // HMAC takes a key of any length: this cannot fail.
    let Ok(mut m) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    m.update(data.as_bytes());
    hex(&m.finalize().into_bytes())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// A new session cookie's value: `expiry.nonce.mac`.
fn new_session(key: &[u8; 32]) -> String {
    let mut nonce = [0u8; 16];
    if getrandom::fill(&mut nonce).is_err() {
        nonce = ulid::Ulid::new().0.to_be_bytes();
    }
    let body = format!("{}.{}", now() + SESSION_SECS, hex(&nonce));
    let sig = mac(key, &body);
    format!("{body}.{sig}")
}

/// Whether a session cookie's value is one this service signed and still good.
fn valid(key: &[u8; 32], value: &str) -> bool {
    let Some((body, sig)) = value.rsplit_once('.') else {
        return false;
    };
    let Some(expires) = body.split('.').next().and_then(|e| e.parse::<i64>().ok()) else {
        return false;
    };
    let good: bool = mac(key, body).as_bytes().ct_eq(sig.as_bytes()).into();
    good && expires > now()
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The language asked: the language cookie, else the browser's, else English.
pub(crate) fn lang_of(headers: &HeaderMap) -> Lang {
    cookie(headers, LANG_COOKIE)
        .and_then(Lang::parse)
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept)
        })
        .unwrap_or(Lang::En)
}

/// Whether the browser reached us over HTTPS (directly or through a proxy
/// that says so): the cookie is then marked `Secure`.
fn secure(headers: &HeaderMap) -> &'static str {
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    if https { "; Secure" } else { "" }
}

/// Whether a POST's `Origin` (when it sends one) is another site than `Host`.
fn foreign_origin(parts: &Parts) -> bool {
    if parts.method != Method::POST {
        return false;
    }
    let Some(origin) = parts.headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let host = parts
        .headers
        .get("x-forwarded-host")
        .or_else(|| parts.headers.get(header::HOST))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin.split_once("://").map_or(origin, |(_, h)| h);
    origin_host != host
}

/// Where to go after logging in: a console page, never another site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/console/") && !n.contains("//") && !n.contains('\\') => n.to_string(),
        _ => "/console/tenants".to_string(),
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let started = std::time::Instant::now();
        let key = state.console_key();
        // Nested at `/console`, the router sees the path without it.
        let uri = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or_else(|| parts.uri.clone(), |o| o.0.clone());
        match cookie(&parts.headers, COOKIE) {
            Some(value) if valid(key, value) => Ok(Session {
                lang: lang_of(&parts.headers),
                csrf: mac(key, &format!("csrf:{value}"))[..32].to_string(),
                cross_origin: foreign_origin(parts),
                started,
                here: uri
                    .path_and_query()
                    .map_or_else(|| "/console/tenants".to_string(), |p| p.as_str().to_string()),
            }),
            _ => {
                let here = uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .filter(|_| parts.method == Method::GET)
                    .unwrap_or("/console/tenants");
                let mut to = form_urlencoded::Serializer::new(String::new());
                to.append_pair("next", here);
                Err(Redirect::to(&format!("/console/login?{}", to.finish())).into_response())
            }
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct Next {
    next: Option<String>,
}

/// `GET /console/login`.
pub(crate) async fn login_page(headers: HeaderMap, Query(q): Query<Next>) -> Response {
    login_form(lang_of(&headers), q.next.as_deref(), false)
}

fn login_form(lang: Lang, next: Option<&str>, wrong: bool) -> Response {
    let next = safe_next(next);
    let body = html! {
        div.login.card {
            h1 { (lang.t("login_title")) }
            p.muted { (lang.t("login_intro")) }
            @if wrong { p.error role="alert" { (lang.t("login_wrong")) } }
            form method="post" action="/console/login" {
                input type="hidden" name="next" value=(next);
                label for="token" { (lang.t("login_token")) }
                input #token type="password" name="token" autocomplete="current-password" required autofocus;
                button.primary type="submit" { (lang.t("login_button")) }
            }
        }
    };
    let status = if wrong {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    (status, layout::bare(lang, lang.t("login_title"), body)).into_response()
}

#[derive(Deserialize)]
pub(crate) struct Login {
    token: String,
    next: Option<String>,
}

/// `POST /console/login`: the admin token opens a session.
pub async fn login(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<Login>) -> Response {
    let lang = lang_of(&headers);
    if !state.admin_token_is(&form.token) {
        // Slows guessing down; the token is never logged.
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        tracing::warn!("console login refused: wrong admin token");
        return login_form(lang, form.next.as_deref(), true);
    }
    let value = new_session(state.console_key());
    let set = format!(
        "{COOKIE}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={SESSION_SECS}{}",
        secure(&headers)
    );
    let mut resp = Redirect::to(&safe_next(form.next.as_deref())).into_response();
    if let Ok(v) = HeaderValue::from_str(&set) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

#[derive(Deserialize)]
pub(crate) struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

/// `POST /console/logout`: forgets the session in this browser.
pub(crate) async fn logout(session: Session, Form(form): Form<CsrfOnly>) -> Response {
    if let Some(refused) = session.forged(&form.csrf) {
        return refused;
    }
    let mut resp = Redirect::to("/console/login").into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("turnstile_console=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    resp
}

#[derive(Deserialize)]
pub(crate) struct Back {
    back: Option<String>,
}

/// `GET /console/language/{lang}?back=PATH`: switches language and returns.
pub async fn language(Path(code): Path<String>, headers: HeaderMap, Query(q): Query<Back>) -> Response {
    let Some(lang) = Lang::parse(&code) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut resp = Redirect::to(&safe_next(q.back.as_deref())).into_response();
    let set = format!(
        "{LANG_COOKIE}={}; Path=/console; SameSite=Lax; Max-Age=31536000{}",
        lang.code(),
        secure(&headers)
    );
    if let Ok(v) = HeaderValue::from_str(&set) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_good_until_it_expires_and_only_with_its_signature() {
        let key = [7u8; 32];
        let value = new_session(&key);
        assert!(valid(&key, &value));
        assert!(!valid(&[8u8; 32], &value), "another token's key");
        let (body, _) = value.rsplit_once('.').unwrap();
        assert!(!valid(&key, &format!("{body}.00")));
        let old = format!("{}.ab", now() - 1);
        assert!(!valid(&key, &format!("{old}.{}", mac(&key, &old))), "expired");
    }

    #[test]
    fn after_login_only_console_pages_are_gone_to() {
        assert_eq!(
            safe_next(Some("/console/tenants/a?x=1")),
            "/console/tenants/a?x=1"
        );
        assert_eq!(safe_next(Some("https://evil.example/")), "/console/tenants");
        assert_eq!(safe_next(Some("/console//evil.example")), "/console/tenants");
        assert_eq!(safe_next(None), "/console/tenants");
    }
}
