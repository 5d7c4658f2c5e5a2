//! `sampark serve` as a child process, as an operator runs it: the
//! repository's configuration at test speed, overridden through
//! `SAMPARK__*` variables, JSON logs to a file, killed on drop.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use super::daemon::CITIZEN_KEY_SECRET;
use super::redis_server::free_port;

/// The provider account `serve` is given (the simulator accepts any).
pub const SID: &str = "ACserve000000000000000000000serve0";
pub const TOKEN: &str = "serve-token";
/// The longest a daemon may take to stop.
const STOP_WAIT: Duration = Duration::from_secs(90);

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

    /// Polls `check` until it returns `Some`, while the daemon lives;
    /// panics with `what` and the daemon's log if it exits first or
    /// `timeout` passes, so that a failure says what the daemon did.
    pub async fn until<T, F, Fut>(&mut self, timeout: Duration, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let Serve { child, log, .. } = self;
        let read = || std::fs::read_to_string(&*log).unwrap_or_default();
        // An exit is told after one more look, as `check` may be met by
        // what the daemon did before it exited.
        let mut exited = None;
        let alive_and = || {
            if let Some(status) = exited {
                panic!(
                    "serve exited ({status}) before {what}; its log:\n{}",
                    read()
                );
            }
            exited = child.try_wait().unwrap();
            check()
        };
        let explain = || format!("; serve's log:\n{}", read());
        super::eventually_explained(timeout, what, explain, alive_and).await
    }

    /// SIGTERM, then the exit status.
    pub async fn stop(&mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        let child = &mut self.child;
        let deadline = tokio::time::Instant::now() + STOP_WAIT;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(tokio::time::Instant::now() < deadline, "serve did not stop");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A `sampark` command run in `cwd` that inherits none of the developer's
/// settings.
pub fn sampark_in(cwd: &Path) -> Command {
    let mut cmd = super::cli::sampark();
    cmd.current_dir(cwd);
    cmd
}

/// `serve` with the repository's configuration at test speed, JSON logs to
/// `log`, calling `simulator`, reaching Redis at `redis_url`.
pub fn serve(redis_url: &str, simulator: &str, log: PathBuf, extra: &[(&str, &str)]) -> Serve {
    let (mut cmd, admin) = serve_command(redis_url, simulator, "config/sampark.toml");
    for (k, v) in extra {
        cmd.env(k, v);
    }
    spawn(cmd, admin, log)
}

/// The command [`serve`] runs with `config` (to change before [`spawn`]),
/// and its admin address.
pub fn serve_command(redis_url: &str, simulator: &str, config: &str) -> (Command, SocketAddr) {
    let webhook_port = free_port();
    let admin: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut cmd = super::cli::sampark();
    cmd.args(["serve", "--config", config])
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
    (cmd, admin)
}

/// Starts `cmd`, its stderr (the log) to `log`.
pub fn spawn(mut cmd: Command, admin: SocketAddr, log: PathBuf) -> Serve {
    let file = std::fs::File::create(&log).unwrap();
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::from(file))
        .spawn()
        .unwrap();
    Serve { child, admin, log }
}
