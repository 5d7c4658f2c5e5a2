//! The admin listener's do-not-call routes, with the request log captured:
//! in a test binary of its own, so no other test's requests share the log
//! callsites while it captures them.

mod support;

use serde_json::{Value, json};
use support::admin::{admin, request};
use support::http::raw;
use support::log_capture::LogCapture;

fn reply(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[tokio::test]
async fn the_do_not_call_list_is_managed_with_numbers_masked() {
    let (capture, _guard) = LogCapture::scoped();
    let (addr, store, cancel) = admin(Some("s3cret")).await;
    let call = |method: &'static str, path: &'static str, body: &'static str| async move {
        raw(addr, &request(addr, method, path, Some("s3cret"), body)).await
    };
    let mut bodies = Vec::new();

    let (status, _) = raw(addr, &request(addr, "GET", "/admin/dnc", None, "")).await;
    assert_eq!(status, 401, "the token is required");
    let (status, body) = call("GET", "/admin/dnc", "").await;
    assert_eq!((status, reply(&body)), (200, json!({"count": 0})));

    // Added, with an expiry as a duration; the number percent-encoded.
    let before = store.now_ms().await.unwrap();
    let (status, body) = call(
        "PUT",
        "/admin/dnc/%2B919876500001",
        r#"{"reason": "asked by letter", "expires_at": "30d"}"#,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let r = reply(&body);
    assert_eq!(r["result"], "added");
    assert_eq!(r["number"], "+91******0001");
    assert_eq!(r["reason"], "asked by letter");
    let expires = r["expires_at_ms"].as_i64().unwrap();
    assert!(expires >= before + 30 * 86_400_000, "{r}");
    bodies.push(body);

    // Updated: reason replaced, expiry gone, first added time kept.
    let (status, body) = call(
        "PUT",
        "/admin/dnc/+919876500001",
        r#"{"reason": "court order"}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let u = reply(&body);
    assert_eq!(
        (&u["result"], &u["reason"], &u["expires_at_ms"]),
        (&json!("updated"), &json!("court order"), &Value::Null)
    );
    assert_eq!(u["added_at_ms"], r["added_at_ms"]);
    bodies.push(body);

    // An Indian national form and no body at all.
    let (status, body) = call("PUT", "/admin/dnc/09876500002", "").await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = call("GET", "/admin/dnc/%2B919876500002", "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(reply(&body)["listed"], true);
    bodies.push(body);
    let (_, body) = call("GET", "/admin/dnc", "").await;
    assert_eq!(reply(&body), json!({"count": 2}));
    let listed = sampark::domain::PhoneNumber::parse("+919876500002").unwrap();
    assert!(store.dnc_check(&listed).await.unwrap().is_some(), "stored");

    // Bad input, each with its reason.
    let long_reason = format!(r#"{{"reason": "{}"}}"#, "r".repeat(5000));
    for (path, body, want, says) in [
        (
            "/admin/dnc/9876500003",
            r#"{"expires_at": "2020-01-01"}"#,
            422,
            "not in the future",
        ),
        (
            "/admin/dnc/9876500003",
            r#"{"expires_at": "soon"}"#,
            422,
            "expires_at",
        ),
        (
            "/admin/dnc/9876500003",
            r#"{"colour": "red"}"#,
            400,
            "unknown field",
        ),
        ("/admin/dnc/9876500003", "[1]", 400, "JSON object"),
        // Over json_guard's limits: a key twice, a string too long.
        (
            "/admin/dnc/9876500003",
            r#"{"reason": "a", "reason": "b"}"#,
            400,
            "key `reason` appears twice",
        ),
        (
            "/admin/dnc/9876500003",
            long_reason.as_str(),
            400,
            "reason is 5000 bytes long; at most 4096 are allowed",
        ),
        ("/admin/dnc/12345", "", 400, "digits"),
        ("/admin/dnc/%ZZ", "", 400, "percent-encoded"),
    ] {
        let (status, reply) = raw(addr, &request(addr, "PUT", path, Some("s3cret"), body)).await;
        assert_eq!(status, want, "{path} {body}: {reply}");
        assert!(reply.contains(says), "{path} {body}: {reply}");
        bodies.push(reply);
    }
    assert_eq!(
        call("POST", "/admin/dnc/9876500001", "").await.0,
        405,
        "POST is for /import only"
    );

    let (status, body) = call("DELETE", "/admin/dnc/9876500001", "").await;
    assert_eq!(
        (status, reply(&body)["removed"].clone()),
        (200, json!(true))
    );
    let (status, body) = call("DELETE", "/admin/dnc/9876500001", "").await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = call("GET", "/admin/dnc/9876500001", "").await;
    assert_eq!(
        (status, reply(&body)),
        (404, json!({"number": "+91******0001", "listed": false}))
    );

    // An import: every bad line by number, the rest imported.
    let (status, body) = call(
        "POST",
        "/admin/dnc/import",
        "phone,reason,expires\n9876500003,asked\n98765\n+91 98765 00002,again\n9876500004,,2020-01-01\n",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let report = reply(&body);
    assert_eq!(
        (&report["added"], &report["updated"]),
        (&json!(1), &json!(1))
    );
    let lines: Vec<_> = report["invalid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![3, 5], "{report}");
    bodies.push(body);
    assert_eq!(call("GET", "/admin/dnc/import", "").await.0, 405);
    let (_, body) = call("GET", "/admin/dnc", "").await;
    assert_eq!(reply(&body), json!({"count": 2}));

    // No full number in any reply or in the request log.
    let logs = capture.text();
    assert!(logs.contains("/admin/dnc/+91******0001"), "{logs}");
    assert!(logs.contains("Do-not-call entry removed"), "{logs}");
    for text in bodies.iter().chain([&logs]) {
        for digits in ["9876500001", "9876500002", "9876500003", "9876500004"] {
            assert!(!text.contains(digits), "{digits} in {text}");
        }
    }
    cancel.cancel();
}
