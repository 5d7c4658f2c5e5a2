//! Issue 7, item 5: the do-not-call list managed with `sampark dnc` (the
//! real binary against a real redis-server), the citizen-key secret taking
//! effect (`serve` and the tools refuse to run without it or with another),
//! and the upgrade of opt-out markers written by earlier versions, after
//! which dialling honours them.

mod support;

use std::net::SocketAddr;
use std::process::{ExitStatus, Output, Stdio};
use std::time::Duration;

use redis::AsyncCommands;
use sampark::domain::{
    CampaignHeader, Contact, ContactId, JobSpec, OfficialId, Outcome, PhoneNumber,
};
use sampark::simulator::{LedgerEntry, SimulatorConfig};
use sampark::store::keys::Keys;
use sampark::store::{PutOutcome, Quota, Store};
use serde_json::{Value, json};
use support::cli::{Guard, sampark};
use support::daemon::{
    ACCOUNT_SID, AUTH_TOKEN, CITIZEN_KEY_SECRET, citizen_key, dialer_config, start_daemon,
    start_simulator,
};
use support::eventually;
use support::redis_server::{RedisServer, free_port};

const SECRET_ENV: &str = "SAMPARK__POLICY__CITIZEN_KEY_SECRET";

/// `sampark dnc ARGS --redis URL`, with `secret` in the environment.
fn dnc(redis: &RedisServer, secret: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = sampark();
    cmd.arg("dnc").args(args).args(["--redis", &redis.url()]);
    if let Some(secret) = secret {
        cmd.env(SECRET_ENV, secret);
    }
    cmd.output().expect("sampark runs")
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `sampark serve` against `redis` (provider unreachable: nothing is dialled
/// in these tests), with `secret` and extra arguments.
fn serve(redis: &RedisServer, admin_port: u16, secret: Option<&str>, extra: &[&str]) -> Guard {
    let webhook_port = free_port();
    let mut cmd = sampark();
    cmd.args(["serve", "--config", "config/sampark.toml"])
        .args(extra)
        .env("SAMPARK__REDIS__URL", redis.url())
        .env("SAMPARK__PROVIDER__BASE_URL", "http://127.0.0.1:9")
        .env("SAMPARK__PROVIDER__ACCOUNT_SID", ACCOUNT_SID)
        .env("SAMPARK__PROVIDER__AUTH_TOKEN", AUTH_TOKEN)
        .env(
            "SAMPARK__WEBHOOK__LISTEN",
            format!("127.0.0.1:{webhook_port}"),
        )
        .env(
            "SAMPARK__WEBHOOK__PUBLIC_URL",
            format!("http://127.0.0.1:{webhook_port}"),
        )
        .env("SAMPARK__ADMIN__LISTEN", format!("127.0.0.1:{admin_port}"))
        .env("SAMPARK__LOG__FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(secret) = secret {
        cmd.env(SECRET_ENV, secret);
    }
    Guard(cmd.spawn().unwrap())
}

fn stderr_of(mut guard: Guard) -> String {
    use std::io::Read;
    let _ = guard.0.kill();
    let _ = guard.0.wait();
    let mut text = String::new();
    if let Some(mut e) = guard.0.stderr.take() {
        e.read_to_string(&mut text).unwrap();
    }
    text
}

/// Waits for `serve` to exit by itself (it refused); its status and stderr.
async fn refused(redis: &RedisServer, secret: Option<&str>) -> (ExitStatus, String) {
    let mut child = serve(redis, free_port(), secret, &[]);
    let status = eventually(Duration::from_secs(30), "serve to exit", || {
        let s = child.0.try_wait().ok().flatten();
        async move { s }
    })
    .await;
    (status, stderr_of(child))
}

async fn conn(redis: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// No output, log or Redis key holds a whole number.
fn assert_no_digits(text: &str, numbers: &[&str]) {
    for n in numbers {
        assert!(!text.contains(&n[3..]), "{n} in: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dnc_commands_manage_the_list_by_tag_and_need_the_daemons_secret() {
    let redis = RedisServer::start();
    let numbers = [
        "+919876500001",
        "+919876500002",
        "+919876500003",
        "+919876500004",
    ];
    let secret = Some(CITIZEN_KEY_SECRET);
    let mut printed = String::new();

    // Without a secret, or with one too short, nothing runs; the secret is
    // never shown.
    let none = dnc(&redis, None, &["count"]);
    assert!(!none.status.success());
    assert!(err(&none).contains(SECRET_ENV), "{}", err(&none));
    let short = dnc(&redis, Some("hunter2"), &["count"]);
    assert!(!short.status.success());
    assert!(err(&short).contains("at least 16 bytes"), "{}", err(&short));
    assert!(!err(&short).contains("hunter2"), "{}", err(&short));

    let add = dnc(
        &redis,
        secret,
        &[
            "add",
            "098765 00001",
            "--reason",
            "asked by letter",
            "--expires",
            "2099-12-31",
        ],
    );
    assert!(add.status.success(), "{}", err(&add));
    assert!(
        out(&add).starts_with(
            "added: +91******0001 is on the do-not-call list (reason: asked by letter;"
        ),
        "{}",
        out(&add)
    );
    assert!(
        out(&add).contains("expires 2100-01-01T00:00:00+05:30"),
        "{}",
        out(&add)
    );
    printed += &out(&add);
    let bad = dnc(&redis, secret, &["add", "12345"]);
    assert_eq!(bad.status.code(), Some(2), "{}", err(&bad));
    let past = dnc(
        &redis,
        secret,
        &["add", "9876500009", "--expires", "2020-01-01"],
    );
    assert_eq!(past.status.code(), Some(2));
    assert!(err(&past).contains("not in the future"), "{}", err(&past));

    let check = dnc(&redis, secret, &["check", "+919876500001", "--json"]);
    assert!(check.status.success(), "{}", err(&check));
    let entry: Value = serde_json::from_str(&out(&check)).unwrap();
    assert_eq!(entry["number"], "+91******0001");
    assert_eq!(
        (&entry["listed"], &entry["reason"]),
        (&json!(true), &json!("asked by letter"))
    );

    // An import: bad lines reported by line number, the rest imported.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dnc.csv");
    std::fs::write(
        &file,
        "phone,reason,expires\n\
         9876500002,\"moved, no longer reachable\",90d\n\
         98765\n\
         +91 98765 00001,court order\n\
         9876500003\n\
         9876500004,,yesterday\n",
    )
    .unwrap();
    let import = dnc(&redis, secret, &["import", file.to_str().unwrap()]);
    assert_eq!(import.status.code(), Some(2), "{}", err(&import));
    assert_eq!(out(&import).trim(), "added 2, updated 1, invalid 2");
    let stderr = err(&import);
    let problems: Vec<&str> = stderr.lines().collect();
    assert_eq!(problems.len(), 2, "{stderr}");
    assert!(
        problems[0].contains("dnc.csv:3: a number without '+'"),
        "{stderr}"
    );
    assert!(problems[1].contains("dnc.csv:6: "), "{stderr}");
    printed += &out(&import);
    printed += &err(&import);

    let count = dnc(&redis, secret, &["count"]);
    assert_eq!(out(&count).trim(), "3", "{}", err(&count));

    let removed = dnc(&redis, secret, &["remove", "9876500001"]);
    assert!(removed.status.success());
    assert_eq!(
        out(&removed).trim(),
        "removed +91******0001 from the do-not-call list"
    );
    assert_eq!(
        dnc(&redis, secret, &["remove", "9876500001"]).status.code(),
        Some(3)
    );
    let gone = dnc(&redis, secret, &["check", "9876500001"]);
    assert_eq!(gone.status.code(), Some(3));
    assert_eq!(
        out(&gone).trim(),
        "+91******0001 is not on the do-not-call list"
    );
    assert_eq!(out(&dnc(&redis, secret, &["count"])).trim(), "2");
    printed += &out(&removed);
    printed += &out(&gone);

    // Another secret would write entries nobody reads: refused, by the
    // tools and by `serve`.
    let other = "another-secret-of-enough-length";
    let wrong = dnc(&redis, Some(other), &["count"]);
    assert!(!wrong.status.success());
    assert!(
        err(&wrong).contains("not the one this Redis"),
        "{}",
        err(&wrong)
    );
    let (status, log) = refused(&redis, Some(other)).await;
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("refusing to start"), "{log}");
    assert!(log.contains("fingerprint"), "{log}");
    let (status, log) = refused(&redis, None).await;
    assert_eq!(status.code(), Some(2), "{log}");
    assert!(log.contains("policy.citizen_key_secret"), "{log}");
    assert!(log.contains(SECRET_ENV), "{log}");
    assert!(log.contains("openssl rand -hex 32"), "{log}");

    // Nothing printed, and no key or value in Redis, holds a number.
    assert_no_digits(&printed, &numbers);
    let mut c = conn(&redis).await;
    let keys: Vec<String> = c.keys("*").await.unwrap();
    assert!(keys.iter().any(|k| k.ends_with(":dnc")), "{keys:?}");
    for key in &keys {
        assert_no_digits(key, &numbers);
        if key.ends_with(":dnc") {
            let fields: Vec<String> = c.hgetall(key).await.unwrap();
            assert_no_digits(&fields.join(" "), &numbers);
        }
    }
}

/// A campaign header for `id`.
fn header(id: &str) -> CampaignHeader {
    serde_json::from_value(json!({
        "id": id, "name": "Upgrade", "dialplan": "mo-sarkar-feedback",
        "caller_id": "+916742000000", "department": "home"
    }))
    .unwrap()
}

fn contact(id: &str, phone: &str) -> Contact {
    Contact {
        id: ContactId::parse(id).unwrap(),
        phone: PhoneNumber::parse(phone).unwrap(),
        language: Some("en".into()),
        official_id: OfficialId::parse("off-1").unwrap(),
        office: "Puri Sadar PS".into(),
        service: "Passport verification".into(),
        visit_at_ms: None,
        first_name: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn upgrade_moves_old_opt_outs_to_keyed_ones_and_dialling_honours_them() {
    let redis = RedisServer::start();
    let secret = Some(CITIZEN_KEY_SECRET);
    // A's number is in an old job; B's only in the operator's file; C's
    // nowhere. D never opted out.
    let (a, b, c, d) = (
        "+919876500001",
        "+919876500002",
        "+919876500003",
        "+919876500004",
    );
    let mut redis_conn = conn(&redis).await;
    // The markers as earlier versions wrote them: the first 16 hex digits
    // of SHA-256 of the number (`echo -n +919876500001 | sha256sum`).
    let legacy = [
        (a, "sampark:citizen:{28802cf03c54acde}:optout"),
        (b, "sampark:citizen:{acb01bcbf22b708d}:optout"),
        (c, "sampark:citizen:{e54ca905b56261f4}:optout"),
    ];
    let keys = Keys::new("sampark").with_citizen_key(citizen_key());
    for (number, key) in legacy {
        assert_eq!(
            keys.legacy_opt_out(&PhoneNumber::parse(number).unwrap()),
            key
        );
        let _: () = redis_conn.set(key, "1").await.unwrap();
    }
    // A's job from before the upgrade, still waiting (a week out). An ended
    // job would not do: it keeps no number (retention).
    let store = sampark::store::redis::RedisStore::connect(&redis.url(), "sampark", 16)
        .await
        .unwrap()
        .with_citizen_key(citizen_key());
    store.put_campaign(&header("old-1")).await.unwrap();
    let mut old = JobSpec::new(&header("old-1"), contact("a", a));
    old.not_before_ms = Some(store.now_ms().await.unwrap() + 7 * 86_400_000);
    assert_eq!(store.enqueue(&old).await.unwrap(), PutOutcome::Created);

    // serve will not start while old markers are left.
    let (status, log) = refused(&redis, secret).await;
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("sampark dnc upgrade"), "{log}");
    assert!(log.contains("--accept-legacy-optouts"), "{log}");

    // The upgrade finds A through its job; B and C are left.
    let first = dnc(&redis, secret, &["upgrade"]);
    assert_eq!(first.status.code(), Some(3), "{}", err(&first));
    assert!(
        out(&first).contains("migrated 1 old opt-out marker(s); 2 left unmatched"),
        "{}",
        out(&first)
    );
    // A file with a line that is not a number changes nothing.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "9876500002\nnot a number\n").unwrap();
    let refused_file = dnc(
        &redis,
        secret,
        &["upgrade", "--numbers", bad.to_str().unwrap()],
    );
    assert_eq!(
        refused_file.status.code(),
        Some(2),
        "{}",
        err(&refused_file)
    );
    assert!(
        err(&refused_file).contains("bad.txt:2:"),
        "{}",
        err(&refused_file)
    );
    let exists: bool = redis_conn.exists(legacy[1].1).await.unwrap();
    assert!(exists, "nothing changed");
    // With B's number given, only C is left; again, nothing more moves.
    let numbers = dir.path().join("numbers.txt");
    std::fs::write(&numbers, "# opted out by SMS\n09876500002\n9876500004\n").unwrap();
    let second = dnc(
        &redis,
        secret,
        &["upgrade", "--numbers", numbers.to_str().unwrap()],
    );
    assert_eq!(second.status.code(), Some(3), "{}", err(&second));
    assert!(
        out(&second).contains("migrated 1 old opt-out marker(s); 1 left unmatched"),
        "{}",
        out(&second)
    );
    let third = dnc(
        &redis,
        secret,
        &["upgrade", "--numbers", numbers.to_str().unwrap()],
    );
    assert!(
        out(&third).contains("migrated 0 old opt-out marker(s); 1 left unmatched"),
        "{}",
        out(&third)
    );
    assert_no_digits(
        &(out(&first) + &out(&second) + &err(&second)),
        &[a, b, c, d],
    );
    for (number, key, moved) in [
        (a, legacy[0].1, true),
        (b, legacy[1].1, true),
        (c, legacy[2].1, false),
    ] {
        let tag = keys.citizen_tag(&PhoneNumber::parse(number).unwrap());
        let old: bool = redis_conn.exists(key).await.unwrap();
        let new: bool = redis_conn.exists(keys.opt_out(&tag)).await.unwrap();
        assert_eq!((old, new), (!moved, moved), "{number}");
    }

    // C's marker is still unmatched: refused, unless the operator accepts it.
    let (status, log) = refused(&redis, secret).await;
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("1 opt-out marker(s)"), "{log}");
    assert!(log.contains("--numbers FILE"), "{log}");
    let admin_port = free_port();
    let admin: SocketAddr = format!("127.0.0.1:{admin_port}").parse().unwrap();
    let accepted = serve(&redis, admin_port, secret, &["--accept-legacy-optouts"]);
    // Ready, not just alive: /healthz answers before Redis is even reached.
    eventually(
        Duration::from_secs(30),
        "serve to be ready",
        || async move {
            let request =
                format!("GET /readyz HTTP/1.1\r\nHost: {admin}\r\nConnection: close\r\n\r\n");
            tokio::net::TcpStream::connect(admin).await.ok()?;
            (support::http::raw(admin, &request).await.0 == 200).then_some(())
        },
    )
    .await;
    let log = stderr_of(accepted);
    let line = log
        .lines()
        .find(|l| l.contains("--accept-legacy-optouts"))
        .unwrap_or_else(|| panic!("no ERROR about the accepted markers: {log}"));
    assert!(line.contains("\"ERROR\""), "{line}");

    // Dialling: a new campaign calling all four numbers places one call,
    // to D; A and B end opted out.
    let (simulator, sim_cancel) = start_simulator(SimulatorConfig {
        account_sid: ACCOUNT_SID.into(),
        auth_token: AUTH_TOKEN.into(),
        seed: 7,
        opt_out_rate: 0.0,
        think_delay: (Duration::from_millis(10), Duration::from_millis(30)),
        ..SimulatorConfig::default()
    })
    .await;
    let (daemon, store) = start_daemon(
        &redis.url(),
        &simulator.base_url(),
        dialer_config(Quota {
            burst: 10,
            period: Duration::from_millis(10),
        }),
    )
    .await;
    let contacts: Vec<Value> = [("a", a), ("b", b), ("d", d)]
        .iter()
        .map(|(id, phone)| {
            json!({"id": id, "phone": phone, "language": "en", "official_id": "off-1",
                   "office": "Puri Sadar PS", "service": "Passport verification"})
        })
        .collect();
    let doc = json!({"version": 1, "id": "new-1", "name": "After the upgrade",
        "dialplan": "mo-sarkar-feedback", "caller_id": "+916742000000",
        "department": "home", "contacts": contacts});
    store.submit(&doc.to_string()).await.unwrap();
    let records = eventually(Duration::from_secs(60), "a record per contact", || {
        let store = store.clone();
        async move {
            let records: Vec<_> = store
                .read_feedback("0", 100)
                .await
                .ok()?
                .into_iter()
                .map(|(_, r)| r)
                .filter(|r| r.campaign_id == "new-1")
                .collect();
            (records.len() == 3).then_some(records)
        }
    })
    .await;
    for r in &records {
        if r.contact_id == "d" {
            assert_ne!(r.outcome, Outcome::OptedOut, "{r:?}");
            assert!(r.attempts >= 1, "{r:?}");
        } else {
            assert_eq!(r.outcome, Outcome::OptedOut, "{r:?}");
            assert_eq!(r.reason.as_deref(), Some("citizen opted out earlier"));
            assert_eq!(r.attempts, 0, "{r:?}");
        }
    }
    let called: Vec<String> = simulator
        .ledger()
        .iter()
        .filter_map(|e| match e {
            LedgerEntry::Originate { to_masked, .. } => Some(to_masked.clone()),
            _ => None,
        })
        .collect();
    assert!(!called.is_empty());
    assert!(called.iter().all(|to| to == "+91******0004"), "{called:?}");
    daemon.shutdown().await;
    sim_cancel.cancel();
}
