//! A real headless Chromium driven through WebDriver (Debian's `chromium`
//! and `chromium-driver`; `scripts/test.sh` installs them): chromedriver as
//! a child process on a free port, killed on drop, and sessions on it.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

/// Where a program is: `$VAR`, else the first of `candidates` that exists,
/// else a failure that says how to install it (never a silent skip).
fn program(var: &str, candidates: &[&str], package: &str) -> PathBuf {
    if let Ok(path) = std::env::var(var) {
        return PathBuf::from(path);
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    for name in candidates {
        let direct = PathBuf::from(name);
        if direct.is_absolute() && direct.exists() {
            return direct;
        }
        if let Some(found) = on_path.iter().map(|d| d.join(name)).find(|p| p.exists()) {
            return found;
        }
    }
    panic!(
        "{} not found (looked for {candidates:?}, and ${var}): the console tests need a real \
         headless Chromium. Install Debian's `{package}` (scripts/test.sh does: \
         apt-get install chromium chromium-driver) or set ${var}.",
        candidates[0]
    );
}

/// chromedriver, running until dropped.
pub struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    pub fn start() -> Driver {
        let driver = program(
            "SAMPARK_CHROMEDRIVER",
            &[
                "chromedriver",
                "/usr/bin/chromedriver",
                "/usr/lib/chromium/chromedriver",
            ],
            "chromium-driver",
        );
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").expect("a free port");
            l.local_addr().unwrap().port()
        };
        let child = Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", driver.display()));
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "chromedriver did not listen on port {port} within 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// A new headless browser session; `mobile` emulates a phone's screen
    /// (390 × 844 CSS pixels), else a desktop window of `width` × `height`.
    pub async fn session(&self, width: u32, height: u32, mobile: bool) -> Client {
        let chromium = program(
            "SAMPARK_CHROMIUM",
            &[
                "chromium",
                "/usr/bin/chromium",
                "chromium-browser",
                "google-chrome",
            ],
            "chromium",
        );
        let mut options = json!({
            "binary": chromium.to_string_lossy(),
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
                "--force-device-scale-factor=1",
                format!("--window-size={width},{height}"),
            ],
        });
        if mobile {
            options["mobileEmulation"] = json!({
                "deviceMetrics": {"width": width, "height": height, "pixelRatio": 2.0, "touch": true},
                "userAgent": "Mozilla/5.0 (Linux; Android 14) sampark-console-test Mobile",
            });
        }
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), options);
        ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("cannot start a headless Chromium session: {e}"))
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where screenshots go: the README's folder when asked, else the target
/// directory.
fn screenshot_dir() -> PathBuf {
    let dir = if std::env::var("SAMPARK_SCREENSHOTS").as_deref() == Ok("docs") {
        crate::support::daemon::repo_path("docs/screenshots")
    } else {
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots")
    };
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("a screenshot");
    let path = screenshot_dir().join(format!("{name}.png"));
    std::fs::write(&path, png).unwrap();
    eprintln!("screenshot: {}", path.display());
}

/// Opens `url`, checks the page shows no phone number, returns its source.
pub async fn open(c: &Client, url: &str, phones: &[String]) -> String {
    c.goto(url).await.unwrap_or_else(|e| panic!("{url}: {e}"));
    checked_source(c, url, phones).await
}

pub async fn checked_source(c: &Client, what: &str, phones: &[String]) -> String {
    let html = c.source().await.unwrap();
    super::assert_no_phone(&html, phones, what);
    html
}

pub async fn path_of(c: &Client) -> String {
    c.current_url().await.unwrap().path().to_owned()
}

/// Polls `check` every 250 ms until it gives `Some`, or fails after `limit`.
pub async fn until<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    crate::support::eventually(limit, what, || {
        let f = check();
        async move {
            tokio::time::sleep(Duration::from_millis(250)).await;
            f.await
        }
    })
    .await
}

pub async fn text(c: &Client, css: &str) -> Option<String> {
    c.find(Locator::Css(css)).await.ok()?.text().await.ok()
}

pub async fn log_in(c: &Client, base: &str, token: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    let form = c.form(Locator::Css("form.login")).await.unwrap();
    form.set_by_name("token", token).await.unwrap();
    form.submit().await.unwrap();
}
