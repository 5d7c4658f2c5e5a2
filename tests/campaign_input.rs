//! `campaign submit` and the daemon, as processes, with campaigns as Indian
//! upstream systems write them: phone numbers in national forms, unknown and
//! misspelt fields, calling windows with holiday files.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use sampark::domain::{CampaignId, PhoneNumber};
use sampark::store::Store;
use sampark::store::keys::Keys;
use sampark::store::redis::RedisStore;
use serde_json::{Value, json};
use support::cli::{Guard, run, sampark};
use support::redis_server::{RedisServer, free_port};
use support::{eventually, eventually_explained};

const SID: &str = "ACphones00000000000000000000phones";
const TOKEN: &str = "phones-token";

/// The provider simulator and `serve` against `redis`, calling at any hour;
/// serve's log goes to `log`.
fn start_daemon(redis: &RedisServer, log: &std::path::Path) -> (Guard, Guard) {
    start_daemon_with(redis, log, &[])
}

/// As `start_daemon`, with more settings in the environment (`env`).
fn start_daemon_with(
    redis: &RedisServer,
    log: &std::path::Path,
    env: &[(&str, &str)],
) -> (Guard, Guard) {
    let sim_port = free_port();
    let webhook_port = free_port();
    let sim = Guard(
        sampark()
            .args(["simulate-provider", "--listen"])
            .arg(format!("127.0.0.1:{sim_port}"))
            .args(["--account-sid", SID, "--auth-token", TOKEN, "--seed", "4"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let log = std::fs::File::create(log).unwrap();
    let serve = Guard(
        sampark()
            .args(["serve", "--config", "config/sampark.toml"])
            .env("SAMPARK__REDIS__URL", redis.url())
            .env(
                "SAMPARK__POLICY__CITIZEN_KEY_SECRET",
                support::daemon::CITIZEN_KEY_SECRET,
            )
            .env(
                "SAMPARK__PROVIDER__BASE_URL",
                format!("http://127.0.0.1:{sim_port}"),
            )
            .env("SAMPARK__PROVIDER__ACCOUNT_SID", SID)
            .env("SAMPARK__PROVIDER__AUTH_TOKEN", TOKEN)
            .env(
                "SAMPARK__WEBHOOK__LISTEN",
                format!("127.0.0.1:{webhook_port}"),
            )
            .env(
                "SAMPARK__WEBHOOK__PUBLIC_URL",
                format!("http://127.0.0.1:{webhook_port}"),
            )
            .env(
                "SAMPARK__ADMIN__LISTEN",
                format!("127.0.0.1:{}", free_port()),
            )
            .env("SAMPARK__POLICY__CALLING_WINDOW__RANGES", "00:00-24:00")
            .env("SAMPARK__DIALER__RETRY_BACKOFF_SECS", "1")
            .env("SAMPARK__PROVIDER__CALLS_PER_SECOND", "50")
            .env("SAMPARK__RATE__DEFAULT__PER_SECS", "0.05")
            .env("SAMPARK__POLICY__MAX_CALLS_PER_CITIZEN_PER_DAY", "10")
            // A weekly cap below the daily one is refused; 0 = none.
            .env("SAMPARK__POLICY__MAX_CALLS_PER_CITIZEN_PER_WEEK", "0")
            // The default number plan, and +1 for the one foreign contact
            // (k8), whose normalisation is tested here.
            .env(
                "SAMPARK__POLICY__NUMBER_PLAN",
                format!("{},+1:11", sampark::domain::DEFAULT_NUMBER_PLAN.join(",")),
            )
            .env("SAMPARK__LOG__FORMAT", "json")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap(),
    );
    (sim, serve)
}

/// Each contact of the CSV below: id, phone as written, the E.164 it must become.
const PHONES: [(&str, &str, &str); 8] = [
    ("k1", "+91 98765 00011", "+919876500011"),
    ("k2", "0091-98765-00012", "+919876500012"),
    ("k3", "091 9876500013", "+919876500013"),
    ("k4", "919876500014", "+919876500014"),
    ("k5", "098765 00015", "+919876500015"),
    ("k6", "9876500016", "+919876500016"),
    ("k7", "(0674) 239-0017", "+916742390017"),
    ("k8", "+1 (415) 555-0100", "+14155550100"),
];
/// A bare 10-digit landline without its trunk 0: refused.
const BAD: &str = "2223456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_phone_forms_are_normalised_and_a_bad_number_is_dead_lettered_masked() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("serve.log");
    let (_sim, mut serve) = start_daemon(&redis, &log);

    let header = dir.path().join("campaign.json");
    std::fs::write(
        &header,
        json!({"version": 1, "id": "phones-1", "name": "Phones", "dialplan": "mo-sarkar-feedback",
               "caller_id": "+916742000000", "department": "revenue", "not_after": "72h"})
        .to_string(),
    )
    .unwrap();
    let mut csv = String::from("id,phone,official_id,office,service\n");
    for (i, (id, phone, _)) in PHONES.iter().enumerate() {
        csv.push_str(&format!(
            "{id},{phone},off-{},Cuttack Tahasil,Mutation\n",
            i % 2
        ));
    }
    csv.push_str(&format!("bad,{BAD},off-1,Cuttack Tahasil,Mutation\n"));
    let contacts = dir.path().join("contacts.csv");
    std::fs::write(&contacts, csv).unwrap();

    let submitted = run(sampark()
        .args(["campaign", "submit"])
        .arg(&contacts)
        .arg("--header")
        .arg(&header)
        .args(["--redis", &redis.url()]));
    let stderr = String::from_utf8_lossy(&submitted.stderr);
    assert!(submitted.status.success(), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&submitted.stdout).trim(),
        "phones-1"
    );
    assert!(
        stderr.contains("warning: unknown campaign field `not_after`"),
        "{stderr}"
    );
    assert!(
        stderr
            .contains("contacts.csv:10: contact bad: `phone`: a 10-digit number without 0 or +91"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("2223456"),
        "no number in the output: {stderr}"
    );

    let url = redis.url();
    let last_status = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    // A timeout says where each contact stood and what serve logged.
    let (last_seen, log_path) = (last_status.clone(), log.clone());
    let explain = move || {
        let status = last_seen.lock().map(|s| s.clone()).unwrap_or_default();
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        format!(
            "\nlast status: {status}\nserve's log, last lines first:\n{}",
            tail.join("\n")
        )
    };
    eventually_explained(
        Duration::from_secs(90),
        "the valid contacts to finish",
        explain,
        || {
            let (url, last_status) = (url.clone(), last_status.clone());
            async move {
                let out =
                    run(sampark()
                        .args(["campaign", "status", "phones-1", "--json", "--redis", &url]));
                let v: Value = serde_json::from_slice(&out.stdout).ok()?;
                if let Ok(mut last) = last_status.lock() {
                    *last = v.to_string();
                }
                (v["total"] == PHONES.len() && v["finished"] == PHONES.len()).then_some(())
            }
        },
    )
    .await;

    // An ended job keeps no number (retention), so the normalised form is
    // checked where the dial left it: the citizen's call-cap key, named by
    // the keyed tag of the E.164 number (a number left unnormalised would
    // have a key under another tag).
    let store = RedisStore::connect(&redis.url(), "sampark", 16)
        .await
        .unwrap();
    let keys = Keys::new("sampark").with_citizen_key(support::daemon::citizen_key());
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    for (id, written, e164) in PHONES {
        let tag = keys.citizen_tag(&PhoneNumber::parse(e164).unwrap());
        let dialled: u64 = redis::cmd("ZCARD")
            .arg(keys.citizen_calls(&tag))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(
            dialled >= 1,
            "contact {id} ({written}) was not dialled as {e164}"
        );
    }
    let letters = store.dead_letters(10).await.unwrap();
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert!(
        letters[0]
            .reason
            .contains("contact rejected: `phone`: a 10-digit number without 0 or +91"),
        "{}",
        letters[0].reason
    );
    let payload: Value = serde_json::from_str(&letters[0].payload).unwrap();
    assert_eq!(payload["id"], "bad");
    assert_eq!(payload["phone"], "******6789");

    // SIGTERM, then the log: one warning for the document, no numbers.
    assert!(
        Command::new("kill")
            .args(["-TERM", &serve.0.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let status = eventually(Duration::from_secs(30), "serve to exit", || {
        let s = serve.0.try_wait().ok().flatten();
        async move { s }
    })
    .await;
    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "serve exited with {status}: {logs}");
    let warned: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("campaign document has unknown fields"))
        .collect();
    assert_eq!(warned.len(), 1, "{logs}");
    assert!(warned[0].contains("\"level\":\"WARN\""), "{}", warned[0]);
    assert!(warned[0].contains("not_after"), "{}", warned[0]);
    for digits in ["9876500", "2390017", "2223456", "4155550"] {
        assert!(!logs.contains(digits), "{digits} in the log");
    }
}

#[tokio::test]
async fn strict_refuses_a_misspelt_field_and_a_plain_submit_warns() {
    let redis = RedisServer::start();
    let doc = json!({"version": 1, "id": "strict-1", "name": "Strict", "dialplan": "mo-sarkar-feedback",
        "caller_id": "+916742000000", "department": "health", "not_after": "72h",
        "contacts": [{"id": "c-1", "phone": "98765 00021", "langauge": "or", "official_id": "o-1",
                      "office": "Capital Hospital", "service": "OPD"}]});
    let file = tempfile::Builder::new().suffix(".json").tempfile().unwrap();
    std::fs::write(file.path(), doc.to_string()).unwrap();
    let submit = |strict: bool| {
        let mut cmd = sampark();
        cmd.args(["campaign", "submit"])
            .arg(file.path())
            .args(["--redis", &redis.url()]);
        if strict {
            cmd.arg("--strict");
        }
        run(&mut cmd)
    };
    let store = RedisStore::connect(&redis.url(), "sampark", 16)
        .await
        .unwrap();
    let intake = || store.read_intake("t", 10, Duration::from_millis(100), Duration::from_secs(60));

    let refused = submit(true);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(refused.stdout.is_empty());
    for problem in [
        "error: unknown campaign field `not_after` (did you mean `call_not_after`?); it is ignored",
        "error: unknown contact field `langauge` in contacts[0] (c-1) (did you mean `language`?)",
        "refused (--strict): 0 invalid contact(s), 2 unknown field(s)",
    ] {
        assert!(stderr.contains(problem), "{problem} missing from {stderr}");
    }
    assert!(intake().await.unwrap().is_empty(), "nothing was submitted");

    let warned = submit(false);
    let stderr = String::from_utf8_lossy(&warned.stderr);
    assert!(warned.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&warned.stdout).trim(), "strict-1");
    assert!(
        stderr.contains(
            "warning: unknown contact field `langauge` in contacts[0] (c-1) (did you mean `language`?)"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("2 unknown field(s) ignored"), "{stderr}");
    assert_eq!(intake().await.unwrap().len(), 1);
}

/// A campaign document with `window` as its `calling_window`.
fn windowed(id: &str, window: Value) -> Value {
    json!({"version": 1, "id": id, "name": "Windows", "dialplan": "mo-sarkar-feedback",
        "caller_id": "+916742000000", "department": "revenue", "calling_window": window,
        "contacts": [{"id": "c-1", "phone": "98765 00031", "official_id": "o-1",
                      "office": "Cuttack Tahasil", "service": "Mutation"}]})
}

#[tokio::test]
async fn submit_names_every_calling_window_problem_and_inlines_holiday_files() {
    let redis = RedisServer::start();
    let store = RedisStore::connect(&redis.url(), "sampark", 16)
        .await
        .unwrap();
    let intake = || store.read_intake("t", 10, Duration::from_millis(100), Duration::from_secs(60));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("holidays")).unwrap();
    std::fs::write(
        dir.path().join("holidays/district.txt"),
        "# district holidays\n2026-03-05  # Holi\n2026-04-14\n",
    )
    .unwrap();
    let submit = |doc: &Value| {
        let file = dir.path().join("campaign.json");
        std::fs::write(&file, doc.to_string()).unwrap();
        run(sampark()
            .args(["campaign", "submit"])
            .arg(&file)
            .args(["--redis", &redis.url()]))
    };

    let bad = windowed(
        "windows-bad",
        json!({"zone": "Asia/Kolkatta", "weekdays": ["mon", "funday"],
               "ranges": ["09:00-13:00", "12:00-14:00"], "holidays": ["2026-02-30"],
               "holiday_files": ["holidays/district.txt", "holidays/missing.txt"]}),
    );
    let refused = submit(&bad);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(refused.stdout.is_empty());
    for problem in [
        "field `calling_window.holiday_files[1]`: holidays/missing.txt: no such file next to the document",
        "field `calling_window.zone`: \"Asia/Kolkatta\" is not an IANA time zone name",
        "field `calling_window.weekdays[1]`: \"funday\" is not a weekday",
        "field `calling_window.ranges`: 09:00-13:00 and 12:00-14:00 overlap",
        "field `calling_window.holidays[0]`: \"2026-02-30\" is not a calendar date",
        "refused: 5 problem(s) with the campaign document",
    ] {
        assert!(stderr.contains(problem), "{problem} missing from {stderr}");
    }
    // One line per problem, each naming the file.
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.contains("campaign.json: field `calling_window."))
            .count(),
        5,
        "{stderr}"
    );
    assert!(intake().await.unwrap().is_empty(), "nothing was submitted");

    // The files are read here, beside the document (and from the working
    // directory, which has the shipped Odisha file); the daemon gets dates.
    let good = windowed(
        "windows-good",
        json!({"zone": "Asia/Kolkata", "ranges": ["09:00-13:00", "14:00-20:00"],
               "holidays": ["2026-12-25"],
               "holiday_files": ["holidays/district.txt", "config/holidays/odisha-2026.txt"]}),
    );
    let submitted = submit(&good);
    let stderr = String::from_utf8_lossy(&submitted.stderr);
    assert!(submitted.status.success(), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&submitted.stdout).trim(),
        "windows-good"
    );
    let entries = intake().await.unwrap();
    assert_eq!(entries.len(), 1);
    let doc: Value = serde_json::from_str(entries[0].payload.as_ref().unwrap()).unwrap();
    let window = &doc["calling_window"];
    assert!(window.get("holiday_files").is_none(), "{window}");
    let holidays = window["holidays"].as_array().unwrap();
    for date in ["2026-12-25", "2026-03-05", "2026-04-14", "2026-04-01"] {
        assert!(holidays.contains(&json!(date)), "{date} in {holidays:?}");
    }
}

#[tokio::test]
async fn the_daemon_dead_letters_a_streamed_document_with_a_bad_window_or_a_file() {
    use std::sync::Arc;
    use support::intake::RunningRouter;

    let redis = RedisServer::start();
    let store = Arc::new(
        RedisStore::connect(&redis.url(), "sampark", 16)
            .await
            .unwrap(),
    );
    let router = RunningRouter::start(store.clone());

    // Other programs write to the stream directly; a file name there is
    // refused (the daemon never reads files a document names).
    let with_file = windowed(
        "streamed-file",
        json!({"holiday_files": ["config/holidays/odisha-2026.txt"]}),
    );
    let bad = windowed(
        "streamed-bad",
        json!({"zone": "Europe/Londres", "ranges": ["20:00-08:00", "07:00-09:00"]}),
    );
    let good = windowed(
        "streamed-good",
        json!({"zone": "Europe/London", "ranges": ["09:00-17:00"], "holidays": ["2026-12-25"]}),
    );
    for doc in [&with_file, &bad, &good] {
        store.submit(&doc.to_string()).await.unwrap();
    }
    let letters = eventually(Duration::from_secs(10), "two dead letters", || {
        let store = store.clone();
        async move {
            let letters = store.dead_letters(10).await.unwrap();
            (letters.len() >= 2).then_some(letters)
        }
    })
    .await;
    assert_eq!(letters.len(), 2, "{letters:?}");
    assert!(
        letters[0].reason.contains("field `calling_window.holiday_files`: holiday files are read where the document is submitted"),
        "{}",
        letters[0].reason
    );
    for want in [
        "field `calling_window.zone`: \"Europe/Londres\"",
        "field `calling_window.ranges`: 20:00-08:00 and 07:00-09:00 overlap",
    ] {
        assert!(
            letters[1].reason.contains(want),
            "{want} in {}",
            letters[1].reason
        );
    }
    let id = CampaignId::parse("streamed-good").unwrap();
    let header = eventually(Duration::from_secs(10), "the good campaign", || {
        let (store, id) = (store.clone(), id.clone());
        async move { store.campaign_header(&id).await.unwrap() }
    })
    .await;
    let window = header.calling_window.expect("the campaign's window");
    assert_eq!(window.zone_name(), "Europe/London");
    for refused in ["streamed-file", "streamed-bad"] {
        let id = CampaignId::parse(refused).unwrap();
        assert_eq!(store.campaign_header(&id).await.unwrap(), None);
    }
    router.stop().await;
}

/// A document of `n` contacts, numbers `+91987650xxxx` from `first`.
fn contacts_document(id: &str, first: usize, n: usize) -> Value {
    let contacts: Vec<Value> = (first..first + n)
        .map(|i| {
            json!({"id": format!("c{i}"), "phone": format!("+91987650{i:04}"),
                   "official_id": "off-1", "office": "Cuttack Tahasil", "service": "Mutation"})
        })
        .collect();
    json!({"version": 1, "id": id, "name": "Limit", "dialplan": "mo-sarkar-feedback",
           "caller_id": "+916742000000", "department": "revenue", "contacts": contacts})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_dead_letters_a_document_over_its_contact_limit_whole_and_masked() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let (_sim, _serve) = start_daemon_with(
        &redis,
        &dir.path().join("serve.log"),
        &[("SAMPARK__INTAKE__MAX_CONTACTS_PER_DOCUMENT", "5000")],
    );
    let store = std::sync::Arc::new(
        RedisStore::connect(&redis.url(), "sampark", 16)
            .await
            .unwrap(),
    );
    // Written to the stream directly, as another program would: one
    // contact over the limit, then a small campaign behind it.
    store
        .submit(&contacts_document("too-many", 0, 5_001).to_string())
        .await
        .unwrap();
    store
        .submit(&contacts_document("behind", 9_000, 2).to_string())
        .await
        .unwrap();
    let behind = CampaignId::parse("behind").unwrap();
    eventually(Duration::from_secs(30), "the campaign behind it", || {
        let (store, id) = (store.clone(), behind.clone());
        async move { store.campaign_header(&id).await.unwrap() }
    })
    .await;
    let letters = store.dead_letters(10).await.unwrap();
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert!(
        letters[0].reason.contains(
            "the document holds 5,001 contacts; at most 5,000 are read from one document \
             (intake.max_contacts_per_document)"
        ),
        "{}",
        letters[0].reason
    );
    // Whole: every contact is in the letter, each number masked.
    let payload: Value = serde_json::from_str(&letters[0].payload).unwrap();
    let contacts = payload["contacts"].as_array().unwrap();
    assert_eq!(contacts.len(), 5_001);
    assert_eq!(contacts[4_321]["phone"], "+91******4321");
    assert!(!letters[0].payload.contains("98765"));
    let refused = CampaignId::parse("too-many").unwrap();
    assert_eq!(store.campaign_header(&refused).await.unwrap(), None);
}
