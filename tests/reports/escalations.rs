//! Escalations through the `sampark` binary and the admin API: listed open
//! first, filtered, shown with their answers, acknowledged once.

use serde_json::{Value, json};

use crate::fixture::{fetch, seeded};
use crate::support::scorecards::scoring;
use crate::{ok, stderr, stdout};
use sampark::domain::escalation_id_of;
use sampark::store::Store;

/// (open, severity, at_ms) of each escalation of a listing.
fn order(listing: &Value) -> Vec<(bool, String, i64)> {
    listing["escalations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["open"].as_bool().unwrap(),
                e["severity"].as_str().unwrap().to_owned(),
                e["at_ms"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn severity_rank(s: &str) -> u8 {
    ["urgent", "high", "watch"]
        .iter()
        .position(|x| *x == s)
        .unwrap() as u8
}

/// Open first, then most urgent, then newest (acknowledged ones newest
/// first).
fn assert_ordered(listing: &Value) {
    let keys: Vec<(bool, u8, i64)> = order(listing)
        .into_iter()
        .map(|(open, s, at)| (!open, if open { severity_rank(&s) } else { 0 }, -at))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "{listing}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalations_are_listed_filtered_and_acknowledged_once() {
    let env = seeded().await;
    let cx = scoring();
    let flagged: Vec<_> = env
        .records
        .iter()
        .filter(|r| cx.rules.escalating(r).is_some())
        .collect();
    assert!(flagged.len() > 5, "the fixture raises flags");

    // The token is required.
    for token in [None, Some("wrong")] {
        let reply = fetch(env.admin, "GET", "/admin/escalations", token, "").await;
        assert_eq!(reply.status, 401, "{token:?}");
        let reply = fetch(env.admin, "POST", "/admin/escalations/x/ack", token, "{}").await;
        assert_eq!(reply.status, 401, "{token:?}");
    }

    // Every one open, most urgent first; the CLI's JSON is the API's.
    let open = env.get("/admin/escalations").await.json();
    assert_eq!(open["escalations"].as_array().unwrap().len(), flagged.len());
    assert_ordered(&open);
    assert_eq!(open["escalations"][0]["severity"], "urgent");
    let cli: Value = serde_json::from_str(&ok(env.sampark(&[
        "escalations",
        "list",
        "--format",
        "json",
    ])))
    .unwrap();
    assert_eq!(cli, open);

    // Acknowledged once: the second acknowledgement returns the first.
    let target = open["escalations"][0]["escalation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/admin/escalations/{target}/ack");
    let reply = env
        .post(
            &path,
            r#"{"by": "ଖୋର୍ଦ୍ଧା SP office", "note": "citizen called back"}"#,
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), json!({"acknowledged": true, "first": false}));
    let reply = env.post(&path, r#"{"by": "someone else"}"#).await;
    assert_eq!(reply.status, 200);
    let first = reply.json()["first"].clone();
    assert_eq!(first["by"], "ଖୋର୍ଦ୍ଧା SP office");
    assert_eq!(first["note"], "citizen called back");
    let now = env.store.now_ms().await.unwrap();
    assert!(
        (now - first["at_ms"].as_i64().unwrap()).abs() < 60_000,
        "the store's clock"
    );
    let again = env.sampark(&["escalations", "ack", &target, "--by", "a third"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(
        stdout(&again).contains("already acknowledged by ଖୋର୍ଦ୍ଧା SP office"),
        "{}",
        stdout(&again)
    );

    // Acknowledged through the CLI.
    let second = open["escalations"][1]["escalation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let acked = ok(env.sampark(&["escalations", "ack", &second, "--by", "health-desk"]));
    assert!(
        acked.starts_with(&format!("acknowledged {second}")),
        "{acked}"
    );
    let one = env
        .get(&format!("/admin/escalations/{second}"))
        .await
        .json();
    assert_eq!(
        (&one["open"], &one["acknowledged"]["by"]),
        (&json!(false), &json!("health-desk"))
    );

    // Open only by default; with all=true the acknowledged ones come last.
    let open_now = env.get("/admin/escalations").await.json();
    assert_eq!(
        open_now["escalations"].as_array().unwrap().len(),
        flagged.len() - 2
    );
    let all = env.get("/admin/escalations?all=true").await.json();
    assert_eq!(all["escalations"].as_array().unwrap().len(), flagged.len());
    assert_ordered(&all);
    let last_two: Vec<bool> = order(&all).iter().rev().take(2).map(|o| o.0).collect();
    assert_eq!(last_two, [false, false]);
    let table = ok(env.sampark(&["escalations", "list", "--all"]));
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("id") && lines[0].ends_with("status"),
        "{table}"
    );
    assert!(lines[1].ends_with("open"), "{table}");
    assert!(lines.last().unwrap().contains("acknowledged by"), "{table}");
    assert!(
        table.contains("ଖୋର୍ଦ୍ଧା ଥାନା") && table.contains(" IST"),
        "{table}"
    );

    // Filters.
    let health = env
        .get("/admin/escalations?all=true&department=health")
        .await
        .json();
    let n_health = flagged.iter().filter(|r| r.department == "health").count();
    assert_eq!(health["escalations"].as_array().unwrap().len(), n_health);
    assert!(order(&health).len() > 1);
    let urgent = env
        .get("/admin/escalations?all=true&severity=urgent")
        .await
        .json();
    assert!(order(&urgent).iter().all(|o| o.1 == "urgent"));
    let n_urgent = flagged
        .iter()
        .filter(|r| cx.rules.escalating(r).unwrap().1.as_str() == "urgent")
        .count();
    assert_eq!(order(&urgent).len(), n_urgent);
    let cli: Value = serde_json::from_str(&ok(env.sampark(&[
        "escalations",
        "list",
        "--all",
        "--severity",
        "urgent",
        "--department",
        "health",
        "--format",
        "json",
    ])))
    .unwrap();
    assert!(order(&cli).iter().all(|o| o.1 == "urgent"));
    assert_eq!(
        cli,
        env.get("/admin/escalations?all=1&severity=urgent&department=health")
            .await
            .json()
    );
    let limited = env.get("/admin/escalations?limit=2").await.json();
    assert_eq!(order(&limited).len(), 2);

    // One in full, with the citizen's answers.
    let inbound = escalation_id_of("inbound/call-1");
    let shown = ok(env.sampark(&["escalations", "show", &inbound]));
    assert!(
        shown.contains("asked_money") && shown.contains("हाँ (yes)"),
        "{shown}"
    );
    assert!(shown.contains("2026-12-01 00:30 IST"), "{shown}");
    let one = env
        .get(&format!("/admin/escalations/{inbound}"))
        .await
        .json();
    assert_eq!(one["answers"][0]["label"], "हाँ");
    assert_eq!(one["direction"], "inbound");

    // Unknown ids.
    assert_eq!(
        env.get("/admin/escalations/esc-0000000000000000")
            .await
            .status,
        404
    );
    let reply = env
        .post(
            "/admin/escalations/esc-0000000000000000/ack",
            r#"{"by": "x"}"#,
        )
        .await;
    assert_eq!(reply.status, 404);
    for args in [
        vec!["escalations", "ack", "esc-0000000000000000", "--by", "x"],
        vec!["escalations", "show", "esc-0000000000000000"],
    ] {
        let out = env.sampark(&args);
        assert_eq!(out.status.code(), Some(4), "{args:?}");
        assert!(stderr(&out).contains("no escalation"), "{}", stderr(&out));
    }

    // Bad acknowledgements change nothing.
    let third = open["escalations"][2]["escalation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/admin/escalations/{third}/ack");
    let long_by = format!(r#"{{"by": "{}"}}"#, "x".repeat(101));
    let long_note = format!(r#"{{"by": "x", "note": "{}"}}"#, "n".repeat(1_001));
    for (body, says) in [
        ("", "JSON object"),
        (r#"{"note": "no by"}"#, "missing field `by`"),
        (r#"{"by": "  "}"#, "empty"),
        (long_by.as_str(), "100"),
        (long_note.as_str(), "1000"),
        (r#"{"by": "x", "colour": "red"}"#, "unknown field"),
    ] {
        let reply = env.post(&path, body).await;
        assert_eq!(reply.status, 400, "{body}");
        let error = reply.json()["error"].as_str().unwrap().to_owned();
        assert!(error.contains(says), "{body}: {error}");
    }
    let out = env.sampark(&["escalations", "ack", &third, "--by", " "]);
    assert_eq!(out.status.code(), Some(2));
    let one = env.get(&format!("/admin/escalations/{third}")).await.json();
    assert_eq!(one["open"], true);
}
