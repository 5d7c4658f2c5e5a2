//! The real `sampark` binary, run by tests: its command line, a child that
//! dies with the test, `campaign submit`, and the intake stream it writes.

use std::path::Path;
use std::process::{Child, Command, Output};

use serde_json::Value;

use super::redis_server::RedisServer;

/// The built binary, in the repository's root, without the developer's
/// `SAMPARK__*` overrides (tests never inherit them).
pub fn sampark() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sampark"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    for (k, _) in std::env::vars() {
        if k.starts_with("SAMPARK__") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// Runs `cmd` to the end and returns what it printed.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("sampark runs")
}

/// Kills the child on drop, so a failing test leaves no process behind.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `campaign submit FILE [extra…]` against `redis`; (exit code, stdout, stderr).
pub fn submit(redis: &RedisServer, file: &Path, extra: &[&str]) -> (i32, String, String) {
    let out = run(sampark()
        .args(["campaign", "submit"])
        .arg(file)
        .args(extra)
        .args(["--redis", &redis.url()]));
    (
        out.status.code().expect("exited"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every document on the intake stream, in order, read without consuming it.
pub async fn intake_documents(redis: &RedisServer) -> Vec<Value> {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg("sampark:campaigns")
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    reply
        .ids
        .iter()
        .map(|e| serde_json::from_str(&e.get::<String>("campaign").unwrap()).unwrap())
        .collect()
}
