//! The deploy kit, run rather than read: `deploy/redis.conf` with the ACL
//! template's `sampark` user carries a whole campaign and the CLI (any
//! command the user may not send fails it), the systemd unit passes
//! `systemd-analyze verify`, and the settings the Kubernetes ConfigMap and
//! the compose fleet ship would start `serve`. (`deploy/check.sh` checks
//! the manifests against their schemas.)

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::cli::{Guard, run, sampark};
use support::daemon::{CITIZEN_KEY_SECRET, repo_path};
use support::redis_server::free_port;

/// The daemon's password in the test's copy of the ACL template.
const SAMPARK_PASSWORD: &str = "deploy-kit-sampark-pw";
const OPS_PASSWORD: &str = "deploy-kit-ops-pw";
const SID: &str = "AC0000000000000000000000000000beef";
const TOKEN: &str = "local-simulator-token";

/// `deploy/redis.conf` as shipped, but on a free port, in a data dir of the
/// test's, with the ACL template's placeholder passwords replaced.
struct TemplateRedis {
    _server: Guard,
    port: u16,
    _dir: tempfile::TempDir,
}

impl TemplateRedis {
    fn start() -> TemplateRedis {
        let dir = tempfile::tempdir().unwrap();
        let acl = std::fs::read_to_string(repo_path("deploy/redis-users.acl"))
            .unwrap()
            .replace("change-me-sampark", SAMPARK_PASSWORD)
            .replace("change-me-ops", OPS_PASSWORD);
        let acl_path = dir.path().join("users.acl");
        std::fs::write(&acl_path, acl).unwrap();
        let port = free_port();
        let server = Command::new("redis-server")
            .arg(repo_path("deploy/redis.conf"))
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(dir.path())
            .arg("--aclfile")
            .arg(&acl_path)
            .args(["--maxmemory", "256mb"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (see scripts/test.sh)");
        let redis = TemplateRedis {
            _server: Guard(server),
            port,
            _dir: dir,
        };
        wait_for(Duration::from_secs(10), "redis.conf's server", || {
            redis.ops(&["PING"]).is_some()
        });
        redis
    }

    fn sampark_url(&self) -> String {
        format!(
            "redis://sampark:{SAMPARK_PASSWORD}@127.0.0.1:{}/",
            self.port
        )
    }

    /// One command as the `ops` user; `None` if it fails.
    fn ops(&self, args: &[&str]) -> Option<redis::Value> {
        let url = format!("redis://ops:{OPS_PASSWORD}@127.0.0.1:{}/", self.port);
        let client = redis::Client::open(url).ok()?;
        let mut conn = client
            .get_connection_with_timeout(Duration::from_secs(1))
            .ok()?;
        let mut cmd = redis::cmd(args[0]);
        for arg in &args[1..] {
            cmd.arg(*arg);
        }
        cmd.query(&mut conn).ok()
    }
}

fn wait_for(timeout: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn the_redis_template_s_acl_user_carries_a_campaign_and_the_operators_cli_commands() {
    let redis = TemplateRedis::start();
    let url = redis.sampark_url();

    // The template refuses what sampark has no business doing.
    assert!(
        redis
            .ops(&["ACL", "DRYRUN", "sampark", "FLUSHALL"])
            .is_some()
    );
    let refused = |args: &[&str]| {
        let client = redis::Client::open(url.as_str()).unwrap();
        let mut conn = client.get_connection().unwrap();
        let mut cmd = redis::cmd(args[0]);
        for arg in &args[1..] {
            cmd.arg(*arg);
        }
        let reply: redis::RedisResult<redis::Value> = cmd.query(&mut conn);
        match reply {
            Err(e) => {
                let shown = e.to_string();
                assert!(shown.contains("no permissions"), "{args:?}: {shown}");
                true
            }
            Ok(_) => false,
        }
    };
    assert!(refused(&["FLUSHALL"]), "FLUSHALL must be refused");
    assert!(refused(&["CONFIG", "SET", "appendonly", "no"]));
    assert!(
        refused(&["GET", "other-application:key"]),
        "keys outside sampark's"
    );
    assert!(refused(&["KEYS", "*"]));
    let default_user = redis::Client::open(format!("redis://127.0.0.1:{}/", redis.port))
        .unwrap()
        .get_connection()
        .and_then(|mut c| {
            redis::cmd("GET")
                .arg("sampark:epoch")
                .query::<redis::Value>(&mut c)
        });
    assert!(default_user.is_err(), "the default user is off");

    let work = tempfile::tempdir().unwrap();
    let simulator_port = free_port();
    let _simulator = Guard(
        sampark()
            .args(["simulate-provider", "--listen"])
            .arg(format!("127.0.0.1:{simulator_port}"))
            .args(["--account-sid", SID, "--auth-token", TOKEN, "--seed", "7"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let (webhook, admin) = (free_port(), free_port());
    let serve_log = work.path().join("serve.log");
    let _serve = Guard(
        sampark()
            .args(["serve", "--config", "config/local.toml"])
            .env("SAMPARK__REDIS__URL", &url)
            .env(
                "SAMPARK__PROVIDER__BASE_URL",
                format!("http://127.0.0.1:{simulator_port}"),
            )
            .env("SAMPARK__WEBHOOK__LISTEN", format!("127.0.0.1:{webhook}"))
            .env(
                "SAMPARK__WEBHOOK__PUBLIC_URL",
                format!("http://127.0.0.1:{webhook}"),
            )
            .env("SAMPARK__ADMIN__LISTEN", format!("127.0.0.1:{admin}"))
            .env("SAMPARK__POLICY__CITIZEN_KEY_SECRET", CITIZEN_KEY_SECRET)
            .env("SAMPARK__LOG__FORMAT", "json")
            .stdout(std::fs::File::create(&serve_log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let example = repo_path("docs/examples/first-campaign.json");
    let submitted = run(sampark()
        .args(["campaign", "submit"])
        .arg(&example)
        .args(["--redis", &url]));
    assert!(submitted.status.success(), "{}", text(&submitted));

    wait_for(Duration::from_secs(120), "20 feedback records", || {
        matches!(
            redis.ops(&["XLEN", "sampark:feedback"]),
            Some(redis::Value::Int(20))
        )
    });

    // The operator's commands, as the same user (the CLI reaches Redis as
    // the daemon does). Each must work; none may be refused.
    let with_settings = |args: &[&str]| -> Output {
        run(sampark()
            .args(args)
            .args(["--config", "config/local.toml"])
            .env("SAMPARK__REDIS__URL", &url)
            .env("SAMPARK__POLICY__CITIZEN_KEY_SECRET", CITIZEN_KEY_SECRET))
    };
    let with_url = |args: &[&str]| -> Output {
        run(sampark()
            .args(args)
            .args(["--redis", &url])
            .env("SAMPARK__POLICY__CITIZEN_KEY_SECRET", CITIZEN_KEY_SECRET))
    };
    let officials = repo_path("docs/examples/officials.csv");
    let commands: Vec<(String, Output)> = vec![
        (
            "campaign status".into(),
            with_url(&["campaign", "status", "first-campaign"]),
        ),
        ("campaign list".into(), with_url(&["campaign", "list"])),
        ("redis status".into(), with_url(&["redis", "status"])),
        ("dnc add".into(), with_url(&["dnc", "add", "+919861000099"])),
        (
            "dnc check".into(),
            with_url(&["dnc", "check", "+919861000099"]),
        ),
        ("dnc count".into(), with_url(&["dnc", "count"])),
        (
            "dnc remove".into(),
            with_url(&["dnc", "remove", "+919861000099"]),
        ),
        (
            "officials import".into(),
            with_settings(&["officials", "import", officials.to_str().unwrap()]),
        ),
        (
            "officials list".into(),
            with_settings(&["officials", "list"]),
        ),
        (
            "report".into(),
            with_settings(&["report", "--by", "official"]),
        ),
        (
            "escalations list".into(),
            with_settings(&["escalations", "list"]),
        ),
    ];
    for (name, out) in &commands {
        assert!(
            out.status.success(),
            "`sampark {name}` failed: {}",
            text(out)
        );
        assert!(
            !text(out).contains("NOPERM"),
            "`sampark {name}`: {}",
            text(out)
        );
    }

    // Redis logged no refusal of the daemon's or the CLI's commands (the
    // four probes above were made as the same user: they are the only
    // entries allowed).
    let Some(redis::Value::Array(log)) = redis.ops(&["ACL", "LOG", "128"]) else {
        panic!("ACL LOG answers");
    };
    // Each entry is a flat list of pairs; "object" names the command or key.
    let objects: Vec<String> = log
        .iter()
        .filter_map(|entry| match entry {
            redis::Value::Array(pairs) => pairs
                .chunks(2)
                .find(|p| {
                    redis::from_redis_value::<String>(p[0].clone()).is_ok_and(|k| k == "object")
                })
                .and_then(|p| redis::from_redis_value::<String>(p[1].clone()).ok()),
            _ => None,
        })
        .collect();
    let mut unexpected = objects.clone();
    unexpected.retain(|o| {
        !["flushall", "config|set", "other-application:key", "keys"].contains(&o.as_str())
    });
    assert!(
        unexpected.is_empty() && objects.len() == 4,
        "refused: {objects:?}"
    );
    let serve = std::fs::read_to_string(&serve_log).unwrap();
    assert!(!serve.contains("NOPERM"), "the daemon was refused: {serve}");
}

#[test]
fn the_systemd_unit_passes_systemd_analyze_verify() {
    let unit = std::fs::read_to_string(repo_path("deploy/sampark.service")).unwrap();
    // verify checks that ExecStart's binary exists: this build's, in the
    // unit's place. Everything else is the file as shipped.
    let binary = env!("CARGO_BIN_EXE_sampark");
    assert!(
        unit.contains("/opt/sampark/bin/sampark"),
        "ExecStart moved?"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sampark.service");
    std::fs::write(&path, unit.replace("/opt/sampark/bin/sampark", binary)).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze must be installed (Debian package systemd; scripts/test.sh)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // verify exits 0 on a line it could not parse, but says so: any word
    // about the unit file is a failure.
    let about_unit: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("sampark.service"))
        .collect();
    assert!(
        out.status.success() && about_unit.is_empty(),
        "systemd-analyze verify: {stderr}"
    );
}

/// `serve --check` on `settings`, with `env` (what the deployment gives it
/// from outside the file).
fn serve_check(settings: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = sampark();
    cmd.args(["serve", "--check", "--config"]).arg(settings);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

#[test]
fn the_settings_the_kubernetes_config_map_and_the_compose_fleet_ship_would_start_serve() {
    // The ConfigMap's file, with the image's paths (/opt/sampark/…, laid
    // out as the repository is) pointed at this checkout, and the Secret's
    // files (its *_file keys) at files of the test's.
    let manifest = std::fs::read_to_string(repo_path("deploy/k8s/configmap.yaml")).unwrap();
    let marker = "sampark.toml: |\n";
    let start = manifest
        .find(marker)
        .expect("the ConfigMap holds sampark.toml")
        + marker.len();
    let toml: String = manifest[start..]
        .lines()
        .map(|l| l.strip_prefix("    ").unwrap_or(l.trim()))
        .collect::<Vec<_>>()
        .join("\n");
    let root = format!("{}/", env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets");
    std::fs::create_dir(&secrets).unwrap();
    for (file, value) in [
        ("redis-url", "redis://sampark:pw@127.0.0.1:6379/\n"),
        ("provider-auth-token", "deploy-kit-auth-token\n"),
        ("admin-token", "deploy-kit-admin-token\n"),
        ("citizen-key-secret", &format!("{CITIZEN_KEY_SECRET}\n")),
    ] {
        std::fs::write(secrets.join(file), value).unwrap();
    }
    let secrets_dir = format!("{}/", secrets.display());
    let settings: PathBuf = dir.path().join("sampark.toml");
    let mapped = toml
        .replace("/opt/sampark/", &root)
        .replace("/run/secrets/sampark/", &secrets_dir);
    std::fs::write(&settings, &mapped).unwrap();
    let out = serve_check(&settings, &[("SAMPARK__PROVIDER__ACCOUNT_SID", SID)]);
    assert!(out.status.success(), "ConfigMap settings: {}", text(&out));
    assert!(text(&out).contains("sampark would start"), "{}", text(&out));
    // Without the Secret's files it would not start, and says which.
    std::fs::remove_file(secrets.join("citizen-key-secret")).unwrap();
    let out = serve_check(&settings, &[("SAMPARK__PROVIDER__ACCOUNT_SID", SID)]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("citizen_key_secret_file"),
        "{}",
        text(&out)
    );

    let secrets_from_env = [
        ("SAMPARK__POLICY__CITIZEN_KEY_SECRET", CITIZEN_KEY_SECRET),
        ("SAMPARK__ADMIN__TOKEN", "deploy-kit-admin-token"),
    ];
    let out = serve_check(&repo_path("deploy/compose.toml"), &secrets_from_env);
    assert!(out.status.success(), "compose settings: {}", text(&out));

    // And the check is a check: a broken file fails it, naming the key.
    std::fs::write(&settings, "[webhook]\nlisten = 8080\n").unwrap();
    let out = serve_check(&settings, &secrets_from_env);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("webhook.listen"), "{}", text(&out));
}
