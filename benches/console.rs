//! The console's page time with many officials: `cargo bench --bench console`.
//!
//! Seeds BENCH_OFFICIALS (default 5,000) officials' scorecards in a real
//! redis-server (50 offices, 10 departments; one scorecard per official,
//! office and department for each of BENCH_DAYS, default 30, days), then
//! asks the admin listener's routes for scorecard pages BENCH_REQUESTS
//! (default 50) times each and prints the server time per page (p50, p95,
//! max): the route called directly (reading Redis, ranking, rendering), and
//! of that the report alone (`build_report`: reading and ranking). One
//! request over loopback HTTP per page shows the page's size.
//!
//! Record the figures in docs/performance.md (target: under 200 ms).

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::BodyExt;
use jiff::civil::Date;
use sampark::accountability::report::{ReportQuery, build_report};
use sampark::dialplan::Dialplans;
use sampark::domain::scorecard::{Dimension, Entity, ScoreUpdate, Tally};
use sampark::store::Store;
use sampark::store::redis::RedisStore;
use sampark::telemetry::Metrics;
use sampark::webhook::{AdminRoutes, Console, Routes};
use support::redis_server::RedisServer;

const SHARDS: u16 = 16;
const OFFICES: usize = 50;
const DEPARTMENTS: usize = 10;
const BATCH: usize = 5_000;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn tally(answered: i64, negative: i64, rating_sum: i64) -> Tally {
    let mut t = Tally::default();
    t.add("contacts", answered + 2);
    t.add("dialled", answered + 1);
    t.add("answered", answered);
    t.add("completed", answered);
    t.add("negative", negative);
    t.add("rating_sum", rating_sum);
    t.add("rating_n", answered);
    t.add("flag:bribe_asked", negative);
    t
}

/// Every scorecard of `officials` officials over `days` days.
fn updates(officials: usize, days: usize) -> Vec<ScoreUpdate> {
    let first: Date = "2026-11-01".parse().unwrap();
    let mut out = Vec::new();
    for d in 0..days {
        let day = first.checked_add(jiff::Span::new().days(d as i64)).unwrap();
        for o in 0..officials {
            let office = o % OFFICES;
            let dept = office % DEPARTMENTS;
            let answered = 3 + ((o * 7 + d * 3) % 6) as i64;
            let negative = ((o * 13 + d) % 4) as i64 % (answered + 1);
            let t = tally(answered, negative, answered * 3);
            let (dept, office) = (format!("dept-{dept}"), format!("office-{office}"));
            for (by, path) in [
                (
                    Dimension::Official,
                    vec![dept.clone(), office.clone(), format!("off-{o:05}")],
                ),
                (Dimension::Office, vec![dept.clone(), office.clone()]),
                (Dimension::Department, vec![dept.clone()]),
            ] {
                out.push(ScoreUpdate {
                    by,
                    day,
                    entity: Entity { path },
                    tally: t.clone(),
                });
            }
        }
    }
    out
}

fn quantiles(mut samples: Vec<Duration>) -> (f64, f64, f64) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    (ms(at(0.5)), ms(at(0.95)), ms(*samples.last().unwrap()))
}

fn get(path: &str) -> http::Request<Bytes> {
    http::Request::builder()
        .uri(path)
        .body(Bytes::new())
        .unwrap()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let officials = env_usize("BENCH_OFFICIALS", 5_000);
    let days = env_usize("BENCH_DAYS", 30);
    let requests = env_usize("BENCH_REQUESTS", 50);
    let redis = RedisServer::start_without_persistence();
    let store = Arc::new(
        RedisStore::connect(&redis.url(), "sampark", SHARDS)
            .await
            .unwrap(),
    );
    let started = Instant::now();
    let all = updates(officials, days);
    for (i, batch) in all.chunks(BATCH).enumerate() {
        let (expected, next) = (
            if i == 0 {
                "0-0".to_owned()
            } else {
                format!("{i}-0")
            },
            format!("{}-0", i + 1),
        );
        assert!(store.apply_scores(&expected, &next, batch).await.unwrap());
    }
    println!(
        "seeded {} scorecards ({officials} officials, {OFFICES} offices, {DEPARTMENTS} departments, {days} days) in {:.1} s",
        all.len(),
        started.elapsed().as_secs_f64()
    );

    let routes = AdminRoutes {
        store: store.clone(),
        dialplans: Arc::new(Dialplans::default()),
        metrics: Arc::new(Metrics::new()),
        access: Arc::new(sampark::webhook::AdminAccess::open()),
        eta: None,
        console: Console::new(None),
        official_calls: sampark::webhook::OfficialCallDesk {
            dialplan: "official-call".into(),
            caller_id: "+916742100100".into(),
        },
    };
    let pages = [
        ("by official, first page (rank)", "/scorecards?by=official"),
        (
            "by official, page 25 sorted by name",
            "/scorecards?by=official&sort=name&dir=desc&page=25",
        ),
        (
            "by official, one office (drill-down)",
            "/scorecards?by=official&department=dept-3&office=office-3",
        ),
        ("by official, last 7 days", "/scorecards?by=official&days=7"),
        ("by office", "/scorecards?by=office"),
        ("by department", "/scorecards?by=department"),
    ];
    println!(
        "{requests} requests per page, server time (the route: Redis reads, ranking, HTML) in ms; \
         first: the first request (builds the report unless a page before kept it)"
    );
    println!(
        "{:<40} {:>8} {:>8} {:>8} {:>8} {:>10}",
        "page", "first", "p50", "p95", "max", "bytes"
    );
    let only = std::env::var("BENCH_PAGES").unwrap_or_default();
    for (name, path) in pages {
        if !only.is_empty() && !only.split(',').any(|p| name.contains(p)) {
            continue;
        }
        let t = Instant::now();
        let response = routes.route(get(path)).await;
        assert_eq!(response.status(), 200, "{path}");
        let size = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .len();
        let first = t.elapsed().as_secs_f64() * 1000.0;
        let mut samples = Vec::with_capacity(requests);
        for _ in 0..requests {
            let t = Instant::now();
            let response = routes.route(get(path)).await;
            let body = response.into_body().collect().await.unwrap().to_bytes();
            samples.push(t.elapsed());
            assert!(body.len() > 1_000);
        }
        let (p50, p95, max) = quantiles(samples);
        println!("{name:<40} {first:>8.1} {p50:>8.1} {p95:>8.1} {max:>8.1} {size:>10}");
    }

    // While the scorer counts: new scorecards before every request (the
    // kept report is served, marked as updating once it is 15 s old).
    let batches = all.len().div_ceil(BATCH);
    let mut samples = Vec::with_capacity(requests);
    for i in 0..requests {
        let (expected, next) = (
            format!("{}-0", batches + i),
            format!("{}-0", batches + i + 1),
        );
        let one = i % all.len();
        assert!(
            store
                .apply_scores(&expected, &next, &all[one..=one])
                .await
                .unwrap()
        );
        let t = Instant::now();
        let response = routes.route(get("/scorecards?by=official")).await;
        let body = response.into_body().collect().await.unwrap().to_bytes();
        samples.push(t.elapsed());
        assert!(body.len() > 1_000);
    }
    let (p50, p95, max) = quantiles(samples);
    println!(
        "{:<40} {:>8} {p50:>8.1} {p95:>8.1} {max:>8.1}",
        "by official, while scorecards change", "-"
    );

    // Of that, the report alone (reading and ranking, no HTML), and of
    // that, reading the scorecards from Redis.
    let days: Vec<Date> = store.score_days().await.unwrap();
    let days = &days[days.len().saturating_sub(30)..];
    let mut samples = Vec::with_capacity(requests);
    for _ in 0..requests {
        let t = Instant::now();
        let scores = store.read_scores(Dimension::Official, days).await.unwrap();
        samples.push(t.elapsed());
        assert_eq!(scores.len(), officials * days.len());
    }
    let (p50, p95, max) = quantiles(samples);
    println!(
        "{:<40} {p50:>8.1} {p95:>8.1} {max:>8.1}",
        "of which read_scores (by official)"
    );

    // Of that, the report alone (reading and ranking, no HTML).
    let mut samples = Vec::with_capacity(requests);
    let last = store.score_days().await.unwrap().last().copied().unwrap();
    let mut q = ReportQuery::new(Dimension::Official);
    q.since = last.checked_sub(jiff::Span::new().days(29)).ok();
    for _ in 0..requests {
        let t = Instant::now();
        let report = build_report(store.as_ref(), &q).await.unwrap();
        samples.push(t.elapsed());
        assert_eq!(report.rows.len(), officials);
    }
    let (p50, p95, max) = quantiles(samples);
    println!(
        "{:<40} {p50:>8.1} {p95:>8.1} {max:>8.1}",
        "of which build_report (by official)"
    );
}
