//! The console over plain HTTP (see the crate's docs).

use super::{TOKEN, header, http};
use crate::support;

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

    // Wrong tokens are limited per client, the bearer header's and the
    // login form's together: the wrong bearer and the wrong login above
    // are two; three more spend the budget, and the sixth attempt waits.
    for _ in 0..3 {
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

#[tokio::test]
async fn officials_are_listed_masked_and_a_call_is_requested_from_the_console() {
    use sampark::domain::{Official, OfficialFields};
    use sampark::store::IntakeEntry;

    let (addr, store, cancel) = support::admin::admin(None).await;
    store
        .put_officials(&[Official::new(&OfficialFields {
            official_id: "off-7".into(),
            name: "ଅନିତା ପଟ୍ଟନାୟକ".into(),
            phone: "9437000007".into(),
            office: "Khordha PS".into(),
            department: "home".into(),
            languages: vec!["or".into()],
        })
        .unwrap()])
        .await
        .unwrap();
    let (status, _, list) = http(addr, "GET", "/officials", &[], "").await;
    assert_eq!(status, 200, "{list}");
    assert!(list.contains("ଅନିତା ପଟ୍ଟନାୟକ") && list.contains(r#"href="/officials/off-7""#));
    assert!(!list.contains("9437000007"), "the number is masked: {list}");
    let (status, _, page) = http(addr, "GET", "/officials/off-7", &[], "").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(r#"<label for="call-phone">"#), "{page}");
    assert!(!page.contains("9437000007"));
    let csrf = page
        .split(r#"name="csrf" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    assert_eq!(
        http(addr, "GET", "/officials/off-nobody", &[], "").await.0,
        404
    );

    // A bad number is refused on the form, its digits masked.
    let form = |phone: &str| {
        format!(
            "csrf={csrf}&phone={phone}&first_name=Sunita&service=FIR+registration&office=Khordha+PS&visit_date=2026-11-27&language=or"
        )
    };
    let (status, _, refused) = http(
        addr,
        "POST",
        "/officials/off-7/call",
        &[],
        &form("12345678"),
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    assert!(refused.contains(r#"role="alert""#), "{refused}");
    assert!(!refused.contains("12345678"), "{refused}");

    let (status, head, _) = http(
        addr,
        "POST",
        "/officials/off-7/call",
        &[],
        &form("9800000001"),
    )
    .await;
    assert_eq!(
        (status, header(&head, "location")),
        (303, Some("/campaigns/official-calls-home?done=call-queued"))
    );
    let entries: Vec<IntakeEntry> = store
        .read_intake(
            "console-test",
            10,
            std::time::Duration::ZERO,
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap();
    let [entry] = entries.as_slice() else {
        panic!("{entries:?}");
    };
    let doc: serde_json::Value = serde_json::from_str(entry.payload.as_deref().unwrap()).unwrap();
    assert_eq!(doc["kind"], "official");
    assert_eq!(doc["id"], "official-calls-home");
    let contact = &doc["contacts"][0];
    assert_eq!(contact["official_id"], "off-7");
    assert_eq!(contact["first_name"], "Sunita");
    // Noon in the calling window's zone (UTC for this listener).
    assert_eq!(contact["visit_at"], "2026-11-27T12:00:00Z");
    cancel.cancel();
}
