//! The web console over HTTP (no browser): the login and its cookie, CSRF,
//! escaping, both languages, and each page against the ledger it shows.
//! `console_browser` drives the same pages in headless Chromium.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;
use turnstile::decision_log::{self, DecisionLog};

use crate::common::{TOKEN, TestApp};

/// An answer as a browser gets it.
pub struct Page {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub html: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The CSRF token the page's forms carry.
    pub fn csrf(&self) -> String {
        let at = self
            .html
            .find("name=\"csrf\" value=\"")
            .expect("a form with a CSRF token")
            + 19;
        self.html[at..at + 32].to_string()
    }
}

/// A browser without JavaScript: a cookie jar of one session.
pub struct Browser<'a> {
    app: &'a TestApp,
    cookies: Vec<String>,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            cookies: Vec::new(),
        }
    }

    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        form: Option<&[(&str, &str)]>,
        origin: Option<&str>,
    ) -> Page {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "pdp.test");
        if !self.cookies.is_empty() {
            req = req.header("cookie", self.cookies.join("; "));
        }
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        let body = match form {
            Some(pairs) => {
                req = req.header("content-type", "application/x-www-form-urlencoded");
                let mut s = form_urlencoded::Serializer::new(String::new());
                for (k, v) in pairs {
                    s.append_pair(k, v);
                }
                Body::from(s.finish())
            }
            None => Body::empty(),
        };
        let resp = self
            .app
            .router
            .clone()
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        for set in headers.get_all("set-cookie") {
            let pair = set.to_str().unwrap().split(';').next().unwrap().to_string();
            let name = pair.split('=').next().unwrap().to_string();
            self.cookies.retain(|c| !c.starts_with(&format!("{name}=")));
            if !pair.ends_with('=') {
                self.cookies.push(pair);
            }
        }
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        Page {
            status,
            headers,
            html: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.send("GET", path, None, None).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send("POST", path, Some(form), None).await
    }

    pub async fn login(&mut self) {
        let page = self
            .post(
                "/console/login",
                &[("token", TOKEN), ("next", "/console/tenants")],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
    }
}

#[tokio::test]
async fn the_console_asks_for_the_admin_token_and_keeps_it_out_of_the_cookie() {
    let app = TestApp::licensing();
    let mut b = Browser::new(&app);
    let page = b.get("/console/tenants?q=acme").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        page.location(),
        "/console/login?next=%2Fconsole%2Ftenants%3Fq%3Dacme"
    );

    let login = b.get(page.location()).await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.html.contains("type=\"password\""), "{}", login.html);

    let wrong = b
        .post(
            "/console/login",
            &[("token", "guess"), ("next", "/console/tenants")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.html.contains("not the admin token"));
    assert!(b.cookies.is_empty(), "a wrong token opens no session");

    let ok = b
        .post(
            "/console/login",
            &[("token", TOKEN), ("next", "/console/tenants?q=acme")],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(ok.location(), "/console/tenants?q=acme");
    let set = ok.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/console"),
        "{set}"
    );
    assert!(!set.contains(TOKEN), "the token is not in the cookie: {set}");

    let tenants = b.get("/console/tenants").await;
    assert_eq!(tenants.status, StatusCode::OK);
    let csp = tenants.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(tenants.headers["x-frame-options"], "DENY");
    assert_eq!(tenants.headers["cache-control"], "no-store");
    assert_eq!(b.get("/console").await.location(), "/console/tenants");
    assert!(tenants.html.contains("<h1>Tenants</h1>"), "{}", tenants.html);
    assert!(!tenants.html.contains(TOKEN), "the token is never shown");

    // A login never sends anyone to another site.
    let mut c = Browser::new(&app);
    let away = c
        .post(
            "/console/login",
            &[("token", TOKEN), ("next", "https://evil.example/")],
        )
        .await;
    assert_eq!(away.location(), "/console/tenants");

    // A forged cookie opens nothing.
    let mut d = Browser::new(&app);
    d.cookies.push("turnstile_console=99999999999.00.00".into());
    assert_eq!(d.get("/console/tenants").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_form_without_the_sessions_csrf_token_or_from_another_site_changes_nothing() {
    let app = TestApp::licensing();
    app.provisioned("acme", 2, 2).await;
    let (_, sub) = app
        .post(
            "/v1/tenants/acme/subscriptions",
            json!({"kind": "user", "quantity": 1, "starts_at": "2025-12-01T00:00:00Z", "ends_at": "2027-01-01T00:00:00Z", "payment_due_at": "2025-12-10T00:00:00Z"}),
        )
        .await;
    let number = sub["number"].as_i64().unwrap();
    let mut b = Browser::new(&app);
    b.login().await;
    let page = b.get("/console/tenants/acme").await;
    let csrf = page.csrf();
    let path = format!("/console/tenants/acme/subscriptions/{number}/payment");

    let forged = b
        .post(&path, &[("csrf", "0123456789abcdef0123456789abcdef")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let cross = b
        .send(
            "POST",
            &path,
            Some(&[("csrf", &csrf)]),
            Some("https://evil.example"),
        )
        .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    let (_, subs) = app.get("/v1/tenants/acme/subscriptions").await;
    let unpaid = subs
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["number"] == number)
        .unwrap();
    assert_eq!(unpaid["paid"], false, "nothing changed");

    let paid = b
        .send("POST", &path, Some(&[("csrf", &csrf)]), Some("http://pdp.test"))
        .await;
    assert_eq!(paid.status, StatusCode::SEE_OTHER, "{}", paid.html);
    let (_, subs) = app.get("/v1/tenants/acme/subscriptions").await;
    let s = subs
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["number"] == number)
        .unwrap();
    assert_eq!(s["paid"], true);
    let after = b.get(paid.location()).await;
    assert!(after.html.contains("Payment recorded."));

    // Another session's token is not this one's.
    let mut other = Browser::new(&app);
    other.login().await;
    let theirs = other.get("/console/tenants/acme").await.csrf();
    assert_ne!(theirs, csrf);
}

#[tokio::test]
async fn every_value_from_the_store_is_escaped() {
    let app = TestApp::licensing();
    let evil = "<script>alert(\"x\")</script>";
    assert_eq!(
        app.post("/v1/accounts", json!({"id": "a1", "name": evil}))
            .await
            .0,
        StatusCode::CREATED
    );
    let (s, body) = app
        .post(
            "/v1/accounts/a1/tenants",
            json!({"id": "t1", "name": format!("Quote\" onmouseover=\"x {evil}")}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, body) = app
        .post(
            "/v1/tenants/t1/users",
            json!({"id": "u1", "name": evil, "email": "a@example.com", "role": "admin"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let mut b = Browser::new(&app);
    b.login().await;
    for path in [
        "/console/tenants",
        "/console/tenants/t1",
        "/console/tenants?q=%3Cscript%3E",
    ] {
        let page = b.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(!page.html.contains("<script>alert"), "{path} prints a script tag");
        assert!(
            !page.html.contains("\" onmouseover=\""),
            "{path} breaks out of an attribute"
        );
        assert!(
            page.html.contains("&lt;script&gt;"),
            "{path} shows the name, escaped"
        );
    }
    let playground = b
        .get("/console/playground?subject_type=User&subject_id=%3Cscript%3Ealert(1)%3C/script%3E&action=access_management&resource_type=Tenant&resource_id=t1")
        .await;
    assert!(
        !playground.html.contains("<script>alert(1)"),
        "{}",
        playground.html
    );
}

#[tokio::test]
async fn every_page_speaks_english_and_french() {
    let app = TestApp::licensing();
    app.provisioned("acme", 1, 1).await;
    let mut b = Browser::new(&app);
    b.login().await;
    let pages = [
        ("/console/tenants", "Tenants", "Clients"),
        ("/console/tenants/acme", "Subscriptions", "Abonnements"),
        ("/console/playground", "Decision playground", "Banc d'essai"),
        (
            "/console/policies",
            "Impact of an edit",
            "Impact d'une modification",
        ),
        ("/console/log", "Decision log", "Journal des décisions"),
    ];
    for (path, en, _) in pages {
        let page = b.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(
            page.html.contains("<html lang=\"en\">") && page.html.contains(en),
            "{path} in English"
        );
    }
    let switch = b.get("/console/language/fr?back=/console/log").await;
    assert_eq!(switch.location(), "/console/log");
    for (path, _, fr) in pages {
        let page = b.get(path).await;
        assert!(
            page.html.contains("<html lang=\"fr\">") && page.html.contains(fr),
            "{path} en français"
        );
    }
    // A French browser gets French before choosing.
    let mut c = Browser::new(&app);
    c.login().await;
    let req = Request::builder()
        .uri("/console/tenants")
        .header("cookie", c.cookies.join("; "))
        .header("accept-language", "fr-FR,fr;q=0.9")
        .body(Body::empty())
        .unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    let html = String::from_utf8_lossy(&resp.into_body().collect().await.unwrap().to_bytes()).into_owned();
    assert!(html.contains("<html lang=\"fr\">"));
}

#[tokio::test]
async fn the_tenant_pages_show_the_ledger_and_a_refusal_in_the_policys_words() {
    let app = TestApp::licensing();
    app.provisioned("acme", 1, 1).await;
    let mut b = Browser::new(&app);
    b.login().await;
    let list = b.get("/console/tenants").await;
    assert!(list.html.contains("data-tenant=\"acme\""));
    assert!(
        list.html
            .contains("aria-valuenow=\"0\" data-used=\"0\" data-total=\"1\""),
        "{}",
        list.html
    );

    let page = b.get("/console/tenants/acme").await;
    let csrf = page.csrf();
    let added = b
        .post(
            "/console/tenants/acme/operators",
            &[("csrf", &csrf), ("id", "op1"), ("number", "1"), ("name", "Ann")],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.html);
    let (_, seats) = app.get("/v1/tenants/acme/seats").await;
    assert_eq!(seats["shop_floor"]["used"], 1);

    let over = b
        .post(
            "/console/tenants/acme/operators",
            &[("csrf", &csrf), ("id", "op2"), ("number", "2"), ("name", "Bob")],
        )
        .await;
    assert_eq!(over.status, StatusCode::FORBIDDEN);
    assert!(
        over.html
            .contains("You are currently using all available licenses for Operators. Please contact support for more information."),
        "{}",
        over.html
    );
    assert!(over.html.contains("operators.seats_exhausted"));
    let (status, _) = app.get("/v1/operators/op2").await;
    assert_ne!(status, StatusCode::OK, "the refused operator was not added");

    // The dry run lists nothing while every operator has a seat.
    assert!(
        over.html
            .contains("Nothing: every active operator and licence has a seat.")
    );
}

#[tokio::test]
async fn the_playground_explains_a_decision_and_shows_its_slice() {
    let app = TestApp::licensing();
    app.provisioned("acme", 1, 1).await;
    let mut b = Browser::new(&app);
    b.login().await;
    let page = b
        .get("/console/playground?subject_type=User&subject_id=acme-admin&action=access_management&resource_type=Tenant&resource_id=acme")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let (allowed, _) = app
        .evaluate(("User", "acme-admin"), "access_management", ("Tenant", "acme"))
        .await;
    assert!(allowed);
    assert!(page.html.contains("data-decision=\"true\""), "{}", page.html);
    assert!(page.html.contains("id=\"explanation\""));
    assert!(page.html.contains("data-outcome=\"determining\""));
    assert!(page.html.contains("id=\"slice\""));
    assert!(page.html.contains("acme-admin"));
    assert!(
        page.html
            .contains("curl -s https://pdp.test/access/v1/evaluation")
    );

    let bad = b
        .get("/console/playground?subject_type=User&subject_id=x&action=access_management&resource_type=Tenant&resource_id=acme&context=%5B1%5D")
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.html.contains("is not a JSON object"));

    let complete = b.get("/console/complete?type=User&q=acme-").await;
    assert_eq!(complete.html, "[\"acme-admin\"]");
}

#[tokio::test]
async fn the_decision_log_and_the_impact_of_an_edit_use_the_recent_decisions() {
    let app = TestApp::licensing();
    app.state.engine().set_log(Arc::new(
        DecisionLog::open(decision_log::Target::Memory, 1024, 100).unwrap(),
    ));
    app.provisioned("acme", 1, 1).await;
    let (allowed, _) = app
        .evaluate(("User", "acme-admin"), "access_management", ("Tenant", "acme"))
        .await;
    assert!(allowed);
    let mut b = Browser::new(&app);
    b.login().await;
    // The log is written off the request path: wait for it.
    let mut log = b
        .get("/console/log?decision=allow&action=access_management")
        .await;
    for _ in 0..50 {
        if log.html.contains("data-allowed=\"true\"") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        log = b
            .get("/console/log?decision=allow&action=access_management")
            .await;
    }
    assert!(log.html.contains("data-allowed=\"true\""), "{}", log.html);
    assert!(
        log.html
            .contains("/console/playground?subject_type=User&amp;subject_id=acme-admin")
    );
    let denied_only = b.get("/console/log?decision=deny&action=access_management").await;
    assert!(!denied_only.html.contains("data-allowed=\"true\""));

    // An edit that forbids management to everyone flips the logged allow.
    let page = b.get("/console/policies").await;
    let csrf = page.csrf();
    let text = std::fs::read_to_string(crate::common::repo_path("policies/management.cedar")).unwrap();
    let edited = format!(
        "{text}\n@id(\"management.closed\")\n@message_en(\"closed\")\n@message_fr(\"fermé\")\nforbid (principal, action == Action::\"access_management\", resource);\n"
    );
    let impact = b
        .post(
            "/console/policies/impact",
            &[("csrf", &csrf), ("file", "management.cedar"), ("text", &edited)],
        )
        .await;
    assert_eq!(impact.status, StatusCode::OK, "{}", impact.html);
    assert!(
        impact.html.contains("<span id=\"flip-count\">1</span>"),
        "{}",
        impact.html
    );
    assert!(impact.html.contains("management.closed"));

    let broken = b
        .post(
            "/console/policies/impact",
            &[
                ("csrf", &csrf),
                ("file", "management.cedar"),
                ("text", "permit ("),
            ],
        )
        .await;
    assert_eq!(broken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        broken.html.contains("management.cedar"),
        "the problem names the file: {}",
        broken.html
    );
}

#[tokio::test]
async fn the_impact_of_an_edit_names_the_scenarios_it_would_change() {
    let app = TestApp::licensing().with_scenarios(crate::common::repo_path("fixtures/scenarios"));
    let mut b = Browser::new(&app);
    b.login().await;
    let csrf = b.get("/console/policies").await.csrf();
    let text = std::fs::read_to_string(crate::common::repo_path("policies/operators.cedar")).unwrap();
    let start = text.find("@id(\"operators.seats_exhausted\")").unwrap();
    let end = start + text[start..].find("};").unwrap() + 2;
    let sabotaged = format!("{}{}", &text[..start], &text[end..]);
    let started = std::time::Instant::now();
    let impact = b
        .post(
            "/console/policies/impact",
            &[("csrf", &csrf), ("file", "operators.cedar"), ("text", &sabotaged)],
        )
        .await;
    eprintln!(
        "impact with every scenario: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(impact.status, StatusCode::OK, "{}", impact.html);
    assert!(impact.html.contains("id=\"scenario-changes\""), "{}", impact.html);
    assert!(
        impact.html.contains("r05_shop_floor_seats.yaml"),
        "the seat scenarios change: {}",
        impact.html
    );

    // The unchanged file changes no scenario.
    let same = b
        .post(
            "/console/policies/impact",
            &[("csrf", &csrf), ("file", "operators.cedar"), ("text", &text)],
        )
        .await;
    assert!(
        same.html.contains("Every scenario keeps its recorded answers."),
        "{}",
        same.html
    );
}
