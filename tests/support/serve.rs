//! `sampark serve` as a child process, as an operator runs it: the
//! repository's configuration at test speed, JSON logs to a file, killed
//! when the test ends; and, for a test of what a daemon survives, the same
//! process under a memory cap.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use super::cli::sampark;
use super::daemon::CITIZEN_KEY_SECRET;
use super::redis_server::free_port;

pub const SID: &str = "ACserve000000000000000000000serve0";
pub const TOKEN: &str = "serve-token";
const WAIT: Duration = Duration::from_secs(90);

/// Kills the child on drop, so a failing test leaves no process behind.
pub struct Serve {
    pub child: Child,
    pub admin: SocketAddr,
    pub log: PathBuf,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serve {
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, then the exit status.
    pub async fn stop(&mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        let child = &mut self.child;
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(tokio::time::Instant::now() < deadline, "serve did not stop");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The `serve` command with the repository's configuration at test speed,
/// calling `simulator`, reaching Redis at `redis_url`, `extra` settings
/// over it; and the admin address it will listen on.
pub fn serve_command(
    redis_url: &str,
    simulator: &str,
    extra: &[(&str, &str)],
) -> (Command, SocketAddr) {
    let webhook_port = free_port();
    let admin: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut cmd = sampark();
    cmd.args(["serve", "--config", "config/sampark.toml"])
        .env("SAMPARK__REDIS__URL", redis_url)
        .env("SAMPARK__POLICY__CITIZEN_KEY_SECRET", CITIZEN_KEY_SECRET)
        .env("SAMPARK__PROVIDER__BASE_URL", simulator)
        .env("SAMPARK__PROVIDER__ACCOUNT_SID", SID)
        .env("SAMPARK__PROVIDER__AUTH_TOKEN", TOKEN)
        .env("SAMPARK__PROVIDER__CHOICE_HINTS", "true")
        .env("SAMPARK__PROVIDER__CALLS_PER_SECOND", "50")
        .env(
            "SAMPARK__WEBHOOK__LISTEN",
            format!("127.0.0.1:{webhook_port}"),
        )
        .env(
            "SAMPARK__WEBHOOK__PUBLIC_URL",
            format!("http://127.0.0.1:{webhook_port}"),
        )
        .env("SAMPARK__ADMIN__LISTEN", admin.to_string())
        .env("SAMPARK__POLICY__CALLING_WINDOW__RANGES", "00:00-24:00")
        .env("SAMPARK__DIALER__RETRY_BACKOFF_SECS", "1")
        .env("SAMPARK__RATE__DEFAULT__PER_SECS", "0.05")
        .env("SAMPARK__POLICY__MAX_CALLS_PER_CITIZEN_PER_DAY", "10")
        .env("SAMPARK__LOG__FORMAT", "json");
    for (k, v) in extra {
        cmd.env(k, v);
    }
    (cmd, admin)
}

/// Starts `cmd`, its log (stderr) to `log`.
pub fn spawn(mut cmd: Command, admin: SocketAddr, log: PathBuf) -> Serve {
    let file = std::fs::File::create(&log).unwrap();
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::from(file))
        .spawn()
        .unwrap();
    Serve { child, admin, log }
}

/// `serve_command`, started, its JSON log in `log`.
pub fn serve(redis_url: &str, simulator: &str, log: PathBuf, extra: &[(&str, &str)]) -> Serve {
    let (cmd, admin) = serve_command(redis_url, simulator, extra);
    spawn(cmd, admin, log)
}

/// `cmd` run by `prlimit` with at most `bytes` of address space: an
/// allocation past it fails, and the process dies of it as it would of
/// running out of memory.
pub fn under_memory_cap(cmd: &Command, bytes: u64) -> Command {
    let mut capped = Command::new("prlimit");
    capped
        .arg(format!("--as={bytes}"))
        .arg("--")
        .arg(cmd.get_program())
        .args(cmd.get_args());
    if let Some(dir) = cmd.get_current_dir() {
        capped.current_dir(dir);
    }
    for (key, value) in cmd.get_envs() {
        match value {
            Some(value) => capped.env(key, value),
            None => capped.env_remove(key),
        };
    }
    capped
}
