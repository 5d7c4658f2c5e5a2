//! The fault kit checks itself: the Redis fault proxy against a real
//! redis-server, the round-robin balancer against two echo servers, and the
//! invariants against fabricated evidence (one clean set, then one broken
//! thing at a time).

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use sampark::dialplan::CallContext;
use sampark::domain::{Direction, FeedbackRecord, Outcome};
use sampark::simulator::{self, LedgerEntry, PressKind};
use support::eventually;
use support::evidence::Evidence;
use support::fault_proxy::{FaultProxy, Mode};
use support::invariants::{Expectations, Violation, check_all, check_no_phone_numbers};
use support::lb::RoundRobin;
use support::log_capture::LogCapture;
use support::placed_calls::{dialplan_replay, placed_calls};
use support::redis_server::RedisServer;
use tokio::net::TcpListener;
use tokio_util::sync::{CancellationToken, DropGuard};

const WAIT: Duration = Duration::from_secs(10);

fn upstream(redis: &RedisServer) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], redis.port))
}

/// A connection whose commands time out after `timeout`.
async fn connect(url: &str, timeout: Duration) -> redis::RedisResult<MultiplexedConnection> {
    let config = redis::AsyncConnectionConfig::new().set_response_timeout(Some(timeout));
    redis::Client::open(url)?
        .get_multiplexed_async_connection_with_config(&config)
        .await
}

async fn counter(redis: &RedisServer) -> Option<i64> {
    let mut direct = connect(&redis.url(), WAIT).await.unwrap();
    direct.get("k").await.unwrap()
}

#[tokio::test]
async fn commands_pass_and_delays_hold_them() {
    let redis = RedisServer::start();
    let proxy = FaultProxy::start(upstream(&redis)).await;
    let mut conn = connect(&proxy.url(), WAIT).await.unwrap();
    let pong: String = redis::cmd("PING").query_async(&mut conn).await.unwrap();
    assert_eq!(pong, "PONG");

    proxy.set_mode(Mode::Delay(Duration::from_millis(300)));
    let started = tokio::time::Instant::now();
    let _: String = redis::cmd("PING").query_async(&mut conn).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));

    let stats = proxy.stats();
    assert_eq!((stats.accepted, stats.open), (1, 1), "{stats:?}");
    assert!(
        stats.chunks_forwarded >= 2 && stats.bytes_returned > 0,
        "{stats:?}"
    );
    proxy.shutdown().await;
}

#[tokio::test]
async fn a_black_hole_holds_commands_until_released() {
    let redis = RedisServer::start();
    let proxy = FaultProxy::start(upstream(&redis)).await;
    let mut conn = connect(&proxy.url(), Duration::from_millis(200))
        .await
        .unwrap();
    proxy.set_mode(Mode::BlackHole);
    let incr: redis::RedisResult<i64> = conn.incr("k", 1).await;
    assert!(incr.is_err(), "a stalled Redis answers nothing: {incr:?}");
    assert_eq!(counter(&redis).await, None, "held, not executed");
    proxy.set_mode(Mode::Pass);
    eventually(WAIT, "the held INCR executed", || async {
        (counter(&redis).await == Some(1)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_stall_executes_a_command_after_its_client_gave_up() {
    let redis = RedisServer::start();
    let proxy = FaultProxy::start(upstream(&redis)).await;
    let mut conn = connect(&proxy.url(), Duration::from_millis(200))
        .await
        .unwrap();
    proxy.stall_for(Duration::from_secs(2));
    let incr: redis::RedisResult<i64> = conn.incr("k", 1).await;
    assert!(incr.is_err(), "timed out during the stall: {incr:?}");
    drop(conn); // the client gives up on the connection, as a pool would
    eventually(WAIT, "the INCR executed once the stall ended", || async {
        (counter(&redis).await == Some(1)).then_some(())
    })
    .await;
    assert_eq!(proxy.mode(), Mode::Pass);
    let mut again = connect(&proxy.url(), WAIT).await.unwrap();
    assert_eq!(again.incr::<_, _, i64>("k", 1).await.unwrap(), 2);
}

#[tokio::test]
async fn reset_after_forward_loses_the_reply_not_the_write() {
    let redis = RedisServer::start();
    let proxy = FaultProxy::start(upstream(&redis)).await;
    // Connect first: the client's set-up commands are chunks too.
    let mut conn = connect(&proxy.url(), WAIT).await.unwrap();
    proxy.reset_after_forward(1);
    let incr: redis::RedisResult<i64> = conn.incr("k", 1).await;
    assert!(incr.is_err(), "the reply was lost: {incr:?}");
    eventually(WAIT, "the INCR ran all the same", || async {
        (counter(&redis).await == Some(1)).then_some(())
    })
    .await;
    assert_eq!(proxy.mode(), Mode::Pass, "one reset, then pass");
    assert_eq!(proxy.stats().resets_after_forward, 1);
    let mut again = connect(&proxy.url(), WAIT).await.unwrap();
    assert_eq!(again.incr::<_, _, i64>("k", 1).await.unwrap(), 2);
}

#[tokio::test]
async fn going_down_cuts_open_connections_and_refuses_new_ones() {
    let redis = RedisServer::start();
    let proxy = FaultProxy::start(upstream(&redis)).await;
    let mut conn = connect(&proxy.url(), WAIT).await.unwrap();
    let _: String = redis::cmd("PING").query_async(&mut conn).await.unwrap();
    proxy.go_down();
    let ping: redis::RedisResult<String> = redis::cmd("PING").query_async(&mut conn).await;
    assert!(ping.is_err(), "the open connection was cut: {ping:?}");
    assert!(!pings(&proxy.url()).await, "a new connection is refused");
    let stats = proxy.stats();
    assert!(stats.refused >= 1 && stats.cut == 1, "{stats:?}");
    proxy.set_mode(Mode::Pass);
    assert!(pings(&proxy.url()).await);
}

/// Whether a new connection to `url` answers PING (the TCP connect alone
/// succeeds even when the proxy resets it at once).
async fn pings(url: &str) -> bool {
    let Ok(mut conn) = connect(url, WAIT).await else {
        return false;
    };
    let pong: redis::RedisResult<String> = redis::cmd("PING").query_async(&mut conn).await;
    pong.is_ok()
}

/// An HTTP server answering `name|method|uri|host|signature|body`.
async fn echo_server(name: &'static str) -> (SocketAddr, DropGuard) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let cancel = CancellationToken::new();
    let token = cancel.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = tokio::select! {
                _ = token.cancelled() => return,
                accepted = listener.accept() => accepted.unwrap(),
            };
            let service = service_fn(move |req: Request<Incoming>| async move {
                let (parts, body) = req.into_parts();
                let body = body.collect().await?.to_bytes();
                let header = |n: &str| {
                    let value = parts.headers.get(n).and_then(|v| v.to_str().ok());
                    value.unwrap_or("-").to_owned()
                };
                let text = format!(
                    "{name}|{}|{}|{}|{}|{}",
                    parts.method,
                    parts.uri,
                    header("host"),
                    header("x-twilio-signature"),
                    String::from_utf8_lossy(&body)
                );
                Ok::<_, hyper::Error>(Response::new(Full::new(Bytes::from(text))))
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            tokio::spawn(conn);
        }
    });
    (addr, cancel.drop_guard())
}

/// Posts a signed-looking webhook through the balancer over a pooled
/// (keep-alive) client; returns the echo.
async fn post(
    client: &Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    lb: &RoundRobin,
) -> String {
    let req = Request::post(format!("{}/twilio/status?job=c%2F1&attempt=2", lb.url()))
        .header("host", "ivr.example.test")
        .header("x-twilio-signature", "c2lnbmVk+/=")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from_static(
            b"CallSid=CA1&CallStatus=ringing",
        )))
        .unwrap();
    let response = client.request(req).await.unwrap();
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(body.to_vec()).unwrap()
}

#[tokio::test]
async fn the_balancer_alternates_per_request_and_skips_dead_backends() {
    let (a, _a) = echo_server("a").await;
    let (b, _b) = echo_server("b").await;
    let lb = RoundRobin::start(vec![a, b]).await;
    let client = Client::builder(TokioExecutor::new()).build_http();
    let mut served = Vec::new();
    for _ in 0..4 {
        served.push(post(&client, &lb).await);
    }
    let names: Vec<&str> = served.iter().map(|s| &s[..1]).collect();
    assert_eq!(
        names,
        ["a", "b", "a", "b"],
        "per request, on one connection"
    );
    assert_eq!(
        &served[0][1..],
        "|POST|/twilio/status?job=c%2F1&attempt=2|ivr.example.test|c2lnbmVk+/=|CallSid=CA1&CallStatus=ringing",
        "path, query, Host, signature and body unchanged"
    );

    lb.remove_backend(b);
    for _ in 0..3 {
        assert!(post(&client, &lb).await.starts_with('a'));
    }
    // A backend that died without being removed is skipped.
    let dead = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap()
    };
    lb.set_backends(vec![dead, a]);
    for _ in 0..3 {
        assert!(post(&client, &lb).await.starts_with('a'));
    }
    let stats = lb.stats();
    assert!(stats.connect_failures >= 1, "{stats:?}");
    assert_eq!((lb.served(a), lb.served(b), stats.failed), (8, 2, 0));
    lb.shutdown().await;
}

const CAMPAIGN: &str = "kit";

fn contacts() -> Vec<String> {
    vec!["c-1".into(), "c-2".into()]
}

fn context(record: &FeedbackRecord) -> CallContext {
    CallContext {
        language: Some("en".into()),
        office: record.office.clone(),
        service: record.service.clone(),
    }
}

fn originate(sid: &str, contact: &str, attempt: u32, at_ms: i64) -> LedgerEntry {
    let url =
        format!("http://lb/twilio/answer?job={CAMPAIGN}%2F{contact}&shard=3&attempt={attempt}");
    LedgerEntry::Originate {
        call_sid: sid.into(),
        status_callback: Some(url.replace("/answer", "/status")),
        url,
        to_masked: "+91******0001".into(),
        at_ms,
        direction: simulator::Direction::Outbound,
        machine_detection: None,
    }
}

fn press(sid: &str, gather: u32, digits: &str) -> LedgerEntry {
    LedgerEntry::Press {
        call_sid: sid.into(),
        gather,
        digits: digits.into(),
        kind: if digits.is_empty() {
            PressKind::Silent
        } else {
            PressKind::Valid
        },
        direction: simulator::Direction::Outbound,
    }
}

fn record(contact: &str, outcome: Outcome, attempts: u32, finished_at_ms: i64) -> FeedbackRecord {
    FeedbackRecord {
        version: 1,
        record_id: format!("{CAMPAIGN}/{contact}"),
        campaign_id: CAMPAIGN.into(),
        contact_id: contact.into(),
        official_id: "off-1".into(),
        department: "home".into(),
        office: "Puri Sadar PS".into(),
        service: "FIR registration".into(),
        outcome,
        reason: None,
        attempts,
        answers: Vec::new(),
        flags: Vec::new(),
        queued_at_ms: 1_000,
        first_dialled_at_ms: Some(1_100),
        finished_at_ms,
        direction: Direction::Outbound,
        attributed: true,
        bridge: None,
    }
}

/// c-1: no answer, then answered on attempt 2 with 1, (silence), 2, 5;
/// c-2: busy once and given up as busy.
fn clean_evidence() -> Evidence {
    let ledger = vec![
        originate("CA1", "c-1", 1, 1_100),
        originate("CA2", "c-2", 1, 1_150),
        originate("CA3", "c-1", 2, 2_000),
        press("CA3", 0, "1"),
        press("CA3", 1, ""),
        press("CA3", 1, "2"),
        press("CA3", 2, "5"),
    ];
    let mut c1 = record("c-1", Outcome::Completed, 2, 3_000);
    let plans = support::daemon::dialplans();
    let plan = plans.get("mo-sarkar-feedback").unwrap();
    let presses = placed_calls(&ledger).0[2].presses.clone();
    c1.answers = ["treated_well", "asked_money", "rating"]
        .iter()
        .zip(&dialplan_replay(&plan, context)(&c1, &presses))
        .map(|(q, a)| {
            assert_eq!(*q, a.question);
            sampark::domain::Answer {
                question: a.question.clone(),
                digits: a.digits.clone(),
                value: a.value.clone(),
                label: String::new(),
                flag: None,
                at_ms: 2_500,
            }
        })
        .collect();
    Evidence {
        records: vec![c1, record("c-2", Outcome::Busy, 1, 1_900)],
        leftovers: Vec::new(),
        ledger,
        logs: Some("INFO call placed call.to=+91******0001\n".into()),
    }
}

fn violations(evidence: &Evidence) -> Vec<Violation> {
    let plans = support::daemon::dialplans();
    let plan = plans.get("mo-sarkar-feedback").unwrap();
    let answers = dialplan_replay(&plan, context);
    let expect = Expectations {
        campaign_id: CAMPAIGN,
        contacts: &contacts(),
        phones: &["+919800000001".into()],
        answers: &answers,
    };
    check_all(&expect, evidence)
}

fn checks(evidence: &Evidence) -> Vec<&'static str> {
    violations(evidence).iter().map(|v| v.check).collect()
}

#[test]
fn the_invariants_pass_a_clean_set_and_flag_each_breach() {
    let clean = clean_evidence();
    support::invariants::assert_no_violations(&violations(&clean));

    let mut e = clean_evidence();
    e.records.push(e.records[1].clone());
    assert_eq!(
        checks(&e),
        ["one_record_per_contact"],
        "{:?}",
        violations(&e)
    );
    e.records.truncate(1);
    assert_eq!(checks(&e), ["one_record_per_contact"]);

    let mut e = clean_evidence();
    e.ledger.push(originate("CA4", "c-2", 1, 1_200));
    assert_eq!(
        checks(&e),
        ["originates_unique", "attempts_match_calls"],
        "{:?}",
        violations(&e)
    );

    let mut e = clean_evidence();
    e.ledger.push(originate("CA4", "c-2", 2, 5_000));
    assert!(checks(&e).contains(&"no_originate_after_finish"));

    let mut e = clean_evidence();
    e.records[0].answers.pop();
    assert_eq!(checks(&e), ["answers_match_presses"]);

    let mut e = clean_evidence();
    e.logs = Some("DEBUG originate to=919800000001 sid=CA1\n".into());
    assert_eq!(checks(&e), ["no_phone_numbers"]);
    assert!(check_no_phone_numbers("at_ms=19198000000012", &["+919800000001".into()]).is_empty());
}

#[tokio::test]
async fn evidence_finds_what_a_campaign_left_in_redis() {
    let redis = RedisServer::start();
    let e = Evidence::gather(&redis.url(), Vec::new(), None).await;
    assert!(e.records.is_empty() && e.leftovers.is_empty(), "{e:?}");

    let mut conn = connect(&redis.url(), WAIT).await.unwrap();
    let _: () = conn
        .zadd("sampark:{s03}:inflight", "kit/c-1", 1)
        .await
        .unwrap();
    let _: () = redis::cmd("XGROUP")
        .arg(&["CREATE", "sampark:{s15}:ready", "dialers", "$", "MKSTREAM"])
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: String = conn
        .xadd("sampark:{s15}:ready", "*", &[("job", "kit/c-2")])
        .await
        .unwrap();
    let _: redis::Value = redis::cmd("XREADGROUP")
        .arg(&[
            "GROUP",
            "dialers",
            "d1",
            "STREAMS",
            "sampark:{s15}:ready",
            ">",
        ])
        .query_async(&mut conn)
        .await
        .unwrap();
    let record = serde_json::to_string(&record("c-1", Outcome::Busy, 1, 5)).unwrap();
    let _: String = conn
        .xadd("sampark:feedback", "*", &[("record", record)])
        .await
        .unwrap();

    let e = Evidence::gather(&redis.url(), Vec::new(), None).await;
    assert_eq!(e.records.len(), 1);
    let found: Vec<String> = support::invariants::check_nothing_left(&e.leftovers)
        .iter()
        .map(|v| v.detail.clone())
        .collect();
    assert_eq!(
        found,
        [
            "sampark:{s03}:inflight zcard = 1",
            "sampark:{s15}:ready xlen = 1",
            "sampark:{s15}:ready pending (dialers) = 1",
        ]
    );
}

#[test]
fn a_log_capture_sees_what_was_logged() {
    let (capture, _guard) = LogCapture::scoped();
    let mark = capture.mark();
    tracing::info!(call.to = "+919800000001", "a careless line");
    let text = capture.text_since(mark);
    assert!(text.contains("a careless line"), "{text}");
    assert_eq!(
        check_no_phone_numbers(&text, &["+919800000001".into()]).len(),
        1
    );
}
