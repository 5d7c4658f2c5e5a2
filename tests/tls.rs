//! TLS as an operator deploys it, with a CA and certificates made at test
//! time: both listeners over TLS (a client trusting another CA refused),
//! certificates reloaded on a file change and on SIGHUP while open
//! connections carry on, a bad new pair refused with the old one kept,
//! TLS paths that are not regular files refused at start; and Redis over
//! `rediss://` with a custom CA and a client certificate, from the daemon
//! and from the CLI; and through a Sentinel over TLS, as an ACL user.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sampark::simulator::SimulatorConfig;
use sampark::store::redis::{Auth, RedisStore, Target, Timeouts};
use sampark::store::{Quota, Store};
use sampark::tls::ClientTls;
use support::campaign::{assert_one_record_each, campaign};
use support::cli::{Guard, run, sampark};
use support::daemon::{bind_webhook, dialer_config, start_daemon_with_store, start_simulator};
use support::eventually;
use support::provider::Provider;
use support::redis_server::{RedisServer, ServerTlsFiles, free_port};
use support::serve::{SID, TOKEN, serve};
use support::tls::{Pair, TestCa, TlsDir, connect, der_of, get_on, presented};

const WAIT: Duration = Duration::from_secs(60);

/// A TLS-only redis-server whose certificate `ca` signed, checking client
/// certificates against `ca` too (`auth_clients`: yes, optional or no).
fn tls_redis(ca: &TestCa, dir: &TlsDir, auth_clients: &'static str) -> RedisServer {
    let (cert, key) = dir.write_pair("redis", &ca.server(1));
    RedisServer::start_tls(ServerTlsFiles {
        cert,
        key,
        ca: dir.write("redis-ca.pem", &ca.pem()),
        auth_clients,
    })
}

async fn connect_store(redis: &RedisServer, tls: &ClientTls) -> Result<RedisStore, String> {
    RedisStore::connect_over(
        &Target::standalone(redis.url()),
        tls,
        "sampark",
        16,
        Timeouts::default(),
    )
    .await
    .map_err(|e| e.to_string())
}

/// Runs a campaign of `contacts` through a daemon on `store` (the
/// simulator seeded with `seed`) until each contact has one record.
async fn campaign_completes(store: RedisStore, seed: u64, id: &str, contacts: usize) {
    let (simulator, _sim_cancel) = start_simulator(Provider::Twilio.simulator(SimulatorConfig {
        seed,
        ..SimulatorConfig::default()
    }))
    .await;
    let (listener, _) = bind_webhook().await;
    let quota = Quota {
        burst: 5,
        period: Duration::from_millis(100),
    };
    let (daemon, store) = start_daemon_with_store(
        listener,
        store,
        &simulator.base_url(),
        dialer_config(quota),
        |_| {},
    )
    .await;
    store.submit(&campaign(id, contacts)).await.unwrap();
    assert_one_record_each(&store, contacts).await;
    daemon.shutdown().await;
}

/// Waits until a handshake with the listener at `addr` (trusting `ca`)
/// presents `pair`'s certificate.
async fn until_presented(addr: std::net::SocketAddr, ca: &TestCa, pair: &Pair, what: &str) {
    let (ca, want) = (ca.pem(), der_of(&pair.cert));
    eventually(WAIT, what, || {
        let (ca, want) = (ca.clone(), want.clone());
        async move {
            let stream = connect(addr, &ca).await.ok()?;
            (presented(&stream) == want).then_some(())
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_listeners_and_redis_speak_tls_and_another_ca_is_refused() {
    let (ca, other) = (TestCa::new("sampark test CA"), TestCa::new("another CA"));
    let dir = TlsDir::new();
    let redis = tls_redis(&ca, &dir, "yes");
    let listener = ca.server(7);
    let (cert, key) = dir.write_pair("listener", &listener);
    let (client_cert, client_key) = dir.write_pair("client", &ca.client());
    let webhook_port = free_port();
    let path = |p: &Path| p.display().to_string();
    let mut daemon = serve(
        &redis.url(),
        "http://127.0.0.1:9",
        dir.path("serve.log"),
        &[
            (
                "SAMPARK__WEBHOOK__LISTEN",
                &format!("127.0.0.1:{webhook_port}"),
            ),
            ("SAMPARK__ADMIN__TLS__CERT_PATH", &path(&cert)),
            ("SAMPARK__ADMIN__TLS__KEY_PATH", &path(&key)),
            ("SAMPARK__WEBHOOK__TLS__CERT_PATH", &path(&cert)),
            ("SAMPARK__WEBHOOK__TLS__KEY_PATH", &path(&key)),
            (
                "SAMPARK__REDIS__TLS__CA_PATH",
                &path(&dir.path("redis-ca.pem")),
            ),
            ("SAMPARK__REDIS__TLS__CLIENT_CERT_PATH", &path(&client_cert)),
            ("SAMPARK__REDIS__TLS__CLIENT_KEY_PATH", &path(&client_key)),
        ],
    );
    let admin = daemon.admin;
    // Ready means Redis answered over TLS with the client certificate.
    let ca_pem = ca.pem();
    eventually(WAIT, "/readyz over TLS to answer 200", || {
        let ca_pem = ca_pem.clone();
        async move {
            let mut stream = connect(admin, &ca_pem).await.ok()?;
            (get_on(&mut stream, "/readyz").await == 200).then_some(())
        }
    })
    .await;
    let webhook: std::net::SocketAddr = format!("127.0.0.1:{webhook_port}").parse().unwrap();
    let mut stream = connect(webhook, &ca.pem())
        .await
        .expect("the webhook listener speaks TLS");
    assert_eq!(presented(&stream), der_of(&listener.cert));
    let status = get_on(&mut stream, "/no-such-route").await;
    assert_eq!(status, 404, "an HTTP answer over TLS");

    for addr in [admin, webhook] {
        let Err(err) = connect(addr, &other.pem()).await else {
            panic!("a client trusting another CA is refused");
        };
        assert!(err.to_string().contains("certificate"), "{err}");
        let (status, _) = support::http::raw(
            addr,
            "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert_ne!(status, 200, "plain HTTP on a TLS port gets no answer");
    }
    assert!(daemon.stop().await.success(), "{}", daemon.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_reload_on_file_change_and_sighup_and_open_connections_carry_on() {
    let (ca, next_ca) = (TestCa::new("sampark test CA"), TestCa::new("next CA"));
    let dir = TlsDir::new();
    let first = ca.server(1);
    let (cert, key) = dir.write_pair("admin", &first);
    let path = |p: &Path| p.display().to_string();
    // No Redis: the admin listener serves /healthz while serve waits for it.
    let mut daemon = serve(
        &format!("redis://127.0.0.1:{}/", free_port()),
        "http://127.0.0.1:9",
        dir.path("serve.log"),
        &[
            ("SAMPARK__ADMIN__TLS__CERT_PATH", &path(&cert)),
            ("SAMPARK__ADMIN__TLS__KEY_PATH", &path(&key)),
        ],
    );
    let admin = daemon.admin;
    until_presented(admin, &ca, &first, "the first certificate").await;
    let mut open = connect(admin, &ca.pem()).await.unwrap();
    assert_eq!(get_on(&mut open, "/healthz").await, 200);

    // Files replaced (a new serial): seen by polling, no signal sent.
    let second = ca.server(2);
    dir.write_pair("admin", &second);
    until_presented(admin, &ca, &second, "the replaced certificate").await;
    assert_eq!(
        get_on(&mut open, "/healthz").await,
        200,
        "a connection opened before the reload is served on"
    );

    // A broken certificate: refused, said at ERROR, the last good one kept.
    dir.write("admin.pem", "-----BEGIN CERTIFICATE-----\nnot base64\n");
    eventually(WAIT, "the refusal in the log", || async {
        daemon
            .log()
            .contains("Refused the new TLS certificate")
            .then_some(())
    })
    .await;
    let still = connect(admin, &ca.pem()).await.expect("still served");
    assert_eq!(presented(&still), der_of(&second.cert));
    assert!(
        daemon.log().contains("\"level\":\"ERROR\""),
        "{}",
        daemon.log()
    );

    // A pair from another CA, and SIGHUP: reloaded, and the daemon lives on.
    let third = next_ca.server(3);
    dir.write_pair("admin", &third);
    let pid = daemon.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
    until_presented(admin, &next_ca, &third, "the certificate of the next CA").await;
    eventually(WAIT, "a reload on SIGHUP in the log", || async {
        daemon
            .log()
            .contains("\"tls.trigger\":\"SIGHUP\"")
            .then_some(())
    })
    .await;
    assert!(
        daemon.child.try_wait().unwrap().is_none(),
        "SIGHUP does not stop serve"
    );
    assert_eq!(get_on(&mut open, "/healthz").await, 200);
    let log = daemon.log();
    assert!(!log.contains("PRIVATE KEY"), "no key material in the log");
    assert!(daemon.stop().await.success(), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_path_that_is_not_a_regular_file_is_refused_at_start() {
    let dir = TlsDir::new();
    let fifo = dir.path("key.fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let pair = dir.write_pair("ok", &TestCa::new("ca").server(1));
    let mut cmd = sampark();
    cmd.args(["serve", "--config", "config/sampark.toml"])
        .env(
            "SAMPARK__POLICY__CITIZEN_KEY_SECRET",
            support::daemon::CITIZEN_KEY_SECRET,
        )
        .env("SAMPARK__PROVIDER__ACCOUNT_SID", SID)
        .env("SAMPARK__PROVIDER__AUTH_TOKEN", TOKEN)
        .env(
            "SAMPARK__ADMIN__LISTEN",
            format!("127.0.0.1:{}", free_port()),
        )
        .env(
            "SAMPARK__WEBHOOK__LISTEN",
            format!("127.0.0.1:{}", free_port()),
        )
        .env("SAMPARK__ADMIN__TLS__CERT_PATH", "/dev/zero")
        .env("SAMPARK__ADMIN__TLS__KEY_PATH", &pair.1)
        .env("SAMPARK__WEBHOOK__TLS__CERT_PATH", &pair.0)
        .env("SAMPARK__WEBHOOK__TLS__KEY_PATH", &fifo)
        .env("SAMPARK__REDIS__URL", "rediss://127.0.0.1:1/")
        .env("SAMPARK__REDIS__TLS__CA_PATH", "/dev/zero")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // Read forever, these files would hang serve: it must end by itself,
    // or it is killed (and the test fails) after WAIT.
    let mut child = Guard(cmd.spawn().unwrap());
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "serve hung on a TLS path");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut err = String::new();
    std::io::Read::read_to_string(child.0.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(2), "{err}");
    for (setting, file) in [
        ("admin.tls", "/dev/zero".to_owned()),
        ("webhook.tls", fifo.display().to_string()),
        ("redis.tls", "/dev/zero".to_owned()),
    ] {
        let line = err
            .lines()
            .find(|l| l.contains(&format!("- {setting}:")))
            .unwrap_or_else(|| panic!("{setting} named: {err}"));
        assert!(
            line.contains(&file) && line.contains("not a regular file"),
            "{line}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_runs_over_rediss_with_a_custom_ca() {
    let ca = TestCa::new("redis CA");
    let dir = TlsDir::new();
    let redis = tls_redis(&ca, &dir, "optional");
    let ca_file = dir.write("ca.pem", &ca.pem());
    let tls = ClientTls::from_files(Some(&ca_file), None, None).unwrap();
    let store = connect_store(&redis, &tls)
        .await
        .expect("rediss:// with the CA");

    campaign_completes(store, 5, "over-tls", 6).await;

    // Trusting another CA (or only the built-in roots): refused, and said so.
    let other = dir.write("other.pem", &TestCa::new("another CA").pem());
    for tls in [
        ClientTls::from_files(Some(&other), None, None).unwrap(),
        ClientTls::default(),
    ] {
        let err = connect_store(&redis, &tls).await.err().expect("refused");
        assert!(err.contains("certificate"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_requires_a_client_certificate_takes_the_configured_one() {
    let ca = TestCa::new("redis CA");
    let dir = TlsDir::new();
    let redis = tls_redis(&ca, &dir, "yes");
    let ca_file = dir.write("ca.pem", &ca.pem());
    let (cert, key) = dir.write_pair("client", &ca.client());

    let without = ClientTls::from_files(Some(&ca_file), None, None).unwrap();
    assert!(connect_store(&redis, &without).await.is_err());
    let with = ClientTls::from_files(Some(&ca_file), Some(&cert), Some(&key)).unwrap();
    let store = connect_store(&redis, &with)
        .await
        .expect("with the client certificate");
    store.submit(&campaign("mtls", 2)).await.unwrap();

    // The CLI reaches it with the same files (flags or SAMPARK__REDIS__TLS__*).
    let status = |extra: &[&str]| {
        let mut cmd = sampark();
        cmd.args(["redis", "status", "--redis", &redis.url()])
            .args(extra);
        run(&mut cmd)
    };
    let (ca_arg, cert_arg, key_arg) = (
        ca_file.display().to_string(),
        cert.display().to_string(),
        key.display().to_string(),
    );
    let out = status(&[
        "--redis-ca",
        &ca_arg,
        "--redis-client-cert",
        &cert_arg,
        "--redis-client-key",
        &key_arg,
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("dialling:"), "{stdout}");
    let out = run(sampark()
        .args(["redis", "status", "--redis", &redis.url()])
        .env("SAMPARK__REDIS__TLS__CA_PATH", &ca_file)
        .env("SAMPARK__REDIS__TLS__CLIENT_CERT_PATH", &cert)
        .env("SAMPARK__REDIS__TLS__CLIENT_KEY_PATH", &key));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = status(&["--redis-ca", &ca_arg]);
    assert!(!out.status.success(), "no client certificate: refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_cluster_is_reached_over_rediss_with_a_custom_ca() {
    let ca = TestCa::new("cluster CA");
    let dir = TlsDir::new();
    let (cert, key) = dir.write_pair("node", &ca.server(1));
    let node = RedisServer::start_tls_cluster_node(ServerTlsFiles {
        cert,
        key,
        ca: dir.write("node-ca.pem", &ca.pem()),
        auth_clients: "optional",
    });
    let ca_file = dir.write("ca.pem", &ca.pem());
    let tls = ClientTls::from_files(Some(&ca_file), None, None).unwrap();
    // One node holding every slot: a cluster as the client sees it.
    let admin = redis::Client::build_with_tls(node.url(), tls.redis_certificates()).unwrap();
    let mut conn = admin.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("CLUSTER")
        .arg("ADDSLOTSRANGE")
        .arg(0)
        .arg(16383)
        .query_async(&mut conn)
        .await
        .unwrap();
    eventually(WAIT, "the cluster to be ok", || {
        let mut conn = conn.clone();
        async move {
            let info: String = redis::cmd("CLUSTER")
                .arg("INFO")
                .query_async(&mut conn)
                .await
                .ok()?;
            info.contains("cluster_state:ok").then_some(())
        }
    })
    .await;

    let target = Target::Cluster {
        nodes: vec![node.url()],
    };
    let store = RedisStore::connect_over(&target, &tls, "sampark", 16, Timeouts::default())
        .await
        .expect("a cluster over rediss:// with the CA");
    let doc = campaign("cluster-tls", 3);
    let id = store.submit(&doc).await.unwrap();
    let read = store
        .read_intake("tls-test", 10, Duration::ZERO, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(read.len(), 1);
    assert_eq!(
        (&read[0].id, read[0].payload.as_deref()),
        (&id, Ok(doc.as_str()))
    );
    let refused = RedisStore::connect_over(
        &target,
        &ClientTls::default(),
        "sampark",
        16,
        Timeouts::default(),
    )
    .await;
    assert!(
        refused.is_err(),
        "the built-in roots do not trust the test CA"
    );
}

/// A Sentinel speaking TLS only, monitoring the TLS-only primary on
/// `primary` as `master`, logging in there as `sampark`.
fn tls_sentinel(ca: &TestCa, dir: &TlsDir, primary: u16, master: &str) -> (Guard, u16) {
    let (cert, key) = dir.write_pair("sentinel", &ca.server(2));
    let ca_file = dir.write("sentinel-ca.pem", &ca.pem());
    let port = free_port();
    let conf = dir.path("sentinel.conf");
    std::fs::write(
        &conf,
        format!(
            "port 0\ntls-port {port}\nbind 127.0.0.1\ndir {dir}\n\
             tls-cert-file {cert}\ntls-key-file {key}\ntls-ca-cert-file {ca}\n\
             tls-auth-clients optional\ntls-replication yes\n\
             sentinel monitor {master} 127.0.0.1 {primary} 1\n\
             sentinel auth-user {master} sampark\nsentinel auth-pass {master} {SENTINEL_PW}\n",
            dir = dir.path("").display(),
            cert = cert.display(),
            key = key.display(),
            ca = ca_file.display(),
        ),
    )
    .unwrap();
    let child = Command::new("redis-server")
        .arg(&conf)
        .arg("--sentinel")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server must be installed (see .ci/run)");
    (Guard(child), port)
}

const SENTINEL_PW: &str = "sentinel-test-pw";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_runs_through_sentinels_over_tls_as_an_acl_user() {
    let ca = TestCa::new("sentinel CA");
    let dir = TlsDir::new();
    let redis = tls_redis(&ca, &dir, "optional");
    let ca_file = dir.write("ca.pem", &ca.pem());
    let tls = ClientTls::from_files(Some(&ca_file), None, None).unwrap();
    // The primary knows only `sampark`: `default` is off, so a login
    // without the user name fails.
    let admin = redis::Client::build_with_tls(redis.url(), tls.redis_certificates()).unwrap();
    let mut conn = admin.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("ACL")
        .arg(&["SETUSER", "sampark", "on", &format!(">{SENTINEL_PW}")][..])
        .arg(&["~*", "&*", "+@all"][..])
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: () = redis::cmd("ACL")
        .arg(&["SETUSER", "default", "off"][..])
        .query_async(&mut conn)
        .await
        .unwrap();
    drop(conn);
    let master = "sampark-tls";
    let (_sentinel, sentinel_port) = tls_sentinel(&ca, &dir, redis.port, master);
    let target = |username: Option<&str>, tls: bool| Target::Sentinel {
        sentinels: vec![("127.0.0.1".to_owned(), sentinel_port)],
        master: master.to_owned(),
        sentinel_auth: Auth::default(),
        auth: Auth {
            username: username.map(str::to_owned),
            password: Some(SENTINEL_PW.to_owned()),
        },
        db: 0,
        tls,
    };
    let connect = |target: Target, tls: ClientTls| async move {
        RedisStore::connect_over(&target, &tls, "sampark", 16, Timeouts::default())
            .await
            .map_err(|e| e.to_string())
    };
    // The Sentinel has found the primary once it names it.
    let store = eventually(WAIT, "the sentinel to name the primary", || {
        let (target, tls) = (target(Some("sampark"), true), tls.clone());
        async move { connect(target, tls).await.ok() }
    })
    .await;

    campaign_completes(store, 8, "sentinel-tls", 4).await;

    // Plain TCP to a TLS Sentinel, another CA, or the `default` user: refused.
    let other = dir.write("other.pem", &TestCa::new("another CA").pem());
    for (what, target, tls) in [
        ("plain TCP", target(Some("sampark"), false), tls.clone()),
        (
            "another CA",
            target(Some("sampark"), true),
            ClientTls::from_files(Some(&other), None, None).unwrap(),
        ),
        ("no ACL user", target(None, true), tls.clone()),
    ] {
        let refused = tokio::time::timeout(WAIT, connect(target, tls))
            .await
            .expect("refused in time");
        assert!(refused.is_err(), "{what}: connected");
    }
}
