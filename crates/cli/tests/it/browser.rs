//! The browser harness shared by every test that looks at pages as a person
//! would: headless Chromium (Debian's `chromium`) driven through
//! `chromedriver` with a WebDriver client (fantoccini).
//!
//! [`Browser::start`] starts a chromedriver on a free loopback port and one
//! Chromium session with a fresh profile directory; [`Browser::console_errors`]
//! returns what the page logged as errors (script errors, failed loads, CSP
//! violations) since the last call; [`Browser::screenshot`] writes a PNG
//! under `target/tmp/screenshots/`. Everything is killed on drop.
//!
//! Browser tests take `helpers::HEAVY` and bound themselves in time.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Whether the browser and its driver are installed (`scripts/test.sh`
/// installs them: `apt-get install -y chromium chromium-driver`).
pub fn available() -> bool {
    std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists()
}

/// One log line of the page.
#[derive(Debug, Clone)]
pub struct ConsoleEntry {
    pub level: String,
    pub message: String,
}

/// `POST /session/{id}/se/log {"type": "browser"}`: chromedriver's log of
/// the page's console (needs `goog:loggingPrefs`).
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(json!({"type": "browser"}).to_string()))
    }
}

pub struct Browser {
    pub client: Client,
    driver: tokio::process::Child,
    _profile: tempfile::TempDir,
}

async fn free_port() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session (within 30 s).
    pub async fn start() -> Browser {
        assert!(available(), "chromium and chromium-driver are required: apt-get install -y chromium chromium-driver");
        let port = free_port().await;
        let driver = tokio::process::Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            // Its own process group, so the browsers it starts go with it.
            .process_group(0)
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        let status = format!("{url}/status");
        let http = reqwest::Client::new();
        let ready = tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                if let Ok(r) = http.get(&status).send().await {
                    if r.status().is_success() {
                        return;
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
        assert!(ready.is_ok(), "chromedriver did not answer within 20 s");
        let profile = tempfile::tempdir().unwrap();
        let args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            "--window-size=1280,1000".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
            "goog:loggingPrefs": { "browser": "ALL" },
        });
        let caps = match caps {
            Value::Object(m) => m,
            _ => unreachable!("a JSON object"),
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = tokio::time::timeout(
            Duration::from_secs(30),
            ClientBuilder::new(connector).capabilities(caps).connect(&url),
        )
        .await
        .expect("Chromium starts within 30 s")
        .expect("a WebDriver session");
        Browser { client, driver, _profile: profile }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("loading {url}: {e}"));
    }

    /// The page's console entries since the last call.
    pub async fn console(&self) -> Vec<ConsoleEntry> {
        let v = self.client.issue_cmd(BrowserLog).await.expect("the browser log");
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|e| ConsoleEntry {
                        level: e["level"].as_str().unwrap_or_default().to_string(),
                        message: e["message"].as_str().unwrap_or_default().to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Console errors (level SEVERE) since the last call.
    pub async fn console_errors(&self) -> Vec<String> {
        self.console().await.into_iter().filter(|e| e.level == "SEVERE").map(|e| e.message).collect()
    }

    /// Asserts the page logged no error since the last check.
    pub async fn assert_no_console_errors(&self, page: &str) {
        let errors = self.console_errors().await;
        assert!(errors.is_empty(), "{page} logged console errors:\n{}", errors.join("\n"));
    }

    pub async fn text(&self, css: &str) -> String {
        self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}")).text().await.unwrap()
    }

    pub async fn click(&self, css: &str) {
        self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}")).click().await.unwrap();
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let el = self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
        el.clear().await.unwrap();
        el.send_keys(value).await.unwrap();
    }

    /// Waits (up to `timeout`) until `script` (a JS expression) is true.
    pub async fn wait_until(&self, script: &str, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let v = self.client.execute(&format!("return !!({script});"), vec![]).await.unwrap();
            if v == Value::Bool(true) {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "not true within {timeout:?}: {script}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn current_path(&self) -> String {
        let u = self.client.current_url().await.unwrap();
        match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        }
    }

    /// Writes a screenshot to `target/tmp/screenshots/{name}.png`; returns the path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("a screenshot");
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, &png).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        path
    }

    /// Sets the window size (a phone is 390 x 844).
    pub async fn resize(&self, width: u32, height: u32) {
        self.client.set_window_size(width, height).await.unwrap();
    }

    /// Ends the session, then the driver and its browsers (on drop).
    pub async fn stop(self) {
        let _ = tokio::time::timeout(Duration::from_secs(10), self.client.clone().close()).await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(pid) = self.driver.id() {
            // SAFETY: kill(2) on the process group we created; no memory is touched.
            unsafe {
                libc::kill(-(pid as i32), libc::SIGKILL);
            }
        }
    }
}
