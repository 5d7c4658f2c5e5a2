//! Per-campaign calling windows in controlled time: the real dispatch loop
//! (`Dialer::run`) over the in-memory store, whose clock follows tokio's
//! paused clock from a chosen instant; campaigns go through the real intake
//! (parser and router), and calls through an in-process carrier that ends
//! each one via the real call core (`calls/carrier.rs`). No test waits in
//! real time: the runtime jumps from timer to timer, so days of dialling
//! take a moment and every instant is exact.
//!
//! What is checked: no originate outside its campaign's window (across
//! midnight, weekdays, holidays, DST in London and New York as well as
//! Kolkata); work parked by a closed window is due at the exact next opening
//! of ITS window; a retry whose wait ends after closing waits for the next
//! opening; a round that runs into closing time stops dialling at closing;
//! a campaign without a window follows the daemon's.

#[path = "calling_windows/carrier.rs"]
mod carrier;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use carrier::{Carrier, PUBLIC_URL};
use sampark::calls::{CallCore, RetryPolicy};
use sampark::dialer::{Dialer, DialerConfig, PlacedCalls, Quotas};
use sampark::dialplan::load_dir;
use sampark::domain::{CallStatus, CampaignId, ContactId, JobId, JobState, OfficialId, Outcome};
use sampark::intake::IntakeRouter;
use sampark::policy::CallingWindow;
use sampark::provider::twilio::TwilioControl;
use sampark::store::memory::{MemoryClock, MemoryStore};
use sampark::store::{CitizenCaps, Job, JobRef, Quota, Store};
use sampark::telemetry::Metrics;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The dispatch loop's idle poll: a job parked until an instant is dialled
/// at most this long after it.
const POLL: Duration = Duration::from_secs(1);
/// How long each call rings before the carrier ends it.
const RING: Duration = Duration::from_secs(30);
const POLL_MS: i64 = 1_000;

/// An instant written in RFC 3339, as Unix ms.
fn at(s: &str) -> i64 {
    s.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

/// An instant for messages.
fn show(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).unwrap().to_string()
}

/// How a bench is built; `Default` is an open daemon window, one call per
/// contact, no originate latency.
struct Setup {
    start: &'static str,
    daemon_window: CallingWindow,
    retry: RetryPolicy,
    quota: Quota,
    originate_latency: Duration,
    max_concurrent_originates: usize,
    /// Every dialling limit from these settings instead (the shipped
    /// defaults, say), the window and retries included.
    settings: Option<sampark::config::Settings>,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            start: "2026-01-24T04:30:00Z",
            daemon_window: CallingWindow::always(),
            retry: RetryPolicy {
                max_attempts: 1,
                backoff: vec![Duration::from_secs(600)],
            },
            quota: Quota {
                burst: 100,
                period: Duration::from_millis(10),
            },
            originate_latency: Duration::ZERO,
            max_concurrent_originates: 8,
            settings: None,
        }
    }
}

/// A dialer, its store, its carrier, and tokio's clock at the store's start.
struct Bench {
    store: Arc<dyn Store>,
    carrier: Arc<Carrier>,
    metrics: Arc<Metrics>,
    start_ms: i64,
    origin: tokio::time::Instant,
    cancel: CancellationToken,
    dialer: JoinHandle<()>,
}

fn dialer_config(setup: &Setup) -> DialerConfig {
    if let Some(settings) = &setup.settings {
        let mut config = sampark::daemon::dialer_config(settings);
        config.consumer = "windows".into();
        return config;
    }
    DialerConfig {
        consumer: "windows".into(),
        batch_size: 64,
        poll_interval: POLL,
        originate_lease: Duration::from_secs(60),
        originate_timeout: Duration::from_secs(5),
        max_call: Duration::from_secs(600),
        reclaim_after: Duration::from_secs(120),
        ring_timeout: RING,
        hours: setup.daemon_window.clone(),
        citizen_caps: CitizenCaps {
            per_day: 10,
            per_week: 0,
        },
        max_live_calls: None,
        retry: setup.retry.clone(),
        quotas: Quotas::uniform(setup.quota),
        max_concurrent_originates: setup.max_concurrent_originates,
        provider_cps: None,
        provider_backoff: Duration::from_secs(60),
        reconcile_give_up: Duration::from_secs(3600),
        number_plan: Default::default(),
    }
}

impl Bench {
    /// Call inside a runtime started paused.
    fn start(setup: Setup) -> Bench {
        let start_ms = at(setup.start);
        let origin = tokio::time::Instant::now();
        let store: Arc<dyn Store> = Arc::new(MemoryStore::with_clock(
            4,
            MemoryClock::following_tokio_from(start_ms),
        ));
        let metrics = Arc::new(Metrics::new());
        let dialplans =
            Arc::new(load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("dialplans")).unwrap());
        let control = Arc::new(TwilioControl::new("token", PUBLIC_URL, false));
        let core = Arc::new(CallCore::new(
            store.clone(),
            control,
            dialplans,
            PUBLIC_URL,
            setup.retry.clone(),
            metrics.clone(),
        ));
        let carrier = Arc::new(Carrier::new(
            store.clone(),
            core.urls().clone(),
            RING,
            setup.originate_latency,
        ));
        carrier.attach(core.clone());
        let dialer = Dialer::new(
            store.clone(),
            carrier.clone(),
            dialer_config(&setup),
            core.urls().clone(),
            metrics.clone(),
            Arc::new(PlacedCalls::default()),
        );
        let cancel = CancellationToken::new();
        let dialer = tokio::spawn(dialer.run(cancel.clone()));
        Bench {
            store,
            carrier,
            metrics,
            start_ms,
            origin,
            cancel,
            dialer,
        }
    }

    /// Ingests a campaign document as the daemon's intake does.
    async fn submit(&self, doc: Value) {
        let router = IntakeRouter::new(
            self.store.clone(),
            Arc::new(|_: &str| true),
            "intake".into(),
            Duration::from_secs(60),
            self.metrics.clone(),
            CallingWindow::default(),
        );
        let report = router.ingest("1-0", &doc.to_string()).await.unwrap();
        assert_eq!(report.refused, None, "{doc}");
        assert_eq!(report.dead_lettered, 0, "{doc}");
    }

    /// Lets everything run until the store's clock reads `instant`.
    async fn run_until(&self, instant: &str) {
        let target = at(instant);
        assert!(target >= self.start_ms, "{instant} is before the start");
        let offset = Duration::from_millis(u64::try_from(target - self.start_ms).unwrap());
        tokio::time::sleep_until(self.origin + offset).await;
        assert!(self.store.now_ms().await.unwrap() >= target);
    }

    /// When `job` (`campaign/contact`) was dialled, in order.
    fn dials_of(&self, job: &str) -> Vec<i64> {
        self.carrier
            .dials()
            .into_iter()
            .filter(|d| d.job == job)
            .map(|d| d.at_ms)
            .collect()
    }

    async fn job(&self, campaign: &str, contact: &str, official: &str) -> Job {
        let official = OfficialId::parse(official).unwrap();
        let id = JobId::new(
            CampaignId::parse(campaign).unwrap(),
            ContactId::parse(contact).unwrap(),
        );
        let job = JobRef::new(self.store.shard_of(&official), id);
        self.store.load_job(&job).await.unwrap().unwrap()
    }

    async fn next_due(&self, campaign: &str) -> Option<i64> {
        let id = CampaignId::parse(campaign).unwrap();
        self.store.waiting(&id).await.unwrap().next_due_ms()
    }

    async fn stop(self) {
        self.cancel.cancel();
        self.dialer.await.unwrap();
    }
}

/// A campaign document: `extra` fields merged in, contacts `(id, official)`
/// with distinct phone numbers.
fn campaign(id: &str, extra: Value, contacts: &[(&str, &str)]) -> Value {
    let contacts: Vec<Value> = contacts
        .iter()
        .enumerate()
        .map(|(i, (contact, official))| {
            json!({"id": contact, "phone": format!("+9198765{:05}", i), "official_id": official,
                   "office": "Dhenkanal Town PS", "service": "FIR registration"})
        })
        .collect();
    let mut doc = json!({"version": 1, "id": id, "name": id, "dialplan": "mo-sarkar-feedback",
        "caller_id": "+916742000000", "department": "home", "contacts": contacts});
    for (k, v) in extra.as_object().unwrap() {
        doc[k] = v.clone();
    }
    doc
}

/// Asserts `got` is one dial in `[open, open + POLL]`.
fn dialled_once_at_opening(got: &[i64], open: &str, what: &str) {
    let open = at(open);
    let shown: Vec<String> = got.iter().map(|&t| show(t)).collect();
    assert_eq!(got.len(), 1, "{what}: dials at {shown:?}");
    assert!(
        got[0] >= open && got[0] <= open + POLL_MS,
        "{what}: dialled at {}, the window opens at {}",
        show(got[0]),
        show(open)
    );
}

#[tokio::test(start_paused = true)]
async fn weekdays_and_a_holiday_in_kolkata_and_the_daemon_window_for_the_rest() {
    // Saturday 24 January 2026, 10:00 IST; Monday the 26th is Republic Day.
    let bench = Bench::start(Setup {
        start: "2026-01-24T04:30:00Z",
        daemon_window: CallingWindow::default(),
        ..Setup::default()
    });
    let office = json!({"calling_window": {
        "zone": "Asia/Kolkata", "weekdays": ["mon", "tue", "wed", "thu", "fri"],
        "ranges": ["09:00-13:00", "14:00-20:00"], "holidays": ["2026-01-26"]}});
    bench
        .submit(campaign(
            "office",
            office,
            &[("o1", "off-1"), ("o2", "off-2")],
        ))
        .await;
    // No window of its own: the daemon's, 09:00-20:00 IST every day.
    bench
        .submit(campaign("plain", json!({}), &[("p1", "off-1")]))
        .await;

    bench.run_until("2026-01-24T04:31:00Z").await;
    dialled_once_at_opening(
        &bench.dials_of("plain/p1"),
        "2026-01-24T04:30:00Z",
        "the daemon's window is open on Saturday",
    );
    assert!(bench.dials_of("office/o1").is_empty());
    // Parked until the exact opening of its own window: Tuesday 09:00 IST
    // (Sunday is no weekday, Monday a holiday).
    assert_eq!(
        bench.next_due("office").await,
        Some(at("2026-01-27T03:30:00Z"))
    );
    let job = bench.job("office", "o1", "off-1").await;
    assert_eq!(job.state, JobState::Queued);
    assert_eq!(job.attempt, 0, "no grant was spent on a closed window");
    assert_eq!(job.reason.as_deref(), Some("outside calling hours"));

    bench.run_until("2026-01-27T04:00:00Z").await;
    for job in ["office/o1", "office/o2"] {
        dialled_once_at_opening(&bench.dials_of(job), "2026-01-27T03:30:00Z", job);
    }
    let done = bench.job("office", "o2", "off-2").await;
    assert_eq!(done.state, JobState::Done(Outcome::NoAnswer));
    bench.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_night_window_runs_past_midnight_and_belongs_to_the_day_it_starts() {
    // Friday 23 January 2026, 12:00 IST. Calls only on Friday nights,
    // 22:00-02:00 IST; one official may take a call every two hours.
    let bench = Bench::start(Setup {
        start: "2026-01-23T06:30:00Z",
        quota: Quota {
            burst: 1,
            period: Duration::from_secs(2 * 3600),
        },
        ..Setup::default()
    });
    let night = json!({"calling_window": {"weekdays": ["friday"], "ranges": ["22:00-02:00"]}});
    bench
        .submit(campaign(
            "night",
            night,
            &[("n1", "off-1"), ("n2", "off-1"), ("n3", "off-1")],
        ))
        .await;

    // Saturday 03:00 IST.
    bench.run_until("2026-01-23T21:30:00Z").await;
    let mut dials: Vec<i64> = ["night/n1", "night/n2", "night/n3"]
        .iter()
        .flat_map(|j| bench.dials_of(j))
        .collect();
    dials.sort();
    let shown: Vec<String> = dials.iter().map(|&t| show(t)).collect();
    assert_eq!(dials.len(), 2, "{shown:?}");
    // Friday 22:00 IST, then Saturday 00:00 IST (still Friday's night); the
    // third is allowed by the quota at 02:00 IST, when the night is over.
    assert!((at("2026-01-23T16:30:00Z")..=at("2026-01-23T16:30:01Z")).contains(&dials[0]));
    assert!((at("2026-01-23T18:30:00Z")..=at("2026-01-23T18:30:02Z")).contains(&dials[1]));
    // The third waits for the next Friday night, exactly.
    assert_eq!(
        bench.next_due("night").await,
        Some(at("2026-01-30T16:30:00Z"))
    );
    bench.stop().await;
}

#[tokio::test(start_paused = true)]
async fn london_opens_on_summer_time_after_the_clocks_change() {
    // Friday 27 March 2026, 17:30 GMT: closed until Monday 09:00 local,
    // which is BST by then (the clocks go forward on Sunday the 29th), so
    // 08:00Z — not 09:00Z as a fixed offset would have it.
    let bench = Bench::start(Setup {
        start: "2026-03-27T17:30:00Z",
        ..Setup::default()
    });
    let london = json!({"calling_window": {"zone": "Europe/London",
        "weekdays": ["mon", "tue", "wed", "thu", "fri"], "ranges": ["09:00-17:00"]}});
    bench
        .submit(campaign("london", london, &[("l1", "off-1")]))
        .await;
    bench.run_until("2026-03-27T18:00:00Z").await;
    assert_eq!(
        bench.next_due("london").await,
        Some(at("2026-03-30T08:00:00Z"))
    );
    bench.run_until("2026-03-30T09:00:00Z").await;
    dialled_once_at_opening(
        &bench.dials_of("london/l1"),
        "2026-03-30T08:00:00Z",
        "Monday 09:00 BST",
    );
    bench.stop().await;
}

#[tokio::test(start_paused = true)]
async fn new_york_opens_at_the_jump_when_the_start_is_in_the_skipped_hour() {
    // 8 March 2026, 01:00 EST; 02:00-03:00 does not exist that night, so a
    // window opening at 02:30 opens when the clock jumps to 03:00 EDT (07:00Z).
    let bench = Bench::start(Setup {
        start: "2026-03-08T06:00:00Z",
        ..Setup::default()
    });
    let new_york =
        json!({"calling_window": {"zone": "America/New_York", "ranges": ["02:30-05:00"]}});
    bench
        .submit(campaign("nyc", new_york, &[("y1", "off-1")]))
        .await;
    bench.run_until("2026-03-08T06:10:00Z").await;
    assert_eq!(
        bench.next_due("nyc").await,
        Some(at("2026-03-08T07:00:00Z"))
    );
    bench.run_until("2026-03-08T08:00:00Z").await;
    dialled_once_at_opening(
        &bench.dials_of("nyc/y1"),
        "2026-03-08T07:00:00Z",
        "03:00 EDT",
    );
    bench.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_retry_due_after_closing_waits_for_the_next_opening() {
    // Tuesday 27 January 2026, 19:40 IST; the campaign calls 09:00-20:00 IST
    // and retries a busy line after 30 minutes (±10%), i.e. after closing.
    let bench = Bench::start(Setup {
        start: "2026-01-27T14:10:00Z",
        ..Setup::default()
    });
    let doc = json!({
        "calling_window": {"zone": "Asia/Kolkata", "ranges": ["09:00-20:00"]},
        "retry": {"max_attempts": 2, "busy": ["30m"]},
    });
    bench
        .submit(campaign("evening", doc, &[("e1", "off-1")]))
        .await;
    bench
        .carrier
        .script("e1", &[CallStatus::Busy, CallStatus::NoAnswer]);

    // 21:00 IST: the retry came due after 20:00 and was parked for 09:00.
    bench.run_until("2026-01-27T15:30:00Z").await;
    dialled_once_at_opening(
        &bench.dials_of("evening/e1"),
        "2026-01-27T14:10:00Z",
        "the first call",
    );
    let job = bench.job("evening", "e1", "off-1").await;
    assert_eq!(job.state, JobState::Queued, "{job:?}");
    assert_eq!(job.reason.as_deref(), Some("outside calling hours"));
    assert_eq!(
        bench.next_due("evening").await,
        Some(at("2026-01-28T03:30:00Z"))
    );

    bench.run_until("2026-01-28T04:00:00Z").await;
    let dials = bench.dials_of("evening/e1");
    assert_eq!(dials.len(), 2);
    dialled_once_at_opening(&dials[1..], "2026-01-28T03:30:00Z", "the retry");
    let job = bench.job("evening", "e1", "off-1").await;
    assert_eq!(job.state, JobState::Done(Outcome::NoAnswer));
    assert_eq!(job.dials, 2);
    bench.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_round_that_reaches_closing_time_dials_nothing_after_it() {
    // Tuesday 27 January 2026, 19:58 IST, two minutes before the campaign's
    // window closes. One originate at a time, each taking 20 s: the round
    // reads all ten contacts at 19:58 (window open then; ten officials, so
    // all ten are ready at once), but its grants from 20:00 on must not dial.
    let bench = Bench::start(Setup {
        start: "2026-01-27T14:28:00Z",
        originate_latency: Duration::from_secs(20),
        max_concurrent_originates: 1,
        ..Setup::default()
    });
    let contacts: Vec<(String, String)> = (0..10)
        .map(|i| (format!("r{i}"), format!("off-{i}")))
        .collect();
    let contacts: Vec<(&str, &str)> = contacts
        .iter()
        .map(|(c, o)| (c.as_str(), o.as_str()))
        .collect();
    let doc = json!({"calling_window": {"zone": "Asia/Kolkata", "ranges": ["09:00-20:00"]}});
    bench.submit(campaign("late", doc, &contacts)).await;

    let closing = at("2026-01-27T14:30:00Z");
    bench.run_until("2026-01-27T16:00:00Z").await;
    let dials = bench.carrier.dials();
    let shown: Vec<String> = dials.iter().map(|d| show(d.at_ms)).collect();
    assert_eq!(
        dials.len(),
        6,
        "every 20 s from 19:58:00 to 19:59:40: {shown:?}"
    );
    assert!(dials.iter().all(|d| d.at_ms < closing), "{shown:?}");
    // The other four were granted at or after 20:00 (attempt 1) and given
    // back for 09:00.
    let mut held = 0;
    for (contact, official) in &contacts {
        let job = bench.job("late", contact, official).await;
        if job.state == JobState::Queued {
            held += 1;
            assert_eq!(job.attempt, 1, "{contact} was granted, then held");
            assert_eq!(job.reason.as_deref(), Some("outside calling hours"));
        }
    }
    assert_eq!(held, 4);
    assert_eq!(
        bench.next_due("late").await,
        Some(at("2026-01-28T03:30:00Z"))
    );

    bench.run_until("2026-01-28T04:00:00Z").await;
    let dials = bench.carrier.dials();
    assert_eq!(dials.len(), 10);
    for d in &dials[6..] {
        assert!(
            d.at_ms >= at("2026-01-28T03:30:00Z"),
            "{} dialled at {}",
            d.job,
            show(d.at_ms)
        );
    }
    bench.stop().await;
}

/// The shipped defaults are coherent: 50 contacts whose every call goes
/// unanswered get all their attempts the same day, inside the window (the
/// citizen's day cap used to push every third attempt to the next day).
#[tokio::test(start_paused = true)]
async fn fifty_contacts_at_the_default_settings_finish_the_same_day() {
    let settings = sampark::config::Settings::default();
    // Tuesday 1 December 2026, 10:00 IST.
    let bench = Bench::start(Setup {
        start: "2026-12-01T04:30:00Z",
        daemon_window: settings.policy.calling_window.clone(),
        retry: settings.dialer.retry_policy(),
        settings: Some(settings.clone()),
        ..Setup::default()
    });
    let contacts: Vec<(String, String)> = (0..50)
        .map(|i| (format!("c-{i:02}"), format!("off-{}", i % 10)))
        .collect();
    let pairs: Vec<(&str, &str)> = contacts
        .iter()
        .map(|(c, o)| (c.as_str(), o.as_str()))
        .collect();
    bench.submit(campaign("defaults", json!({}), &pairs)).await;
    // 20:00 IST: the window closes.
    bench.run_until("2026-12-01T14:30:00Z").await;
    let status = bench
        .store
        .campaign_status(&CampaignId::parse("defaults").unwrap())
        .await
        .unwrap()
        .unwrap();
    let waiting = bench
        .store
        .waiting(&CampaignId::parse("defaults").unwrap())
        .await
        .unwrap();
    assert_eq!(status.finished(), 50, "{:?} {waiting:?}", status.counts);
    let attempts = settings.dialer.max_attempts as usize;
    for (contact, _) in &contacts {
        let dials = bench.dials_of(&format!("defaults/{contact}"));
        assert_eq!(dials.len(), attempts, "{contact}: {dials:?}");
    }
    bench.stop().await;
}
