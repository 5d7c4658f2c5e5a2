//! Intake entries that cannot be ingested, against a real `redis-server`:
//! a document larger than the daemon's memory allows, behind which a valid
//! campaign waits, and entries without one UTF-8 `campaign` field. Each is
//! dead-lettered once (masked, with what it held), acknowledged, and never
//! taken again; the daemon stays up and ingests what follows.

mod support;

use std::time::Duration;

use sampark::domain::CampaignId;
use sampark::simulator::SimulatorConfig;
use sampark::store::redis::{RedisStore, Timeouts};
use sampark::store::{DeadLetter, IntakeLimits, Store};
use support::campaign::campaign;
use support::daemon::start_simulator;
use support::redis_server::RedisServer;
use support::serve::{SID, Serve, TOKEN, serve};

const WAIT: Duration = Duration::from_secs(90);
const STREAM: &str = "sampark:campaigns";

/// A connection that waits as long as writing a very large entry takes.
async fn connection(redis: &RedisServer) -> redis::aio::MultiplexedConnection {
    let config = redis::AsyncConnectionConfig::new().set_response_timeout(Some(WAIT));
    redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .unwrap()
}

/// `XADD` of an entry with exactly these fields, as any program may write.
async fn add(conn: &mut redis::aio::MultiplexedConnection, fields: &[(&[u8], &[u8])]) -> String {
    let mut cmd = redis::cmd("XADD");
    cmd.arg(STREAM).arg("*");
    for (name, value) in fields {
        cmd.arg(*name).arg(*value);
    }
    cmd.query_async(conn).await.unwrap()
}

/// The store, waiting as long as Redis may take while it copies a very
/// large entry on a busy machine.
async fn patient_store(redis: &RedisServer) -> RedisStore {
    let timeouts = Timeouts {
        connect: WAIT,
        response: WAIT,
    };
    RedisStore::connect_with(&redis.url(), "sampark", 16, timeouts)
        .await
        .unwrap()
}

/// The dead letters whose source is `entry`.
fn letters_of<'a>(letters: &'a [DeadLetter], entry: &str) -> Vec<&'a DeadLetter> {
    letters.iter().filter(|l| l.source == entry).collect()
}

/// The newest dead letters, once each of `entries` has one.
async fn until_letters(
    serve: &mut Serve,
    store: &RedisStore,
    entries: &[&str],
    what: &str,
) -> Vec<DeadLetter> {
    serve
        .until(WAIT, what, || async {
            let letters = store.dead_letters(50).await.unwrap();
            entries
                .iter()
                .all(|entry| !letters_of(&letters, entry).is_empty())
                .then_some(letters)
        })
        .await
}

fn kib(status: &str, key: &str) -> u64 {
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key} in /proc status"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_larger_than_memory_allows_is_dead_lettered_once_and_the_next_is_ingested() {
    let (simulator, _sim) = start_simulator(SimulatorConfig {
        account_sid: SID.into(),
        auth_token: TOKEN.into(),
        seed: 11,
        ..SimulatorConfig::default()
    })
    .await;
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut serve = serve(
        &redis.url(),
        &simulator.base_url(),
        dir.path().join("serve.log"),
        &[
            ("SAMPARK__INTAKE__MAX_DOCUMENT_BYTES", "1048576"),
            ("SAMPARK__DIALER__RECLAIM_AFTER_SECS", "3"),
            ("MALLOC_ARENA_MAX", "2"),
        ],
    );
    let store = patient_store(&redis).await;
    // Up and reading intake: a first campaign is ingested.
    let mut conn = connection(&redis).await;
    add(&mut conn, &[(b"campaign", campaign("first", 2).as_bytes())]).await;
    let first = CampaignId::parse("first").unwrap();
    serve
        .until(WAIT, "the first campaign ingested", || {
            let store = &store;
            let first = &first;
            async move {
                let status = store.campaign_status(first).await.unwrap()?;
                (status.counts.values().sum::<u64>() == 2).then_some(())
            }
        })
        .await;

    // Cap the daemon's address space at what it uses now plus less than
    // the poison document: loading it whole is then impossible.
    let pid = serve.child.id();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let used = kib(&status, "VmSize:") * 1024;
    let headroom: u64 = 96 << 20;
    let capped = std::process::Command::new("prlimit")
        .args([
            "--pid",
            &pid.to_string(),
            &format!("--as={}:{}", used + headroom, used + headroom),
        ])
        .status()
        .unwrap();
    assert!(capped.success(), "prlimit could not cap the daemon");

    let mut poison = b"{\"version\": 1, \"id\": \"poison\", \"name\": \"".to_vec();
    poison.extend(std::iter::repeat_n(b'x', 128 << 20));
    poison.extend(b"\", \"phone\": \"+919876543210\"}");
    assert!(poison.len() as u64 > headroom);
    let poisoned = add(&mut conn, &[(b"campaign", &poison)]).await;
    drop(poison);
    add(
        &mut conn,
        &[(b"campaign", campaign("behind", 3).as_bytes())],
    )
    .await;

    let behind = CampaignId::parse("behind").unwrap();
    let status = serve
        .until(WAIT, "the campaign behind the poison ingested", || {
            let store = &store;
            let behind = &behind;
            async move {
                let status = store.campaign_status(behind).await.unwrap()?;
                (status.counts.values().sum::<u64>() == 3).then_some(status)
            }
        })
        .await;
    assert_eq!(status.header.id, behind);
    assert!(
        serve.child.try_wait().unwrap().is_none(),
        "the daemon died: {}",
        serve.log()
    );
    // Taking a very large entry can outlast the daemon's response timeout
    // on a busy machine (Redis copies it into the script): the entry is
    // then taken again once it idled for `dialer.reclaim_after_secs`.
    let letters = until_letters(
        &mut serve,
        &store,
        &[&poisoned],
        "the poison document dead-lettered",
    )
    .await;
    let poisoned_letters = letters_of(&letters, &poisoned);
    assert_eq!(poisoned_letters.len(), 1, "{letters:?}");
    let letter = poisoned_letters[0];
    assert!(
        letter
            .reason
            .contains("more than intake.max_document_bytes (1.0 MiB)"),
        "{}",
        letter.reason
    );
    let payload: serde_json::Value = serde_json::from_str(&letter.payload).unwrap();
    let size = payload["entry_size"].as_str().unwrap();
    let mib: f64 = size.strip_suffix(" MiB").unwrap().parse().unwrap();
    assert!(mib >= 128.0, "{size}");
    assert!(letter.payload.len() < 4096, "an excerpt, not the document");
    // Acknowledged and gone: never taken again.
    serve
        .until(WAIT, "the intake stream empty", || {
            let mut conn = conn.clone();
            async move {
                let left: u64 = redis::cmd("XLEN")
                    .arg(STREAM)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                (left == 0).then_some(())
            }
        })
        .await;
    assert_eq!(
        letters_of(&store.dead_letters(50).await.unwrap(), &poisoned).len(),
        1
    );
    assert!(
        serve.child.try_wait().unwrap().is_none(),
        "the daemon died: {}",
        serve.log()
    );
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_without_one_utf8_campaign_field_each_leave_one_useful_dead_letter() {
    let (simulator, _sim) = start_simulator(SimulatorConfig {
        account_sid: SID.into(),
        auth_token: TOKEN.into(),
        seed: 12,
        ..SimulatorConfig::default()
    })
    .await;
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut serve = serve(
        &redis.url(),
        &simulator.base_url(),
        dir.path().join("serve.log"),
        &[],
    );
    let store = RedisStore::connect(&redis.url(), "sampark", 16)
        .await
        .unwrap();
    let mut conn = connection(&redis).await;
    let missing = add(&mut conn, &[(b"document", b"{\"phone\": \"9876543210\"}")]).await;
    let latin1 = add(
        &mut conn,
        &[(
            b"campaign",
            b"{\"name\": \"Caf\xE9\", \"phone\": \"9876543210\"}",
        )],
    )
    .await;
    let twice = add(
        &mut conn,
        &[
            (b"campaign", campaign("one", 1).as_bytes()),
            (b"campaign", campaign("two", 1).as_bytes()),
        ],
    )
    .await;
    let extra = add(
        &mut conn,
        &[
            (b"campaign", campaign("three", 1).as_bytes()),
            (b"priority", b"high"),
        ],
    )
    .await;
    let cases = [
        (&missing, "has no `campaign` field (its fields: `document`)"),
        (&latin1, "is not UTF-8 (byte 14 is not)"),
        (&twice, "has 2 `campaign` fields"),
        (&extra, "unknown field `priority`"),
    ];
    let entries: Vec<&str> = cases.iter().map(|(entry, _)| entry.as_str()).collect();
    let letters = until_letters(&mut serve, &store, &entries, "a dead letter for each entry").await;
    for (entry, reason) in cases {
        let mine = letters_of(&letters, entry);
        assert_eq!(mine.len(), 1, "{entry}: {mine:?}");
        assert!(mine[0].reason.contains(reason), "{}", mine[0].reason);
        assert!(
            !mine[0].payload.contains("9876543210"),
            "{}",
            mine[0].payload
        );
        assert!(!mine[0].payload.contains("97200000"), "{}", mine[0].payload);
    }
    assert!(
        letters_of(&letters, &missing)[0]
            .payload
            .contains("******3210")
    );
    assert!(
        letters_of(&letters, &latin1)[0]
            .payload
            .contains("Caf\u{FFFD}")
    );
    let both = &letters_of(&letters, &twice)[0].payload;
    assert!(
        both.contains("\\\"one\\\"") && both.contains("\\\"two\\\""),
        "{both}"
    );
    for id in ["one", "two", "three"] {
        let id = CampaignId::parse(id).unwrap();
        assert!(store.campaign_status(&id).await.unwrap().is_none());
    }
}

/// An entry taken and never finished (its consumer died each time) is
/// handed over as refused after `max_deliveries`, not taken again forever.
#[tokio::test]
async fn an_entry_taken_too_often_is_refused_with_an_excerpt() {
    let redis = RedisServer::start();
    let store = RedisStore::connect(&redis.url(), "sampark", 4)
        .await
        .unwrap()
        .with_intake_limits(IntakeLimits {
            max_document_bytes: 1 << 20,
            max_deliveries: 3,
        });
    let id = store
        .submit("{\"phone\": \"+919876543210\"}")
        .await
        .unwrap();
    for delivery in 1..=3 {
        let taken = store
            .read_intake("dies", 1, Duration::ZERO, Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(taken.len(), 1, "delivery {delivery}");
        assert!(taken[0].payload.is_ok(), "delivery {delivery}");
    }
    let taken = store
        .read_intake("dies", 1, Duration::ZERO, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(taken[0].id, id);
    let refused = taken[0].payload.clone().unwrap_err();
    assert!(
        refused
            .reason
            .contains("taken 4 times without being finished"),
        "{}",
        refused.reason
    );
    assert!(refused.masked_payload().contains("********3210"));
}
