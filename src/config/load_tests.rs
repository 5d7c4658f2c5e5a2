use std::io::Write;
use std::time::Duration;

use std::path::PathBuf;

use super::*;
use crate::config::{ConfigProblem, Origin};
use crate::domain::OfficialId;
use crate::telemetry::LogFormat;

fn file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const CREDS: &[(&str, &str)] = &[
    ("SAMPARK__PROVIDER__ACCOUNT_SID", "ACtest"),
    ("SAMPARK__PROVIDER__AUTH_TOKEN", "0123abcd"),
];

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/sampark.toml")
}

fn problems(result: Result<Settings, ConfigError>) -> Vec<ConfigProblem> {
    result.unwrap_err().problems().to_vec()
}

#[test]
fn shipped_file_matches_the_built_in_defaults() {
    let s = load(&shipped(), env(CREDS)).unwrap();
    let mut want = Settings::default();
    want.provider.account_sid = "ACtest".into();
    // Kept as a string: a numeric-looking token must not lose its zero.
    want.provider.auth_token = crate::config::Secret::new("0123abcd");
    assert_eq!(s, want);
}

#[test]
fn empty_file_gives_defaults() {
    let f = file("");
    let s = load(f.path(), env(CREDS)).unwrap();
    assert_eq!(s.redis.url.expose(), "redis://127.0.0.1:6379/");
    assert_eq!(s.redis.shards, 16);
    assert_eq!(s.webhook.body_limit_bytes, 65_536);
    assert_eq!(s.admin.listen, "127.0.0.1:9090");
    assert_eq!(s.log.format, LogFormat::Json);
}

#[test]
fn environment_overrides_the_file() {
    let f = file(
        r#"
        [redis]
        url = "redis://file-host:6379/"
        shards = 8
        [log]
        format = "json"
        [rate.overrides."off-9"]
        burst = 3
        per_secs = 10
        "#,
    );
    let mut vars = env(CREDS);
    vars.extend(env(&[
        ("SAMPARK__REDIS__URL", "redis://:pw@env-host:6380/2"),
        ("SAMPARK__REDIS__SHARDS", "32"),
        ("SAMPARK__LOG__FORMAT", "pretty"),
        ("SAMPARK__DIALER__RETRY_BACKOFF_SECS", "60, 600"),
        ("SAMPARK__DIALER__MAX_ATTEMPTS", "5"),
        ("SAMPARK__RATE__OVERRIDES__OFF-9__BURST", "4"),
        ("SAMPARK__ADMIN__TOKEN", "t0ken-from-env"),
        ("OTHER_VAR", "ignored"),
    ]));
    let s = load(f.path(), vars).unwrap();
    assert_eq!(s.redis.url.expose(), "redis://:pw@env-host:6380/2");
    assert_eq!(s.redis.shards, 32);
    assert_eq!(s.log.format, LogFormat::Pretty);
    assert_eq!(s.dialer.retry_backoff_secs, vec![60, 600]);
    assert_eq!(s.dialer.max_attempts, 5);
    assert_eq!(
        s.admin.token.as_ref().map(|t| t.expose()),
        Some("t0ken-from-env")
    );
    let q = s.rate.quota_for(&OfficialId::parse("off-9").unwrap());
    assert_eq!((q.burst, q.period), (4, Duration::from_secs(10)));
}

#[test]
fn every_problem_is_reported_at_once_with_its_origin() {
    let f = file(
        r#"
        [redis]
        shardz = 3
        shards = "many"
        [bogus]
        x = 1
        [webhook]
        listen = "nowhere"
        [policy.calling_window]
        ranges = ["25:00-26:00"]
        [dialer]
        batch_size = 0
        retry_backoff_secs = [300, "soon"]
        [log]
        format = "xml"
        "#,
    );
    let mut vars = env(CREDS);
    vars.extend(env(&[
        ("SAMPARK__PROVIDER__REQUEST_TIMEOUT_MS", "soon"),
        ("SAMPARK__NOPE", "1"),
        ("SAMPARK__PROVIDER__BASE_URL", "ftp://example.org"),
    ]));
    let ps = problems(load(f.path(), vars));
    let text: Vec<String> = ps.iter().map(ToString::to_string).collect();
    let find = |key: &str| {
        ps.iter()
            .find(|p| p.key() == Some(key))
            .unwrap_or_else(|| panic!("no problem for {key} in {text:#?}"))
    };
    let in_file = Origin::File(f.path().to_owned());
    assert!(
        matches!(find("redis.shardz"), ConfigProblem::UnknownKey { origin, .. } if *origin == in_file)
    );
    assert!(matches!(find("bogus"), ConfigProblem::UnknownKey { .. }));
    assert!(
        matches!(find("nope"), ConfigProblem::UnknownKey { origin: Origin::Env(v), .. } if v == "SAMPARK__NOPE")
    );
    assert!(
        matches!(find("redis.shards"), ConfigProblem::WrongType { origin, .. } if *origin == in_file)
    );
    assert!(matches!(
        find("provider.request_timeout_ms"),
        ConfigProblem::WrongType { origin: Origin::Env(v), .. } if v == "SAMPARK__PROVIDER__REQUEST_TIMEOUT_MS"
    ));
    assert!(
        matches!(find("policy.calling_window"), ConfigProblem::WrongType { reason, .. } if reason.contains("25:00"))
    );
    assert!(
        matches!(find("log.format"), ConfigProblem::WrongType { reason, .. } if reason.contains("xml"))
    );
    assert!(matches!(
        find("dialer.retry_backoff_secs[1]"),
        ConfigProblem::WrongType { .. }
    ));
    assert!(matches!(
        find("webhook.listen"),
        ConfigProblem::Invalid { .. }
    ));
    assert!(matches!(
        find("dialer.batch_size"),
        ConfigProblem::Invalid { .. }
    ));
    assert!(matches!(
        find("provider.base_url"),
        ConfigProblem::Invalid { .. }
    ));
    // A key with a type error is not also reported as semantically invalid.
    assert_eq!(
        ps.iter()
            .filter(|p| p.key() == Some("redis.shards"))
            .count(),
        1
    );
    assert_eq!(ps.len(), 11, "{text:#?}");
}

#[test]
fn syntax_error_and_environment_problems_are_reported_together() {
    let f = file("[redis\nurl = 1\n");
    let ps = problems(load(f.path(), env(&[("SAMPARK__REDIS__SHARDS", "x")])));
    assert!(
        matches!(&ps[0], ConfigProblem::Syntax { path, .. } if path == f.path()),
        "{ps:?}"
    );
    assert!(ps.iter().any(|p| p.key() == Some("redis.shards")), "{ps:?}");
    // No semantic noise about defaults the operator never chose.
    assert!(
        !ps.iter()
            .any(|p| matches!(p, ConfigProblem::Invalid { .. })),
        "{ps:?}"
    );
}

#[test]
fn unreadable_file_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    let err = load(&missing, env(CREDS)).unwrap_err();
    assert!(
        matches!(&err.problems()[0], ConfigProblem::Unreadable { path, .. } if *path == missing)
    );
    assert!(
        err.to_string()
            .starts_with("configuration has 1 problem:\n  - cannot read"),
        "{err}"
    );
}

#[test]
fn debug_output_redacts_secrets() {
    let mut vars = env(&[
        ("SAMPARK__PROVIDER__ACCOUNT_SID", "ACtest"),
        ("SAMPARK__PROVIDER__AUTH_TOKEN", "tw-s3cret-token"),
        ("SAMPARK__REDIS__URL", "redis://app:redis-s3cret@db:6379/0"),
    ]);
    vars.push(("SAMPARK__ADMIN__TOKEN".into(), "admin-s3cret".into()));
    vars.push((
        "SAMPARK__POLICY__CITIZEN_KEY_SECRET".into(),
        "citizen-s3cret-of-enough-length".into(),
    ));
    let s = load(&shipped(), vars).unwrap();
    let shown = format!("{s:?} {s:#?}");
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(shown.contains("redis://app:***@db:6379/0"), "{shown}");
    assert_eq!(s.provider.auth_token.expose(), "tw-s3cret-token");
    let citizen = s.policy.citizen_key_secret.as_ref().map(|k| k.expose());
    assert_eq!(citizen, Some("citizen-s3cret-of-enough-length"));
}

#[test]
fn a_short_citizen_key_secret_is_refused_without_showing_it() {
    let mut vars = env(CREDS);
    vars.push((
        "SAMPARK__POLICY__CITIZEN_KEY_SECRET".into(),
        "short-s3cret".into(),
    ));
    let found = problems(load(&shipped(), vars));
    let text: Vec<String> = found.iter().map(ToString::to_string).collect();
    let text = text.join("\n");
    assert!(text.contains("policy.citizen_key_secret"), "{text}");
    assert!(text.contains("at least 16 bytes"), "{text}");
    assert!(!text.contains("s3cret"), "{text}");
}

#[test]
fn validate_reports_several_semantic_errors() {
    let mut s = Settings::default();
    s.provider.account_sid = "ACtest".into();
    s.provider.auth_token = crate::config::Secret::new("tok");
    assert_eq!(s.validate(), Ok(()));

    s.redis.url = crate::config::RedisUrl::new("http://127.0.0.1:6379/");
    s.redis.shards = 0;
    s.webhook.public_url = "https://example.org/hooks?x=1".into();
    s.webhook.tls.cert_path = Some("cert.pem".into());
    s.admin.listen = s.webhook.listen.clone();
    s.dialer.originate_lease_secs = 5;
    s.rate.default.per_secs = 0.0;
    s.log.level = "info,=bad=".into();
    s.rate.overrides.insert(
        "bad id".into(),
        crate::config::RateLimit {
            burst: 0,
            per_secs: 1.0,
        },
    );
    s.provider.auth_token = crate::config::Secret::default();
    let errors = s.validate().unwrap_err();
    for key in [
        "redis.url:",
        "redis.shards:",
        "webhook.public_url:",
        "webhook.tls:",
        "admin.listen:",
        "dialer.originate_lease_secs:",
        "rate.default.per_secs:",
        "log.level:",
        "rate.overrides.bad id:",
        "rate.overrides.bad id.burst:",
        "provider.auth_token:",
    ] {
        assert!(
            errors.iter().any(|e| e.starts_with(key)),
            "{key} missing from {errors:#?}"
        );
    }
    assert_eq!(errors.len(), 11, "{errors:#?}");
}

#[test]
fn redis_url_checks_never_echo_the_password() {
    let mut s = Settings::default();
    s.redis.url = crate::config::RedisUrl::new("http://u:pw-s3cret@h/");
    let errors = s.validate().unwrap_err();
    assert!(errors.iter().any(|e| e.starts_with("redis.url:")));
    assert!(!errors.concat().contains("s3cret"));
}

#[test]
fn calling_window_from_file_environment_and_holiday_file() {
    let holidays = file("# test calendar\n2026-01-26 # Republic Day\n");
    let f = file(&format!(
        r#"
        [policy.calling_window]
        zone = "Europe/London"
        weekdays = ["mon", "tue"]
        holiday_files = [{:?}]
        "#,
        holidays.path()
    ));
    let mut vars = env(CREDS);
    vars.extend(env(&[
        (
            "SAMPARK__POLICY__CALLING_WINDOW__RANGES",
            "14:00-20:00, 09:00-13:00",
        ),
        ("SAMPARK__POLICY__CALLING_WINDOW__HOLIDAYS", "2026-12-25"),
    ]));
    let w = load(f.path(), vars).unwrap().policy.calling_window;
    assert_eq!(w.zone_name(), "Europe/London");
    let ranges: Vec<String> = w.ranges().iter().map(ToString::to_string).collect();
    assert_eq!(ranges, ["09:00-13:00", "14:00-20:00"]);
    assert_eq!(w.holidays().len(), 2);
}

#[test]
fn every_calling_window_problem_is_listed_and_old_keys_are_refused() {
    let f = file(
        r#"
        [policy.calling_window]
        zone = "Asia/Calcutta-ish"
        weekdays = ["mon", "someday"]
        ranges = ["09:00-13:00", "12:00-20:00"]
        holiday_files = ["/nonexistent/holidays.txt"]
        [policy.calling_hours]
        start = "09:00"
        "#,
    );
    let ps = problems(load(f.path(), env(CREDS)));
    let text: Vec<String> = ps.iter().map(ToString::to_string).collect();
    assert!(
        ps.iter().any(
            |p| matches!(p, ConfigProblem::UnknownKey { key, .. } if key == "policy.calling_hours")
        ),
        "{text:#?}"
    );
    let window = ps
        .iter()
        .find_map(|p| match p {
            ConfigProblem::WrongType { key, reason, .. } if key == "policy.calling_window" => {
                Some(reason)
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no calling_window problem in {text:#?}"));
    for part in [
        "4 problems",
        "zone: ",
        "weekdays[1]: ",
        "ranges: ",
        "holiday_files[0]: ",
    ] {
        assert!(window.contains(part), "{part} not in {window}");
    }
}

#[test]
fn dial_limits_load_and_contradictions_are_refused() {
    let f = file(
        r#"
        [policy]
        max_calls_per_citizen_per_day = 2
        max_calls_per_citizen_per_week = 1
        citizen_key_secret = "too short"

        [provider]
        max_live_calls = 40

        [rate.departments."home"]
        burst = 20
        per_secs = 3

        [rate.departments."revenue"]
        burst = 0
        per_secs = 3
        "#,
    );
    let problems = load(f.path(), env(CREDS)).unwrap_err().problems().to_vec();
    let text = format!("{problems:?}");
    for key in [
        "policy.max_calls_per_citizen_per_week",
        "policy.citizen_key_secret",
        "rate.departments.revenue",
    ] {
        assert!(text.contains(key), "{key} not in {text}");
    }
    assert!(!text.contains("rate.departments.home"), "{text}");
    assert!(
        !text.contains("too short"),
        "the secret is never echoed: {text}"
    );

    let mut vars = env(CREDS);
    vars.extend(env(&[
        ("SAMPARK__POLICY__MAX_CALLS_PER_CITIZEN_PER_WEEK", "3"),
        (
            "SAMPARK__POLICY__CITIZEN_KEY_SECRET",
            "0123456789abcdef0123456789abcdef",
        ),
    ]));
    let f = file(
        "[rate.departments.home]\nburst = 20\nper_secs = 3\n[provider]\nmax_live_calls = 40\n",
    );
    let s = load(f.path(), vars).unwrap();
    assert_eq!(s.policy.max_calls_per_citizen_per_week, 3);
    assert_eq!(s.provider.max_live_calls, 40);
    assert_eq!(s.rate.departments["home"].burst, 20);
    let dialer = crate::daemon::dialer_config(&s);
    assert_eq!(dialer.max_live_calls, Some(40));
    assert_eq!(dialer.citizen_caps.per_week, 3);
    assert!(dialer.quotas.for_department("home").is_some());
    assert!(dialer.quotas.for_department("revenue").is_none());
}

#[test]
fn the_defaults_are_coherent_and_contradictions_are_warned_about() {
    assert_eq!(Settings::default().warnings(), Vec::<String>::new());
    let mut s = Settings::default();
    s.dialer.max_attempts = 4;
    s.policy.max_calls_per_citizen_per_week = 3;
    let warnings = s.warnings();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].starts_with(
            "policy.max_calls_per_citizen_per_day = 3 is below dialer.max_attempts = 4"
        )
    );
    assert!(warnings[1].contains("the next week"));
}
