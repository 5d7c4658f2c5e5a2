use std::io::Write;
use std::time::Duration;

use std::path::PathBuf;

use super::*;
use crate::config::{ConfigProblem, Origin};
use crate::dialplan::load_dir;
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
    // The one value it does not leave at its default: the repository's
    // dialplans are beside config/, not in it.
    want.dialplans.dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("dialplans");
    assert_eq!(s, want);
    assert!(load_dir(&s.dialplans.dir).is_ok(), "{:?}", s.dialplans.dir);
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
    // The default directory is next to the file, wherever it is loaded from.
    assert_eq!(
        s.dialplans.dir,
        f.path().parent().unwrap().join("dialplans")
    );
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
    let at = |line| Origin::File {
        path: f.path().to_owned(),
        line: Some(line),
    };
    let var = |name: &str| Origin::Env(name.to_owned());
    let expected = [
        ("redis.shardz", at(3)),
        ("redis.shards", at(4)),
        ("bogus", at(5)),
        ("webhook.listen", at(8)),
        ("policy.calling_window.ranges[0]", at(10)),
        ("dialer.batch_size", at(12)),
        ("dialer.retry_backoff_secs[1]", at(13)),
        ("log.format", at(15)),
        ("nope", var("SAMPARK__NOPE")),
        (
            "provider.request_timeout_ms",
            var("SAMPARK__PROVIDER__REQUEST_TIMEOUT_MS"),
        ),
        ("provider.base_url", var("SAMPARK__PROVIDER__BASE_URL")),
    ];
    for (key, origin) in &expected {
        assert_eq!(find(key).origin(), Some(origin), "{key} in {text:#?}");
    }
    assert!(matches!(
        find("redis.shardz"),
        ConfigProblem::UnknownKey { .. }
    ));
    assert!(matches!(find("nope"), ConfigProblem::UnknownKey { .. }));
    for key in ["redis.shards", "provider.request_timeout_ms", "log.format"] {
        assert!(
            matches!(find(key), ConfigProblem::WrongType { .. }),
            "{key}"
        );
    }
    assert!(
        matches!(find("log.format"), ConfigProblem::WrongType { reason, .. } if reason.contains("xml"))
    );
    assert!(
        matches!(find("policy.calling_window.ranges[0]"), ConfigProblem::Invalid { reason, .. } if reason.contains("25:00"))
    );
    for key in ["webhook.listen", "dialer.batch_size", "provider.base_url"] {
        assert!(matches!(find(key), ConfigProblem::Invalid { .. }), "{key}");
    }
    // A key with a type error is not also reported as semantically invalid.
    assert_eq!(
        ps.iter()
            .filter(|p| p.key() == Some("redis.shards"))
            .count(),
        1
    );
    assert_eq!(ps.len(), expected.len(), "{text:#?}");
    // The message names the place as an editor takes it: file:line.
    let shown = text.join("\n");
    let place = format!("{}:4: `redis.shards`: ", f.path().display());
    assert!(shown.contains(&place), "{shown}");
    assert!(
        shown.contains("environment variable SAMPARK__PROVIDER__BASE_URL: `provider.base_url`"),
        "{shown}"
    );
}

#[test]
fn syntax_type_and_semantic_problems_are_reported_together() {
    let f = file(
        "[redis]\nshards = 0\nurl = \"redis://h\n[webhook]\nbody_limit_bytes = \"big\"\nlisten = = 1\n[dialer]\nbatch_size = 0\n[provider]\nring_timeout_secs = 2\n",
    );
    let ps = problems(load(f.path(), env(CREDS)));
    let text: Vec<String> = ps.iter().map(ToString::to_string).collect();
    let syntax: Vec<usize> = ps
        .iter()
        .filter_map(|p| match p {
            ConfigProblem::Syntax { line, path, .. } if path == f.path() => Some(*line),
            _ => None,
        })
        .collect();
    assert!(syntax.contains(&3) && syntax.contains(&6), "{text:#?}");
    let line_of = |key: &str| match ps.iter().find(|p| p.key() == Some(key)) {
        Some(p) => match p.origin() {
            Some(Origin::File { line, .. }) => *line,
            other => panic!("{key} from {other:?}"),
        },
        None => panic!("no {key} in {text:#?}"),
    };
    assert_eq!(
        line_of("redis.shards"),
        Some(2),
        "semantic, before the error"
    );
    assert_eq!(
        line_of("webhook.body_limit_bytes"),
        Some(5),
        "type, between"
    );
    assert_eq!(line_of("dialer.batch_size"), Some(8), "semantic, after");
    assert_eq!(line_of("provider.ring_timeout_secs"), Some(10));
    // Nothing about the keys on broken lines, nor about unset keys whose
    // value may have been on them.
    assert!(ps.iter().all(|p| p.key() != Some("redis.url")), "{text:#?}");
    assert!(
        ps.iter().all(|p| p.key() != Some("webhook.listen")),
        "{text:#?}"
    );
    assert_eq!(ps.len(), 6, "{text:#?}");
    // In file order.
    let lines: Vec<usize> = ps
        .iter()
        .map(|p| match p {
            ConfigProblem::Syntax { line, .. } => *line,
            other => match other.origin() {
                Some(Origin::File { line: Some(l), .. }) => *l,
                _ => 0,
            },
        })
        .collect();
    assert!(lines.windows(2).all(|w| w[0] <= w[1]), "{lines:?}");
}

#[test]
fn syntax_error_and_environment_problems_are_reported_together() {
    let f = file("[redis\nurl = 1\n");
    let ps = problems(load(f.path(), env(&[("SAMPARK__REDIS__SHARDS", "x")])));
    assert!(
        matches!(&ps[0], ConfigProblem::Syntax { path, line: 1, column: 7, .. } if path == f.path()),
        "{ps:?}"
    );
    assert!(
        ps[0]
            .to_string()
            .starts_with(&format!("{}:1:7: not valid TOML: ", f.path().display())),
        "{}",
        ps[0]
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
    // The twelfth: admin.listen (0.0.0.0) is off loopback with no admin token.
    assert_eq!(errors.len(), 12, "{errors:#?}");
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
    // One problem per key of the window, each on its own line.
    let at = |key: &str| {
        ps.iter()
            .find(|p| p.key() == Some(key))
            .and_then(|p| match p.origin() {
                Some(Origin::File { line, .. }) => *line,
                _ => None,
            })
            .unwrap_or_else(|| panic!("no {key} in {text:#?}"))
    };
    assert_eq!(at("policy.calling_window.zone"), 3);
    assert_eq!(at("policy.calling_window.weekdays[1]"), 4);
    assert_eq!(at("policy.calling_window.ranges"), 5);
    assert_eq!(at("policy.calling_window.holiday_files[0]"), 6);
    let window: Vec<&ConfigProblem> = ps
        .iter()
        .filter(|p| {
            p.key()
                .is_some_and(|k| k.starts_with("policy.calling_window"))
        })
        .collect();
    assert_eq!(window.len(), 4, "{text:#?}");
}

#[test]
fn a_window_problem_from_the_environment_names_its_variable() {
    let mut vars = env(CREDS);
    vars.push((
        "SAMPARK__POLICY__CALLING_WINDOW__ZONE".into(),
        "Mars/Olympus".into(),
    ));
    let f = file("[policy.calling_window]\nweekdays = []\n");
    let ps = problems(load(f.path(), vars));
    let text: Vec<String> = ps.iter().map(ToString::to_string).collect();
    let zone = ps
        .iter()
        .find(|p| p.key() == Some("policy.calling_window.zone"))
        .unwrap_or_else(|| panic!("{text:#?}"));
    assert_eq!(
        zone.origin(),
        Some(&Origin::Env("SAMPARK__POLICY__CALLING_WINDOW__ZONE".into()))
    );
    let weekdays = ps
        .iter()
        .find(|p| p.key() == Some("policy.calling_window.weekdays"))
        .unwrap_or_else(|| panic!("{text:#?}"));
    assert!(
        matches!(weekdays.origin(), Some(Origin::File { line: Some(2), .. })),
        "{text:#?}"
    );
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

/// Every `key = value` of the shipped file, with the table it is in.
fn shipped_keys() -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(shipped()).unwrap();
    let mut table = String::new();
    let mut keys = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(header) = line.strip_prefix('[') {
            table = header.trim_end_matches(']').to_owned();
        } else if let Some((key, value)) = line.split_once(" = ")
            && !line.starts_with('#')
        {
            keys.push((table.clone(), key.to_owned(), value.to_owned()));
        }
    }
    keys
}

#[test]
fn a_table_with_one_key_takes_the_defaults_for_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("one-key.toml");
    let keys = shipped_keys();
    assert!(keys.len() > 50, "the shipped file was read: {keys:?}");
    for (table, key, value) in keys {
        std::fs::write(&path, format!("[{table}]\n{key} = {value}\n")).unwrap();
        let loaded =
            load(&path, env(CREDS)).unwrap_or_else(|e| panic!("[{table}] with only {key}: {e}"));
        let mut want = load(&shipped(), env(CREDS)).unwrap();
        // Only the shipped file's dialplans.dir differs from the default.
        want.dialplans.dir = if (table.as_str(), key.as_str()) == ("dialplans", "dir") {
            dir.path().parent().unwrap().join("dialplans")
        } else {
            dir.path().join("dialplans")
        };
        assert_eq!(loaded, want, "[{table}] with only {key}");
    }
}

#[test]
fn quota_tables_with_one_key_take_the_rest_from_the_default_quota() {
    let f = file(
        r#"
        [rate.default]
        per_secs = 30
        [rate.overrides."off-1"]
        burst = 2
        [rate.overrides."off-2"]
        per_secs = 0.5
        [rate.departments."home"]
        burst = 40
        "#,
    );
    let mut vars = env(CREDS);
    vars.push((
        "SAMPARK__RATE__DEPARTMENTS__REVENUE__PER_SECS".into(),
        "4".into(),
    ));
    let rate = load(f.path(), vars).unwrap().rate;
    let limit = |burst, per_secs| crate::config::RateLimit { burst, per_secs };
    assert_eq!(rate.default, limit(5, 30.0), "burst: the built-in default");
    assert_eq!(rate.overrides["off-1"], limit(2, 30.0));
    assert_eq!(rate.overrides["off-2"], limit(5, 0.5));
    assert_eq!(rate.departments["home"], limit(40, 30.0));
    assert_eq!(rate.departments["revenue"], limit(5, 4.0));

    let f = file("[rate.default]\nburst = 9\n[rate.overrides.\"off-3\"]\nbrust = 1\n");
    let ps = problems(load(f.path(), env(CREDS)));
    assert!(
        matches!(&ps[..], [ConfigProblem::UnknownKey { key, origin: Origin::File { line: Some(4), .. } }] if key == "rate.overrides.off-3.brust"),
        "{ps:?}"
    );
}

#[test]
fn relative_paths_follow_the_config_file_not_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("etc")).unwrap();
    std::fs::write(dir.path().join("etc/holidays.txt"), "2026-01-26\n").unwrap();
    let path = dir.path().join("etc/sampark.toml");
    std::fs::write(
        &path,
        r#"
        [dialplans]
        dir = "plans"
        [webhook.tls]
        cert_path = "tls/cert.pem"
        key_path = "/abs/key.pem"
        [policy.calling_window]
        holiday_files = ["holidays.txt"]
        "#,
    )
    .unwrap();
    let s = load(&path, env(CREDS)).unwrap();
    let etc = dir.path().join("etc");
    assert_eq!(s.dialplans.dir, etc.join("plans"));
    assert_eq!(s.webhook.tls.cert_path, Some(etc.join("tls/cert.pem")));
    assert_eq!(s.webhook.tls.key_path, Some(PathBuf::from("/abs/key.pem")));
    assert_eq!(s.policy.calling_window.holidays().len(), 1);

    // Through the environment: against the working directory.
    let mut vars = env(CREDS);
    vars.push(("SAMPARK__DIALPLANS__DIR".into(), "from-env".into()));
    let s = load(&path, vars).unwrap();
    assert_eq!(
        s.dialplans.dir,
        std::env::current_dir().unwrap().join("from-env")
    );
}

#[test]
fn a_missing_holiday_file_is_named_by_its_full_path_and_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sampark.toml");
    std::fs::write(
        &path,
        "[policy.calling_window]\nholiday_files = [\n  \"odisha.txt\",\n  \"gone.txt\",\n]\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("odisha.txt"), "2026-04-01\n").unwrap();
    let ps = problems(load(&path, env(CREDS)));
    let text: Vec<String> = ps.iter().map(ToString::to_string).collect();
    let tried = dir.path().join("gone.txt");
    assert!(
        matches!(&ps[..], [ConfigProblem::Invalid { key, origin: Origin::File { line: Some(4), .. }, reason }]
            if key == "policy.calling_window.holiday_files[1]" && reason.contains(&tried.display().to_string())),
        "{text:#?}"
    );
}

#[test]
fn an_unreadable_file_still_reports_the_environments_problems_with_their_variables() {
    let dir = tempfile::tempdir().unwrap();
    let mut vars = env(CREDS);
    vars.push(("SAMPARK__REDIS__SHARDS".into(), "0".into()));
    vars.push(("SAMPARK__DIALER__BATCH_SIZE".into(), "lots".into()));
    let ps = problems(load(&dir.path().join("missing.toml"), vars));
    let text: Vec<String> = ps.iter().map(ToString::to_string).collect();
    assert!(
        matches!(&ps[0], ConfigProblem::Unreadable { .. }),
        "{text:#?}"
    );
    assert!(
        text.iter()
            .any(|t| t.starts_with("environment variable SAMPARK__REDIS__SHARDS: `redis.shards`")),
        "{text:#?}"
    );
    assert!(
        text.iter()
            .any(|t| t.starts_with("environment variable SAMPARK__DIALER__BATCH_SIZE:")),
        "{text:#?}"
    );
    // Nothing about defaults the operator may have set in the lost file.
    assert_eq!(ps.len(), 3, "{text:#?}");
}

#[test]
fn report_departments_load_and_bad_or_repeated_ones_are_refused() {
    let text = "[reports]\ndepartments = [\n  \"police\",\n  \"health\",\n  \"police\",\n  \"rev enue\",\n  \"other\",\n  \"\",\n]\n";
    let f = file(text);
    let ps = problems(load(f.path(), env(CREDS)));
    let found: Vec<(&str, Option<usize>, &str)> = ps
        .iter()
        .filter_map(|p| match p {
            ConfigProblem::Invalid {
                key,
                origin: Origin::File { line, .. },
                reason,
            } => Some((key.as_str(), *line, reason.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(found.len(), 4, "{ps:?}");
    assert_eq!(
        found[0],
        (
            "reports.departments[2]",
            Some(5),
            "\"police\" is listed twice (also reports.departments[0])"
        )
    );
    assert_eq!(found[1].0, "reports.departments[3]");
    assert!(found[1].2.contains("without spaces"), "{found:?}");
    assert_eq!(
        (found[2].0, found[2].1),
        ("reports.departments[4]", Some(7))
    );
    assert!(found[2].2.contains("reserved"), "{found:?}");
    assert_eq!(found[3].0, "reports.departments[5]");

    let mut vars = env(CREDS);
    vars.push((
        "SAMPARK__REPORTS__DEPARTMENTS".into(),
        "police, health".into(),
    ));
    let s = load(file("").path(), vars).unwrap();
    assert_eq!(s.reports.departments, ["police", "health"]);
    assert_eq!(
        load(file("").path(), env(CREDS))
            .unwrap()
            .reports
            .departments,
        Vec::<String>::new()
    );

    // The setting bounds the metrics' department label.
    let metrics = crate::daemon::metrics_registry(&s, Vec::new());
    let record = |department| {
        crate::domain::FeedbackRecord::for_test(department, crate::domain::Outcome::Completed, &[])
    };
    metrics.record_scored(&record("health"), None);
    metrics.record_scored(&record("home"), None);
    let text = metrics.render();
    for series in [
        r#"sampark_records_total{department="health",outcome="completed"} 1"#,
        r#"sampark_records_total{department="police",outcome="completed"} 0"#,
        r#"sampark_records_total{department="other",outcome="completed"} 1"#,
    ] {
        assert!(text.lines().any(|l| l == series), "{series}");
    }
}

#[test]
fn the_contact_limit_takes_its_environment_value_and_stays_above_the_submit_chunks() {
    let f = file("");
    let s = load(
        f.path(),
        env(&[
            CREDS[0],
            CREDS[1],
            ("SAMPARK__INTAKE__MAX_CONTACTS_PER_DOCUMENT", "20000"),
        ]),
    )
    .unwrap();
    assert_eq!(s.intake.max_contacts_per_document, 20_000);
    assert_eq!(Settings::default().intake.max_contacts_per_document, 50_000);
    let mut s = Settings::default();
    s.provider.account_sid = "ACtest".into();
    s.provider.auth_token = crate::config::Secret::new("tok");
    s.intake.max_contacts_per_document = 4_999;
    assert_eq!(
        s.validate(),
        Err(vec![
            "intake.max_contacts_per_document: 4999 is less than 5000, the contacts per entry \
             `campaign submit` and the admin API write"
                .to_owned()
        ])
    );
}

#[test]
fn worker_threads_load_and_too_many_are_refused() {
    let f = file("[runtime]\nworker_threads = 1\n");
    assert_eq!(
        load(f.path(), env(CREDS)).unwrap().runtime.worker_threads,
        1
    );
    let mut vars = env(CREDS);
    vars.push(("SAMPARK__RUNTIME__WORKER_THREADS".into(), "257".into()));
    let err = load(f.path(), vars).unwrap_err();
    assert!(
        err.to_string()
            .contains("`runtime.worker_threads`: 257 is more than 256"),
        "{err}"
    );
}
