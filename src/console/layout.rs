//! layout: the frame every console page shares (head, navigation, language
//! switch, log-out form) and the small pieces pages repeat (seat bars,
//! badges, times, refusals).

use axum::response::Html;
use maud::{DOCTYPE, Markup, html};

use super::auth::Session;
use super::text::Lang;
use crate::ledger::views::SeatView;

/// Which navigation entry is the current page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    Tenants,
    Playground,
    Policies,
    Log,
    None,
}

fn head(lang: Lang, title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · " (lang.t("product")) }
            link rel="stylesheet" href="/console/assets/console.css";
            script src="/console/assets/console.js" defer {}
        }
    }
}

/// A whole page for a signed-in person.
pub fn page(session: &Session, title: &str, nav: Nav, body: Markup) -> Html<String> {
    let lang = session.lang;
    let mut back = form_urlencoded::Serializer::new(String::new());
    back.append_pair("back", &session.here);
    let back = back.finish();
    let item = |which: Nav, href: &str, key: &str| {
        html! {
            a href=(href) aria-current=[(nav == which).then_some("page")] { (lang.t(key)) }
        }
    };
    let elapsed = session.started.elapsed();
    Html(
        html! {
            (DOCTYPE)
            html lang=(lang.code()) {
                (head(lang, title))
                body {
                    header.top {
                        a.brand href="/console/tenants" { span.logo { "⊢" } (lang.t("product")) }
                        nav {
                            (item(Nav::Tenants, "/console/tenants", "nav_tenants"))
                            (item(Nav::Playground, "/console/playground", "nav_playground"))
                            (item(Nav::Policies, "/console/policies", "nav_policies"))
                            (item(Nav::Log, "/console/log", "nav_log"))
                        }
                        div.side {
                            span.langs {
                                @for l in Lang::ALL {
                                    @if l == lang {
                                        strong lang=(l.code()) { (l.name()) }
                                    } @else {
                                        a lang=(l.code()) href={ "/console/language/" (l.code()) "?" (back) } { (l.name()) }
                                    }
                                }
                            }
                            form.inline method="post" action="/console/logout" {
                                input type="hidden" name="csrf" value=(session.csrf);
                                button.link type="submit" { (lang.t("logout")) }
                            }
                        }
                    }
                    main { (body) }
                    footer.muted {
                        (lang.t("server_time")) " " (format!("{:.1} ms", elapsed.as_secs_f64() * 1000.0))
                    }
                }
            }
        }
        .into_string(),
    )
}

/// A page without navigation (the login form).
pub(crate) fn bare(lang: Lang, title: &str, body: Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang=(lang.code()) {
                (head(lang, title))
                body.bare {
                    main {
                        p.brand.center { span.logo { "⊢" } (lang.t("product")) }
                        (body)
                    }
                }
            }
        }
        .into_string(),
    )
}

/// Seats of one kind as a bar: used of total, the rest free.
pub(crate) fn seat_bar(lang: Lang, label: &str, seats: Option<&SeatView>) -> Markup {
    html! {
        div.seats {
            div.label { (label) }
            @match seats {
                None => { div.muted.small { (lang.t("no_shop_floor")) } }
                Some(s) => {
                    @let pct = if s.total > 0 { (s.used.max(0) * 100 / s.total).min(100) } else if s.used > 0 { 100 } else { 0 };
                    @let class = if s.free <= 0 && s.total > 0 || s.used > s.total { "bar full" } else if pct >= 80 { "bar high" } else { "bar" };
                    div class=(class) role="meter" aria-valuemin="0" aria-valuemax=(s.total) aria-valuenow=(s.used)
                        data-used=(s.used) data-total=(s.total) {
                        span style={ "width:" (pct) "%" } {}
                    }
                    div.small {
                        strong { (s.used) } " " (lang.t("used_of")) " " strong { (s.total) }
                        " · " (s.free.max(0)) " " (lang.t("free"))
                    }
                }
            }
        }
    }
}

/// A date as people read it (`2026-03-01 14:00`), from RFC 3339.
pub fn when(rfc3339: &str) -> String {
    rfc3339
        .parse::<jiff::Timestamp>()
        .map(|t| t.strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| rfc3339.to_string())
}

/// An optional date, or a dash.
pub(crate) fn when_opt(rfc3339: Option<&str>) -> String {
    rfc3339.map_or_else(|| "—".to_string(), when)
}

/// Yes or no, in the page's language.
pub(crate) fn yes_no(lang: Lang, b: bool) -> Markup {
    html! {
        @if b { span.badge.ok { (lang.t("yes")) } } @else { span.badge.off { (lang.t("no")) } }
    }
}

/// A refusal (or any error) as a banner: the message in the page's language,
/// and the policies that decided, if a policy did.
pub fn refusal(lang: Lang, message: &str, policies: &[String]) -> Markup {
    html! {
        div.card.error role="alert" {
            strong { (lang.t("refused")) } " — " span.message { (message) }
            @if !policies.is_empty() {
                div.small {
                    (lang.t("policies_said")) ": "
                    @for p in policies { code { (p) } " " }
                }
            }
        }
    }
}

/// A success banner.
pub fn done(text: &str) -> Markup {
    html! { div.card.success role="status" { (text) } }
}
