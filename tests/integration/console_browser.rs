//! The web console in a real browser: headless Chromium driven through
//! WebDriver (chromedriver), against the real server on a loopback port. It
//! logs in, reads a tenant's seat bars and lockout against the ledger, marks
//! the payment and sees the lockout lift, is refused an operator over the
//! seats with the policy's message, runs a playground decision and reads its
//! explanation, pastes a policy edit and sees the flipped decision, and
//! switches to French. Screenshots go to `target/console-screenshots/`.
//!
//! Needs `chromium` and `chromium-driver` (Debian packages); without them the
//! test skips with one line, except in CI (`CI=true`), where it fails.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use turnstile::decision_log::{self, DecisionLog};

use crate::common::{RunningServer, TOKEN, TestApp, repo_path};

/// chromedriver, until dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// chromedriver and Chromium, or `None` (skip) outside CI.
fn browser() -> Option<(PathBuf, PathBuf)> {
    let driver = std::env::var_os("CHROMEDRIVER")
        .map(PathBuf::from)
        .or_else(|| find(&["chromedriver"]));
    let chrome = std::env::var_os("CHROME")
        .map(PathBuf::from)
        .or_else(|| find(&["chromium", "chromium-browser", "google-chrome"]));
    match (driver, chrome) {
        (Some(d), Some(c)) => Some((d, c)),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("Chromium and chromedriver are required in CI (apt-get install chromium chromium-driver)")
        }
        _ => {
            eprintln!(
                "skipping: no Chromium/chromedriver; install them (`apt-get install chromium chromium-driver`) or set CHROME and CHROMEDRIVER to run the browser tests"
            );
            None
        }
    }
}

async fn start_driver(path: &PathBuf) -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver { child, port };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("chromedriver did not listen on port {port}");
}

async fn connect(driver: &Driver, chrome: &PathBuf) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chrome,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1360,1000", "--lang=en-US"],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a Chromium session")
}

async fn shot(c: &Client, name: &str) {
    let dir = repo_path("target/console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = c.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

async fn text(c: &Client, css: &str) -> String {
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no `{css}`: {e}"))
        .text()
        .await
        .unwrap()
}

async fn exists(c: &Client, css: &str) -> bool {
    !c.find_all(Locator::Css(css)).await.unwrap().is_empty()
}

async fn click(c: &Client, css: &str) {
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no `{css}`: {e}"))
        .click()
        .await
        .unwrap();
}

/// Clicks something that loads a new page, and waits for that page: the old
/// one is marked first, so no element of it is taken for the new one's.
async fn navigate(c: &Client, css: &str) {
    c.execute("document.body.dataset.left = 'yes'", vec![])
        .await
        .unwrap();
    click(c, css).await;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("body:not([data-left])"))
        .await
        .unwrap_or_else(|e| panic!("no new page after clicking `{css}`: {e}"));
}

async fn fill(c: &Client, css: &str, value: &str) {
    let e = c.find(Locator::Css(css)).await.unwrap();
    e.clear().await.unwrap();
    e.send_keys(value).await.unwrap();
}

async fn attr(c: &Client, css: &str, name: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .attr(name)
        .await
        .unwrap()
        .unwrap_or_default()
}

#[tokio::test]
async fn a_support_person_uses_the_console_in_a_real_browser() {
    let Some((driver_path, chrome)) = browser() else {
        return;
    };
    // The ledger: acme with one seat of each kind, and an unpaid
    // subscription due 40 days ago, so the tenant is locked (R8).
    let app = TestApp::licensing();
    app.state.engine().set_log(Arc::new(
        DecisionLog::open(decision_log::Target::Memory, 1024, 100).unwrap(),
    ));
    app.provisioned("acme", 1, 1).await;
    let (s, sub) = app
        .post(
            "/v1/tenants/acme/subscriptions",
            json!({"kind": "user", "quantity": 1, "starts_at": "2025-11-01T00:00:00Z", "ends_at": "2027-01-01T00:00:00Z", "payment_due_at": "2025-11-22T00:00:00Z"}),
        )
        .await;
    assert_eq!(s.as_u16(), 201, "{sub}");
    let number = sub["number"].as_i64().unwrap();
    let (allowed, _) = app
        .evaluate(("User", "acme-admin"), "access_management", ("Tenant", "acme"))
        .await;
    assert!(!allowed, "the tenant is locked before the payment");

    let dir = tempfile::tempdir().unwrap();
    let server = RunningServer::start(app.state.engine().clone(), &dir.path().join("unused.db"), TOKEN).await;
    let base = format!("http://{}", server.addr);
    let driver = start_driver(&driver_path).await;
    let c = connect(&driver, &chrome).await;
    // On a panic, dropping the driver ends chromedriver and its browser.
    journey(&c, &app, &base, number).await;
    let _ = c.close().await;
    server.stop().await;
}

async fn journey(c: &Client, app: &TestApp, base: &str, number: i64) {
    // Log in: the console sends us to the form first.
    c.goto(&format!("{base}/console/tenants")).await.unwrap();
    assert!(c.current_url().await.unwrap().path().ends_with("/console/login"));
    shot(c, "01-login").await;
    fill(c, "#token", TOKEN).await;
    navigate(c, "button[type=submit]").await;
    let heading = text(c, "main h1").await;
    assert_eq!(heading, "Tenants");

    // The list: acme is locked, its user seats full.
    let row = "tr[data-tenant=\"acme\"]";
    assert!(
        exists(c, &format!("{row} .badge.locked")).await,
        "acme shows locked"
    );
    shot(c, "02-tenants").await;

    // The tenant: seat bars as the ledger counts them.
    navigate(c, &format!("{row} a")).await;
    text(c, "#subscriptions").await;
    let (_, seats) = app.get("/v1/tenants/acme/seats").await;
    let bars = c.find_all(Locator::Css(".grid .bar")).await.unwrap();
    assert_eq!(bars.len(), 2, "a bar per seat kind");
    for (bar, kind) in bars.iter().zip(["user", "shop_floor"]) {
        assert_eq!(
            bar.attr("data-used").await.unwrap().unwrap(),
            seats[kind]["used"].to_string(),
            "{kind}"
        );
        assert_eq!(
            bar.attr("data-total").await.unwrap().unwrap(),
            seats[kind]["total"].to_string(),
            "{kind}"
        );
    }
    assert!(
        exists(c, "#in-force [data-policy=\"payment.locked\"]").await,
        "the lockout is shown"
    );
    shot(c, "03-tenant-locked").await;

    // Mark the payment: the lockout lifts.
    navigate(c, &format!("tr[data-number=\"{number}\"] form button")).await;
    let done = text(c, ".card.success").await;
    assert_eq!(done, "Payment recorded.");
    assert!(!exists(c, "#in-force").await, "the lockout has lifted");
    let (allowed, _) = app
        .evaluate(("User", "acme-admin"), "access_management", ("Tenant", "acme"))
        .await;
    assert!(allowed, "the ledger agrees");

    // One operator fits the one shop-floor seat; the second is refused.
    for (id, n) in [("op1", "1"), ("op2", "2")] {
        c.execute("document.getElementById('add-operator').open = true", vec![])
            .await
            .unwrap();
        fill(c, "#add-operator input[name=id]", id).await;
        fill(c, "#add-operator input[name=number]", n).await;
        fill(c, "#add-operator input[name=name]", &format!("Operator {n}")).await;
        navigate(c, "#add-operator button[type=submit]").await;
    }
    let refusal = text(c, ".card.error .message").await;
    assert_eq!(
        refusal,
        "You are currently using all available licenses for Operators. Please contact support for more information."
    );
    assert!(exists(c, "tr[data-operator=\"op1\"]").await);
    assert!(!exists(c, "tr[data-operator=\"op2\"]").await);
    shot(c, "04-tenant-refusal").await;

    // The playground: a decision with its explanation and slice.
    c.goto(&format!("{base}/console/playground")).await.unwrap();
    c.find(Locator::Css("select[name=subject_type]"))
        .await
        .unwrap()
        .select_by_value("User")
        .await
        .unwrap();
    fill(c, "input[name=subject_id]", "acme-admin").await;
    c.find(Locator::Css("select[name=action]"))
        .await
        .unwrap()
        .select_by_value("access_management")
        .await
        .unwrap();
    c.find(Locator::Css("select[name=resource_type]"))
        .await
        .unwrap()
        .select_by_value("Tenant")
        .await
        .unwrap();
    fill(c, "input[name=resource_id]", "acme").await;
    navigate(c, "#playground button[type=submit]").await;
    text(c, "#answer").await;
    assert_eq!(attr(c, "#answer", "data-decision").await, "true");
    let determining = c
        .find_all(Locator::Css("#explanation [data-outcome=determining]"))
        .await
        .unwrap();
    assert!(
        !determining.is_empty(),
        "the explanation names the determining policy"
    );
    assert!(text(c, "#slice").await.contains("acme-admin"));
    assert!(text(c, "#curl").await.contains("/access/v1/evaluation"));
    shot(c, "05-playground").await;

    // A logged decision, then an edit that would flip it.
    let (allowed, _) = app
        .evaluate(("User", "acme-admin"), "access_management", ("Tenant", "acme"))
        .await;
    assert!(allowed);
    let edited = format!(
        "{}\n@id(\"management.closed\")\n@message_en(\"closed\")\n@message_fr(\"fermé\")\nforbid (principal, action == Action::\"access_management\", resource);\n",
        std::fs::read_to_string(repo_path("policies/management.cedar")).unwrap()
    );
    // The log is written off the request path.
    tokio::time::sleep(Duration::from_millis(200)).await;
    c.goto(&format!("{base}/console/policies")).await.unwrap();
    fill(c, "#impact input[name=file]", "management.cedar").await;
    c.execute(
        "document.querySelector('#impact textarea[name=text]').value = arguments[0]",
        vec![Value::String(edited)],
    )
    .await
    .unwrap();
    navigate(c, "#impact button[type=submit]").await;
    let flips: usize = text(c, "#flip-count").await.parse().unwrap();
    assert!(flips >= 1, "the edit flips the logged allow");
    assert!(text(c, "#impact-result").await.contains("User::\"acme-admin\""));
    shot(c, "06-policy-impact").await;

    // The decision log, and French.
    c.goto(&format!("{base}/console/log")).await.unwrap();
    assert!(exists(c, "#decisions tr[data-allowed]").await);
    navigate(c, "header .langs a[lang=fr]").await;
    assert_eq!(text(c, "main h1").await, "Journal des décisions");
    shot(c, "07-log-fr").await;
}
