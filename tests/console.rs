//! The operator console.
//!
//! `console_in_chromium`: a real headless Chromium (WebDriver, chromedriver)
//! against the real daemon on a real redis-server with the simulator as the
//! provider: a wrong token is refused, the right one logs in; a running
//! campaign's progress changes on screen (the page's own refresh); it is
//! paused and resumed with its buttons; an escalation (a citizen said money
//! was asked for) is opened and acknowledged; the scorecards rank the
//! officials; the dead letters show a refused document; no page shows a
//! phone number; the layout stacks on a phone's screen. Screenshots go to
//! the target directory, or to `docs/screenshots/` (the README's) with
//! `SAMPARK_SCREENSHOTS=docs`.
//!
//! `console_over_http`: the same listener over plain HTTP: redirects, the
//! cookie's attributes, bearer access, CSRF refusals, the failed-login limit,
//! security headers, and the open console when no token is configured.

#[path = "console/browser.rs"]
mod browser;
mod support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use fantoccini::{Client, Locator};
use sampark::config::Secret;
use sampark::domain::CampaignId;
use sampark::simulator::SimulatorConfig;
use sampark::store::{CampaignState, EscalationQuery, Quota, Store};
use serde_json::json;
use support::daemon::{
    ACCOUNT_SID, AUTH_TOKEN, bind_webhook, dialer_config, start_daemon_on, start_simulator,
};
use support::redis_server::RedisServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOKEN: &str = "console-test-admin-token";
const CAMPAIGN: &str = "console-demo";
/// A number only the refused document holds.
const REFUSED_PHONE: &str = "+919612345678";

/// A raw HTTP/1.1 exchange: (status, head, body).
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() {
        req.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

/// Fails if `html` shows any of `phones` (E.164 or national) or a bare run
/// of ten or more digits (a number in any other spelling).
fn assert_no_phone(html: &str, phones: &[String], page: &str) {
    for phone in phones {
        let national = &phone[phone.len() - 10..];
        assert!(
            !html.contains(phone.as_str()) && !html.contains(national),
            "{page} shows the phone number {phone}"
        );
    }
    let bytes = html.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            let bounded = |b: Option<&u8>| b.is_none_or(|b| !b.is_ascii_alphanumeric());
            if i - start >= 10
                && bounded(start.checked_sub(1).and_then(|s| bytes.get(s)))
                && bounded(bytes.get(i))
            {
                panic!(
                    "{page} shows a run of {} digits: {}",
                    i - start,
                    &html[start..i]
                );
            }
        } else {
            i += 1;
        }
    }
}

#[tokio::test]
async fn console_over_http() {
    let (addr, _store, cancel) = support::admin::admin(Some(TOKEN)).await;
    // Pages need a session: a browser is sent to the login page.
    let (status, head, _) = http(addr, "GET", "/", &[], "").await;
    assert_eq!((status, header(&head, "location")), (303, Some("/login")));
    let (status, head, body) = http(addr, "GET", "/login", &[], "").await;
    assert_eq!(status, 200);
    assert!(body.contains(r#"<label for="token">"#), "{body}");
    assert!(
        header(&head, "content-security-policy")
            .is_some_and(|v| v.contains("frame-ancestors 'none'"))
    );
    assert_eq!(header(&head, "x-content-type-options"), Some("nosniff"));
    // The API's routes stay as they were.
    assert_eq!(http(addr, "GET", "/admin/campaigns", &[], "").await.0, 401);

    // A wrong bearer token is refused; the right one opens every page.
    let wrong = [("Authorization", "Bearer nope")];
    assert_eq!(http(addr, "GET", "/", &wrong, "").await.0, 401);
    let bearer = [("Authorization", "Bearer console-test-admin-token")];
    for page in [
        "/",
        "/escalations",
        "/scorecards",
        "/scorecards?by=official&sort=share",
        "/dead-letters",
        "/health",
        "/?fragment=live",
    ] {
        let (status, _, body) = http(addr, "GET", page, &bearer, "").await;
        assert_eq!(status, 200, "{page}: {body}");
    }
    assert_eq!(
        http(addr, "GET", "/scorecards?by=planet", &bearer, "")
            .await
            .0,
        400
    );
    assert_eq!(
        http(addr, "GET", "/campaigns/nope", &bearer, "").await.0,
        404
    );
    let (status, head, body) = http(addr, "GET", "/static/console.css", &[], "").await;
    assert_eq!(status, 200);
    assert!(
        header(&head, "content-type")
            .unwrap()
            .starts_with("text/css")
            && body.contains("@media")
    );

    // The login form: a wrong token is refused, the right one gives a
    // session cookie that is not the token.
    let (status, _, body) = http(addr, "POST", "/login", &[], "token=guess").await;
    assert_eq!(status, 401);
    assert!(body.contains("Wrong token."));
    let (status, head, _) = http(addr, "POST", "/login", &[], &format!("token={TOKEN}")).await;
    assert_eq!((status, header(&head, "location")), (303, Some("/")));
    let cookie = header(&head, "set-cookie").unwrap().to_owned();
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains(TOKEN));
    let session = cookie.split(';').next().unwrap().to_owned();
    let with_cookie = [("Cookie", session.as_str())];
    let (status, _, page) = http(addr, "GET", "/", &with_cookie, "").await;
    assert_eq!(status, 200);
    let csrf = page
        .split(r#"name="csrf" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the logout form carries the CSRF token")
        .to_owned();

    // A form without the session's CSRF token is refused.
    let (status, _, _) = http(
        addr,
        "POST",
        "/campaigns/http-c/pause",
        &with_cookie,
        "csrf=forged",
    )
    .await;
    assert_eq!(status, 403);
    let (status, _, _) = http(addr, "POST", "/logout", &with_cookie, "").await;
    assert_eq!(status, 403, "logging out needs the token too");
    let (status, head, _) = http(
        addr,
        "POST",
        "/logout",
        &with_cookie,
        &format!("csrf={csrf}"),
    )
    .await;
    assert_eq!((status, header(&head, "location")), (303, Some("/login")));
    assert!(header(&head, "set-cookie").unwrap().contains("Max-Age=0"));
    let (status, head, _) = http(addr, "GET", "/", &with_cookie, "").await;
    assert_eq!(
        (status, header(&head, "location")),
        (303, Some("/login")),
        "the session ended"
    );

    // Failed logins are limited per client: the sixth in a minute waits.
    for _ in 0..4 {
        assert_eq!(
            http(addr, "POST", "/login", &[], "token=guess").await.0,
            401
        );
    }
    let (status, head, _) = http(addr, "POST", "/login", &[], &format!("token={TOKEN}")).await;
    assert_eq!(
        status, 429,
        "even the right token waits once the limit is reached"
    );
    assert!(header(&head, "retry-after").is_some());
    cancel.cancel();

    // No token configured: the console is open, and says so.
    let (addr, _, cancel) = support::admin::admin(None).await;
    let (status, _, body) = http(addr, "GET", "/", &[], "").await;
    assert_eq!(status, 200);
    assert!(body.contains("No admin token is configured"), "{body}");
    let (status, head, _) = http(addr, "GET", "/login", &[], "").await;
    assert_eq!((status, header(&head, "location")), (303, Some("/")));
    assert_eq!(
        http(addr, "POST", "/campaigns/x/pause", &[], "").await.0,
        403,
        "forms need the token even when open"
    );
    cancel.cancel();
}

/// Where screenshots go: the README's folder when asked, else the target
/// directory.
fn screenshot_dir() -> PathBuf {
    let dir = if std::env::var("SAMPARK_SCREENSHOTS").as_deref() == Ok("docs") {
        support::daemon::repo_path("docs/screenshots")
    } else {
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots")
    };
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("a screenshot");
    let path = screenshot_dir().join(format!("{name}.png"));
    std::fs::write(&path, png).unwrap();
    eprintln!("screenshot: {}", path.display());
}

/// Opens `url`, checks the page shows no phone number, returns its source.
async fn open(c: &Client, url: &str, phones: &[String]) -> String {
    c.goto(url).await.unwrap_or_else(|e| panic!("{url}: {e}"));
    checked_source(c, url, phones).await
}

async fn checked_source(c: &Client, what: &str, phones: &[String]) -> String {
    let html = c.source().await.unwrap();
    assert_no_phone(&html, phones, what);
    html
}

async fn path_of(c: &Client) -> String {
    c.current_url().await.unwrap().path().to_owned()
}

/// Polls `check` every 250 ms until it gives `Some`, or fails after `limit`.
async fn until<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    support::eventually(limit, what, || {
        let f = check();
        async move {
            tokio::time::sleep(Duration::from_millis(250)).await;
            f.await
        }
    })
    .await
}

async fn text(c: &Client, css: &str) -> Option<String> {
    c.find(Locator::Css(css)).await.ok()?.text().await.ok()
}

async fn log_in(c: &Client, base: &str, token: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    let form = c.form(Locator::Css("form.login")).await.unwrap();
    form.set_by_name("token", token).await.unwrap();
    form.submit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn console_in_chromium() {
    let driver = browser::Driver::start();
    let redis = RedisServer::start();
    let (simulator, sim_cancel) = start_simulator(SimulatorConfig {
        account_sid: ACCOUNT_SID.into(),
        auth_token: AUTH_TOKEN.into(),
        seed: 11,
        // Every call is answered and every key pressed is a choice: most
        // citizens finish the survey, and about half say money was asked.
        answer_rate: 1.0,
        busy_rate: 0.0,
        no_answer_rate: 0.0,
        failed_rate: 0.0,
        invalid_key_rate: 0.0,
        silent_rate: 0.0,
        opt_out_rate: 0.0,
        hangup_rate: 0.0,
        think_delay: (Duration::from_millis(100), Duration::from_millis(300)),
        ..SimulatorConfig::default()
    })
    .await;
    let (listener, _) = bind_webhook().await;
    // Slow on purpose: one call per official every 1.5 s, so progress
    // visibly moves while the test watches.
    let dialer = dialer_config(Quota {
        burst: 1,
        period: Duration::from_millis(1_500),
    });
    let (daemon, store) =
        start_daemon_on(listener, &redis.url(), &simulator.base_url(), dialer, |s| {
            s.admin.token = Some(Secret::new(TOKEN));
        })
        .await;
    let admin = daemon.admin_addr().unwrap();
    let base = format!("http://{admin}");

    const N: usize = 45;
    let mut phones: Vec<String> = (0..N)
        .map(|i| format!("+9196{:08}", 51_000_000 + i))
        .collect();
    let contacts: Vec<_> = (0..N)
        .map(|i| {
            json!({"id": format!("k-{i:03}"), "phone": phones[i], "language": "en",
                   "official_id": format!("off-{}", i % 3 + 1),
                   "office": if i % 3 == 2 { "Khurda PS" } else { "Puri Sadar PS" },
                   "service": "Passport verification"})
        })
        .collect();
    let doc = json!({"version": 1, "id": CAMPAIGN, "name": "Passport feedback", "dialplan": "mo-sarkar-feedback",
                     "caller_id": "+916742000000", "department": "home", "contacts": contacts});
    store.submit(&doc.to_string()).await.unwrap();
    // A document cut short, with a citizen's number in it: dead-lettered
    // as it came.
    phones.push(REFUSED_PHONE.to_owned());
    store
        .submit(&format!(r#"{{"version": 1, "id": "broken", "contacts": [{{"id": "x", "phone": "{REFUSED_PHONE}""#))
        .await
        .unwrap();

    let c = driver.session(1280, 900, false).await;

    // No session: the login page. A wrong token is refused.
    c.goto(&format!("{base}/")).await.unwrap();
    assert_eq!(path_of(&c).await, "/login");
    screenshot(&c, "login").await;
    log_in(&c, &base, "not-the-token").await;
    assert_eq!(text(&c, ".problem").await.as_deref(), Some("Wrong token."));
    c.goto(&format!("{base}/")).await.unwrap();
    assert_eq!(
        path_of(&c).await,
        "/login",
        "a wrong token gives no session"
    );

    // The right token: the campaigns, behind a cookie the page cannot read.
    log_in(&c, &base, TOKEN).await;
    until(Duration::from_secs(10), "the campaign list", || async {
        (path_of(&c).await == "/").then_some(())
    })
    .await;
    let cookie = c.get_named_cookie("sampark_session").await.unwrap();
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.secure(), Some(true));
    assert_ne!(cookie.value(), TOKEN);
    let script_sees: serde_json::Value = c.execute("return document.cookie", vec![]).await.unwrap();
    assert_eq!(
        script_sees,
        json!(""),
        "HttpOnly: no script reads the session"
    );

    // Progress changes on screen without a reload (the page refreshes its
    // live part itself).
    let progress = || async {
        let p = c.find(Locator::Css("#live progress")).await.ok()?;
        p.attr("value").await.ok()?
    };
    let first = until(Duration::from_secs(30), "a progress bar", || async {
        progress().await
    })
    .await;
    let url_before = c.current_url().await.unwrap();
    let later = until(Duration::from_secs(30), "progress to change", || async {
        progress().await.filter(|v| *v != first)
    })
    .await;
    assert_eq!(c.current_url().await.unwrap(), url_before, "no navigation");
    eprintln!("progress {first} -> {later}");
    checked_source(&c, "/ (refreshed)", &phones).await;
    until(Duration::from_secs(15), "a measured rate", || async {
        text(&c, "#live td[data-label=Rate]")
            .await
            .filter(|t| t.contains("/ min"))
    })
    .await;
    screenshot(&c, "campaigns").await;

    // The campaign's page: pause, then resume, with its buttons.
    c.find(Locator::Css(&format!("a[href='/campaigns/{CAMPAIGN}']")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Locator::Css("form[action$='/pause'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let flash = until(Duration::from_secs(10), "the pause message", || async {
        text(&c, ".flash").await
    })
    .await;
    assert!(flash.starts_with("Campaign paused"), "{flash}");
    assert!(text(&c, ".facts .state").await.unwrap().contains("paused"));
    let id = CampaignId::parse(CAMPAIGN).unwrap();
    assert_eq!(
        store.campaign_status(&id).await.unwrap().unwrap().state,
        CampaignState::Paused
    );
    checked_source(&c, "the campaign page", &phones).await;
    screenshot(&c, "campaign-paused").await;
    c.find(Locator::Css("form[action$='/resume'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let flash = until(Duration::from_secs(10), "the resume message", || async {
        text(&c, ".flash").await.filter(|f| f.contains("resumed"))
    })
    .await;
    assert_eq!(flash, "Campaign resumed.");
    assert_eq!(
        store.campaign_status(&id).await.unwrap().unwrap().state,
        CampaignState::Active
    );
    assert!(
        c.find(Locator::Css(
            "form[action$='/cancel'] input#cancel-confirm[required]"
        ))
        .await
        .is_ok()
    );

    // An escalation: open ones first; filter, open, acknowledge.
    until(Duration::from_secs(90), "an urgent escalation", || async {
        open(&c, &format!("{base}/escalations?severity=urgent"), &phones).await;
        c.find(Locator::Css("table tbody tr")).await.ok()
    })
    .await;
    for severity in c
        .find_all(Locator::Css("tbody td[data-label=Severity]"))
        .await
        .unwrap()
    {
        assert_eq!(severity.text().await.unwrap(), "urgent");
    }
    screenshot(&c, "escalations").await;
    c.find(Locator::Css("tbody th a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let esc_id = until(Duration::from_secs(10), "the escalation's page", || async {
        path_of(&c)
            .await
            .strip_prefix("/escalations/")
            .map(str::to_owned)
    })
    .await;
    assert!(text(&c, "#status").await.unwrap().contains("open"));
    assert!(
        checked_source(&c, "an escalation", &phones)
            .await
            .contains("bribe asked")
    );
    c.find(Locator::Css("#ack-by"))
        .await
        .unwrap()
        .send_keys("collector-khurda")
        .await
        .unwrap();
    c.find(Locator::Css("#ack-note"))
        .await
        .unwrap()
        .send_keys("Called the office.")
        .await
        .unwrap();
    c.find(Locator::Css("form.ack button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let status = until(Duration::from_secs(10), "the acknowledgement", || async {
        text(&c, "#status")
            .await
            .filter(|s| s.contains("acknowledged"))
    })
    .await;
    assert!(
        status.starts_with("acknowledged by collector-khurda"),
        "{status}"
    );
    assert_eq!(
        text(&c, ".flash").await.as_deref(),
        Some("Escalation acknowledged.")
    );
    let stored = store
        .escalation(&esc_id)
        .await
        .unwrap()
        .expect("the escalation");
    assert_eq!(
        stored.acknowledged.unwrap().note.as_deref(),
        Some("Called the office.")
    );
    screenshot(&c, "escalation").await;

    // The scorecards, drilled down department → office → official, with a
    // rank once an official has enough answered calls.
    open(&c, &format!("{base}/scorecards"), &phones).await;
    until(
        Duration::from_secs(60),
        "the department's scorecard",
        || async {
            open(&c, &format!("{base}/scorecards"), &phones).await;
            c.find(Locator::LinkText("home")).await.ok()
        },
    )
    .await
    .click()
    .await
    .unwrap();
    c.find(Locator::LinkText("Puri Sadar PS"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(
        c.current_url()
            .await
            .unwrap()
            .query()
            .unwrap()
            .contains("by=official")
    );
    let ranked = until(Duration::from_secs(120), "a ranked official", || async {
        c.refresh().await.ok()?;
        let rank = text(&c, "tbody td[data-label=Rank]").await?;
        rank.parse::<usize>().ok().map(|_| rank)
    })
    .await;
    assert_eq!(ranked, "1");
    let html = checked_source(&c, "the scorecards", &phones).await;
    assert!(
        html.contains("off-1") && html.contains("<svg class=\"trend\""),
        "officials with trends"
    );
    assert!(
        text(&c, "tbody td[data-label='At least (95%)']")
            .await
            .unwrap()
            .ends_with('%')
    );
    // Sorted by name, then the other way round.
    c.find(Locator::LinkText("Name"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let th = c.find(Locator::Css("th[aria-sort]")).await.unwrap();
    assert_eq!(
        th.attr("aria-sort").await.unwrap().as_deref(),
        Some("ascending")
    );
    c.goto(&format!("{base}/scorecards?by=official"))
        .await
        .unwrap();
    screenshot(&c, "scorecards").await;

    // Dead letters: the refused document, its number masked.
    let html = open(&c, &format!("{base}/dead-letters"), &phones).await;
    assert!(html.contains("******5678"), "the refused number, masked");
    screenshot(&c, "dead-letters").await;
    let html = open(&c, &format!("{base}/health"), &phones).await;
    assert!(html.contains("answers ("), "Redis answers");
    assert!(
        html.contains("<th scope=\"row\">e2e</th>"),
        "the instance is seen"
    );
    screenshot(&c, "health").await;

    // Every page and live part, fetched as a script would: no number.
    let bearer = [("Authorization", "Bearer console-test-admin-token")];
    for page in [
        "/".to_owned(),
        "/?fragment=live".to_owned(),
        format!("/campaigns/{CAMPAIGN}"),
        format!("/campaigns/{CAMPAIGN}?fragment=live"),
        "/escalations?status=all".to_owned(),
        format!("/escalations/{esc_id}"),
        "/scorecards?by=official&days=all".to_owned(),
        "/scorecards?by=service".to_owned(),
        "/dead-letters".to_owned(),
        "/health".to_owned(),
    ] {
        let (status, _, body) = http(admin, "GET", &page, &bearer, "").await;
        assert_eq!(status, 200, "{page}");
        assert_no_phone(&body, &phones, &page);
    }

    // A phone's screen: tables stack into cards.
    c.goto(&format!("{base}/")).await.unwrap();
    let desktop_thead = c
        .find(Locator::Css("table.stack thead"))
        .await
        .unwrap()
        .css_value("position")
        .await
        .unwrap();
    let phone = driver.session(390, 844, true).await;
    log_in(&phone, &base, TOKEN).await;
    until(
        Duration::from_secs(10),
        "the campaign list on a phone",
        || async { (path_of(&phone).await == "/").then_some(()) },
    )
    .await;
    let phone_thead = phone
        .find(Locator::Css("table.stack thead"))
        .await
        .unwrap()
        .css_value("position")
        .await
        .unwrap();
    assert_eq!(
        (desktop_thead.as_str(), phone_thead.as_str()),
        ("static", "absolute")
    );
    screenshot(&phone, "campaigns-phone").await;
    open(&phone, &format!("{base}/escalations?status=all"), &phones).await;
    screenshot(&phone, "escalations-phone").await;
    open(&phone, &format!("{base}/scorecards?by=official"), &phones).await;
    screenshot(&phone, "scorecards-phone").await;
    phone.close().await.unwrap();

    // Logging out ends the session.
    c.goto(&format!("{base}/")).await.unwrap();
    c.find(Locator::Css("form.logout button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(Duration::from_secs(10), "the login page", || async {
        (path_of(&c).await == "/login").then_some(())
    })
    .await;
    c.goto(&format!("{base}/health")).await.unwrap();
    assert_eq!(path_of(&c).await, "/login");
    c.close().await.unwrap();

    let open_left = store
        .escalations(&EscalationQuery {
            open_only: true,
            ..EscalationQuery::default()
        })
        .await
        .unwrap();
    assert!(
        open_left
            .iter()
            .all(|v| v.escalation.escalation_id != esc_id)
    );
    daemon.shutdown().await;
    sim_cancel.cancel();
    simulator.wait().await;
}
