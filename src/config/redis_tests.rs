//! `[redis]`: the three modes load from the file and the environment, each
//! is checked for what it needs, and each names the target the store
//! connects to.

use std::io::Write;

use super::load::load;
use super::sections::RedisMode;
use crate::config::ConfigProblem;
use crate::store::redis::Target;

const CREDS: &[(&str, &str)] = &[
    ("SAMPARK__PROVIDER__ACCOUNT_SID", "ACtest"),
    ("SAMPARK__PROVIDER__AUTH_TOKEN", "tok"),
];

fn loaded(text: &str, vars: &[(&str, &str)]) -> Result<super::Settings, Vec<ConfigProblem>> {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    let env = CREDS
        .iter()
        .chain(vars)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect::<Vec<_>>();
    load(f.path(), env).map_err(|e| e.problems().to_vec())
}

fn keys(problems: &[ConfigProblem]) -> Vec<&str> {
    problems.iter().filter_map(ConfigProblem::key).collect()
}

#[test]
fn sentinel_mode_loads_and_names_its_target() {
    let s = loaded(
        "[redis]\nmode = \"sentinel\"\nsentinels = [\"10.0.0.1:26379\", \"sentinel-b:26380\"]\n\
         sentinel_master = \"sampark\"\nsentinel_master_password = \"pw\"\n",
        &[],
    )
    .unwrap();
    assert_eq!(s.redis.mode, RedisMode::Sentinel);
    let Target::Sentinel {
        sentinels,
        master,
        sentinel_auth,
        auth,
        tls,
        ..
    } = s.redis.target()
    else {
        panic!("a sentinel target");
    };
    assert_eq!(
        sentinels,
        vec![
            ("10.0.0.1".to_owned(), 26379),
            ("sentinel-b".to_owned(), 26380)
        ]
    );
    assert_eq!(master, "sampark");
    assert_eq!(sentinel_auth.username, None);
    assert_eq!(sentinel_auth.password, None);
    assert_eq!(auth.username, None);
    assert_eq!(auth.password.as_deref(), Some("pw"));
    assert!(!tls, "plain TCP unless redis.sentinel_tls");
    assert!(!s.redis.shown().contains("pw"), "{}", s.redis.shown());
}

#[test]
fn cluster_nodes_come_from_the_environment_as_a_list() {
    let s = loaded(
        "[redis]\nmode = \"cluster\"\nshards = 64\n",
        &[(
            "SAMPARK__REDIS__CLUSTER_NODES",
            "redis://:secret@10.0.0.1:7000/,redis://10.0.0.2:7000/",
        )],
    )
    .unwrap();
    let Target::Cluster { nodes } = s.redis.target() else {
        panic!("a cluster target");
    };
    assert_eq!(nodes.len(), 2);
    assert_eq!(s.redis.shards, 64);
    let shown = s.redis.shown();
    assert!(
        shown.contains("10.0.0.2:7000") && !shown.contains("secret"),
        "{shown}"
    );
}

#[test]
fn each_mode_is_refused_without_what_it_needs() {
    let problems = loaded(
        "[redis]\nmode = \"sentinel\"\nsentinels = [\"nohost\"]\n",
        &[],
    )
    .unwrap_err();
    let named = keys(&problems);
    assert!(named.contains(&"redis.sentinels"), "{problems:?}");
    assert!(named.contains(&"redis.sentinel_master"), "{problems:?}");

    let problems = loaded("[redis]\nmode = \"cluster\"\n", &[]).unwrap_err();
    assert_eq!(keys(&problems), vec!["redis.cluster_nodes"], "{problems:?}");

    let problems = loaded(
        "[redis]\nmode = \"cluster\"\ncluster_nodes = [\"http://:pw@h:1/\"]\n",
        &[],
    )
    .unwrap_err();
    assert_eq!(keys(&problems), vec!["redis.cluster_nodes"]);
    assert!(!format!("{problems:?}").contains(":pw@"), "{problems:?}");

    let problems = loaded("[redis]\nmode = \"replicated\"\n", &[]).unwrap_err();
    assert_eq!(keys(&problems), vec!["redis.mode"], "{problems:?}");
}

#[test]
fn a_wait_longer_than_the_reply_timeout_is_refused() {
    let ok = loaded("[redis]\nwait_replicas = 1\nwait_timeout_ms = 200\n", &[]).unwrap();
    assert_eq!(ok.redis.wait_replicas, 1);
    let problems = loaded(
        "[redis]\nwait_replicas = 1\nwait_timeout_ms = 2000\nresponse_timeout_ms = 2000\n",
        &[],
    )
    .unwrap_err();
    assert_eq!(
        keys(&problems),
        vec!["redis.wait_timeout_ms"],
        "{problems:?}"
    );
    // Without replicas to wait for, the timeout is not used.
    assert!(loaded("[redis]\nwait_timeout_ms = 0\n", &[]).is_ok());
}

#[test]
fn redis_tls_is_taken_only_with_rediss_urls_and_its_paths_are_resolved() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sampark.toml");
    std::fs::write(
        &file,
        "[redis]\nurl = \"rediss://cache:6380/\"\n[redis.tls]\nca_path = \"tls/ca.pem\"\n\
         client_cert_path = \"tls/client.pem\"\nclient_key_path = \"/abs/client.key\"\n",
    )
    .unwrap();
    let env = CREDS.iter().map(|(k, v)| (k.to_string(), v.to_string()));
    let s = load(&file, env.collect::<Vec<_>>()).unwrap();
    let dir = std::path::absolute(dir.path()).unwrap();
    assert_eq!(s.redis.tls.ca_path, Some(dir.join("tls/ca.pem")));
    assert_eq!(
        s.redis.tls.client_cert_path,
        Some(dir.join("tls/client.pem"))
    );
    assert_eq!(
        s.redis.tls.client_key_path,
        Some(std::path::PathBuf::from("/abs/client.key"))
    );

    // On a plain URL the CA would be ignored: refused instead.
    let problems = loaded("[redis.tls]\nca_path = \"/ca.pem\"\n", &[]).unwrap_err();
    assert_eq!(keys(&problems), vec!["redis.tls"], "{problems:?}");
    let problems = loaded(
        "[redis]\nmode = \"cluster\"\ncluster_nodes = [\"rediss://a:1/\", \"redis://b:1/\"]\n\
         [redis.tls]\nca_path = \"/ca.pem\"\n",
        &[],
    )
    .unwrap_err();
    assert_eq!(keys(&problems), vec!["redis.tls"], "{problems:?}");
    // A client certificate without its key.
    let problems = loaded(
        "[redis]\nurl = \"rediss://h:1/\"\n[redis.tls]\nclient_cert_path = \"/c.pem\"\n",
        &[],
    )
    .unwrap_err();
    assert_eq!(keys(&problems), vec!["redis.tls"], "{problems:?}");
    let problems = loaded(
        "[redis]\nmode = \"sentinel\"\nsentinels = [\"s:26379\"]\nsentinel_master = \"m\"\n\
         [redis.tls]\nca_path = \"/ca.pem\"\n",
        &[],
    )
    .unwrap_err();
    assert_eq!(keys(&problems), vec!["redis.tls"], "{problems:?}");
    // ... taken once the Sentinels are reached over TLS.
    let s = loaded(
        "[redis]\nmode = \"sentinel\"\nsentinels = [\"s:26379\"]\nsentinel_master = \"m\"\n\
         sentinel_tls = true\nsentinel_master_username = \"sampark\"\n\
         [redis.tls]\nca_path = \"/ca.pem\"\n",
        &[],
    )
    .unwrap();
    let Target::Sentinel { auth, tls, .. } = s.redis.target() else {
        panic!("a sentinel target");
    };
    assert!(tls);
    assert_eq!(auth.username.as_deref(), Some("sampark"));
    // rediss:// alone (the built-in roots) needs no [redis.tls].
    assert!(loaded("[redis]\nurl = \"rediss://h:6380/\"\n", &[]).is_ok());
    let cluster = "[redis]\nmode = \"cluster\"\ncluster_nodes = [\"rediss://a:1/\"]\n\
                   [redis.tls]\nca_path = \"/ca.pem\"\n";
    assert!(loaded(cluster, &[]).is_ok());
}

#[test]
fn the_admin_listener_takes_tls_paths_as_the_webhook_listener_does() {
    let problems = loaded("[admin.tls]\ncert_path = \"/c.pem\"\n", &[]).unwrap_err();
    assert_eq!(keys(&problems), vec!["admin.tls"], "{problems:?}");
    let s = loaded(
        "[admin.tls]\ncert_path = \"/c.pem\"\nkey_path = \"/k.pem\"\n",
        &[],
    )
    .unwrap();
    assert!(s.admin.tls.paths().is_some());
}
