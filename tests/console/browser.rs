//! A real headless Chromium driven through WebDriver (Debian's `chromium`
//! and `chromium-driver`; `scripts/test.sh` installs them): chromedriver as
//! a child process on a free port, killed on drop, and sessions on it.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};
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
