//! The console in a real headless Chromium (see the crate's docs).

use std::time::Duration;

use fantoccini::Locator;
use sampark::config::Secret;
use sampark::domain::CampaignId;
use sampark::simulator::SimulatorConfig;
use sampark::store::{CampaignState, EscalationQuery, Quota, Store};
use serde_json::json;

use super::browser::{self, checked_source, log_in, open, path_of, screenshot, text, until};
use super::{CAMPAIGN, REFUSED_PHONE, TOKEN, assert_no_phone, http};
use crate::support::daemon::{
    bind_webhook, dialer_config, every_call_answered, start_daemon_on, start_simulator,
};
use crate::support::redis_server::RedisServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn console_in_chromium() {
    let driver = browser::Driver::start();
    let redis = RedisServer::start();
    let (simulator, sim_cancel) = start_simulator(SimulatorConfig {
        seed: 11,
        think_delay: (Duration::from_millis(100), Duration::from_millis(300)),
        // Every call is answered and every key pressed is a choice: most
        // citizens finish the survey, and about half say money was asked.
        ..every_call_answered()
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
    // Submitting returns before the answer is shown: wait for it.
    let refusal = until(Duration::from_secs(10), "the refused login", || {
        text(&c, ".problem")
    })
    .await;
    assert_eq!(refusal, "Wrong token.");
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
