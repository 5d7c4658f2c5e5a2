//! A redis-server holding a few weeks' worth of feedback put there the way
//! the daemon puts it (records in a shard's outbox, relayed with their
//! escalations, counted by the scorer), an admin listener over it, a
//! settings file pointing at it for the `sampark` binary, and the goldens.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use redis::AsyncCommands;
use sampark::accountability::scorer::score_pending;
use sampark::domain::{Answer, Direction, FeedbackRecord, Outcome, flags_of};
use sampark::store::Store;
use sampark::store::redis::RedisStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use crate::support::admin::{admin_over, request};
use crate::support::daemon::repo_path;
use crate::support::redis_server::RedisServer;
use crate::support::scorecards::scoring;

pub const TOKEN: &str = "reports-admin-token";

/// Who the records are about: official, office, department, service. Odia
/// and Hindi names, and an office whose name holds a comma (CSV quoting).
const PEOPLE: [(&str, &str, &str, &str); 4] = [
    ("off-kh-1", "ଖୋର୍ଦ୍ଧା ଥାନା", "police", "FIR"),
    ("off-kh-2", "ଖୋର୍ଦ୍ଧା ଥାନା", "police", "FIR"),
    ("off-pu-1", "ପୁରୀ ସଦର, ଥାନା", "police", "पासपोर्ट सत्यापन"),
    ("off-bh-1", "भुवनेश्वर अस्पताल", "health", "टीकाकरण"),
];

/// The offices of [`PEOPLE`], each once.
pub const OFFICES: [&str; 3] = ["ଖୋର୍ଦ୍ଧା ଥାନା", "ପୁରୀ ସଦର, ଥାନା", "भुवनेश्वर अस्पताल"];

const RATING_LABELS: [&str; 5] = ["बहुत खराब", "खराब", "ठीक", "अच्छा", "बहुत अच्छा"];

/// 2026-11-29 04:30 UTC, 10:00 in Kolkata.
const FIRST_DAY_MS: i64 = 1_795_926_600_000;
const DAY_MS: i64 = 86_400_000;

pub struct Seeded {
    /// Kept alive for the test (killed on drop).
    _redis: RedisServer,
    pub store: Arc<RedisStore>,
    /// The records on the feedback stream, in stream order.
    pub records: Vec<FeedbackRecord>,
    /// The settings file the `sampark` binary is given.
    pub config: PathBuf,
    pub admin: SocketAddr,
    cancel: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Drop for Seeded {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

fn answer(question: &str, digits: &str, value: &str, label: &str, flag: Option<&str>) -> Answer {
    Answer {
        question: question.into(),
        digits: digits.into(),
        value: value.into(),
        label: label.into(),
        flag: flag.map(str::to_owned),
        at_ms: 0,
    }
}

/// The `i`-th record: a fixed pattern of outcomes, answers and days.
pub fn record(i: usize) -> FeedbackRecord {
    let (official, office, department, service) = PEOPLE[i % PEOPLE.len()];
    let outcome = match i % 10 {
        7 => Outcome::NoAnswer,
        9 => Outcome::OptedOut,
        _ if i % 13 == 5 => Outcome::Partial,
        _ => Outcome::Completed,
    };
    let finished_at_ms = FIRST_DAY_MS + (i as i64 % 3) * DAY_MS + i as i64 * 60_000;
    let mut answers = Vec::new();
    if matches!(outcome, Outcome::Completed | Outcome::Partial) {
        let well = i % 6 != 1;
        answers.push(answer(
            "treated_well",
            if well { "1" } else { "2" },
            if well { "yes" } else { "no" },
            if well { "हाँ" } else { "नहीं" },
            (!well).then_some("mistreated"),
        ));
    }
    if outcome == Outcome::Completed {
        let asked = i % 7 == 3;
        answers.push(answer(
            "asked_money",
            if asked { "1" } else { "2" },
            if asked { "yes" } else { "no" },
            if asked { "हाँ" } else { "नहीं" },
            asked.then_some("bribe_asked"),
        ));
        let rating = 1 + (i * 3) % 5;
        answers.push(answer(
            "rating",
            &rating.to_string(),
            &rating.to_string(),
            RATING_LABELS[rating - 1],
            (rating <= 2).then_some("low_rating"),
        ));
    }
    for (n, a) in answers.iter_mut().enumerate() {
        a.at_ms = finished_at_ms - 60_000 + n as i64 * 10_000;
    }
    FeedbackRecord {
        version: 1,
        record_id: format!("nov-feedback/c-{i:03}"),
        campaign_id: "nov-feedback".into(),
        contact_id: format!("c-{i:03}"),
        official_id: official.into(),
        department: department.into(),
        office: office.into(),
        service: service.into(),
        outcome,
        reason: (outcome == Outcome::NoAnswer).then(|| "कोई उत्तर नहीं".to_owned()),
        attempts: if outcome == Outcome::NoAnswer { 3 } else { 1 },
        flags: flags_of(&answers),
        answers,
        queued_at_ms: FIRST_DAY_MS - DAY_MS,
        first_dialled_at_ms: Some(finished_at_ms - 120_000),
        finished_at_ms,
        direction: Direction::Outbound,
        attributed: true,
        bridge: None,
    }
}

/// An inbound call tied to no visit, at 00:30 in Kolkata on 1 December
/// (still 30 November in UTC): it counts for its department only, on the
/// programme's day.
pub fn unattributed() -> FeedbackRecord {
    let answers = vec![answer("asked_money", "1", "yes", "हाँ", Some("bribe_asked"))];
    FeedbackRecord {
        version: 1,
        record_id: "inbound/call-1".into(),
        campaign_id: "inbound".into(),
        contact_id: "call-1".into(),
        official_id: String::new(),
        department: "health".into(),
        office: String::new(),
        service: String::new(),
        outcome: Outcome::Completed,
        reason: None,
        attempts: 1,
        flags: flags_of(&answers),
        answers,
        queued_at_ms: 1_796_065_200_000,
        first_dialled_at_ms: Some(1_796_065_200_000),
        // 2026-11-30 19:00 UTC.
        finished_at_ms: 1_796_065_200_000,
        direction: Direction::Inbound,
        attributed: false,
        bridge: None,
    }
}

/// Every record of the fixture.
pub fn all_records() -> Vec<FeedbackRecord> {
    let mut records: Vec<FeedbackRecord> = (0..40).map(record).collect();
    records.push(unattributed());
    records
}

/// Redis with the fixture's records relayed (with their escalations) and
/// counted, an admin listener over it behind [`TOKEN`], and a settings file.
pub async fn seeded() -> Seeded {
    let redis = RedisServer::start();
    let store = Arc::new(
        RedisStore::connect(&redis.url(), "sampark", 16)
            .await
            .unwrap(),
    );
    let cx = scoring();
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    for r in all_records() {
        let _: String = conn
            .xadd(
                "sampark:{s00}:outbox",
                "*",
                &[("record", serde_json::to_string(&r).unwrap())],
            )
            .await
            .unwrap();
    }
    while store.relay_feedback(0, 16, &cx.rules).await.unwrap() > 0 {}
    let records = crate::support::evidence::read_records(&mut conn).await;
    assert_eq!(records.len(), all_records().len(), "every record relayed");
    let counted = score_pending(store.as_ref(), &cx, "seed", |_| {})
        .await
        .unwrap();
    assert_eq!(counted.records, records.len());

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sampark.toml");
    std::fs::write(
        &config,
        settings_file(&redis.url(), &repo_path("dialplans")),
    )
    .unwrap();
    let (admin, cancel) = admin_over(store.clone(), Some(TOKEN)).await;
    Seeded {
        _redis: redis,
        store,
        records,
        config,
        admin,
        cancel,
        _dir: dir,
    }
}

/// The daemon's settings as an operator's machine would have them; the
/// programme's zone is the default, Asia/Kolkata.
fn settings_file(redis_url: &str, dialplans: &Path) -> String {
    format!(
        "[redis]\nurl = \"{redis_url}\"\n\n[provider]\naccount_sid = \"AC0000000000000000000000000000beef\"\n\
         auth_token = \"unused\"\n\n[dialplans]\ndir = {:?}\n",
        dialplans.display().to_string()
    )
}

impl Seeded {
    /// Runs `sampark ARGS --config <the fixture's file>`, never with the
    /// developer's `SAMPARK__*` overrides.
    pub fn sampark(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sampark"));
        for (k, _) in std::env::vars() {
            if k.starts_with("SAMPARK__") {
                cmd.env_remove(k);
            }
        }
        cmd.args(args).arg("--config").arg(&self.config);
        cmd.output().expect("sampark runs")
    }

    /// One admin request with the right token.
    pub async fn get(&self, path: &str) -> Reply {
        fetch(self.admin, "GET", path, Some(TOKEN), "").await
    }

    pub async fn post(&self, path: &str, body: &str) -> Reply {
        fetch(self.admin, "POST", path, Some(TOKEN), body).await
    }
}

/// An HTTP reply: status, headers (names in lower case) and body bytes.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
}

/// One raw HTTP/1.1 request (the body comes back byte for byte).
pub async fn fetch(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> Reply {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(request(addr, method, path, token, body).as_bytes())
        .await
        .expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8(raw[..split].to_vec()).expect("ASCII headers");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

/// Compares `actual` with the golden file `tests/fixtures/reports/<name>`
/// byte for byte; with `SAMPARK_BLESS=1` writes it instead.
pub fn golden(name: &str, actual: &[u8]) {
    let path = repo_path("tests/fixtures/reports").join(name);
    if std::env::var_os("SAMPARK_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let want = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (SAMPARK_BLESS=1 writes it)", path.display()));
    assert!(
        want == actual,
        "{} differs:\n--- golden\n{}\n--- actual\n{}",
        path.display(),
        String::from_utf8_lossy(&want),
        String::from_utf8_lossy(actual)
    );
}

/// RFC 4180 CSV (after an optional byte-order mark, CRLF line ends) as rows
/// of fields.
pub fn parse_csv(bytes: &[u8]) -> Vec<Vec<String>> {
    let text = std::str::from_utf8(bytes).expect("UTF-8");
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "CR only before LF");
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, '\n') => panic!("a bare LF line end"),
            (false, c) => field.push(c),
        }
    }
    assert!(
        field.is_empty() && row.is_empty(),
        "the last line ends in CRLF"
    );
    rows
}
