//! The session-variable round trip in a real browser: headless Chromium
//! (Debian's `chromium` and `chromium-driver`) driven over WebDriver with
//! `fantoccini`, following the real redirects and cookies through the
//! simulated association's login page. A screenshot of the signed-in page
//! is written under `target/`.

use std::process::Stdio;
use std::time::Duration;

use amsync_web::sso::SsoMode;
use fantoccini::{ClientBuilder, Locator};
use serde_json::json;
use tokio::process::{Child, Command};

use crate::helpers::*;

/// A chromedriver on a free port; killed on drop.
struct Driver {
    url: String,
    _child: Child,
}

async fn start_driver() -> Driver {
    for program in ["chromedriver", "chromium"] {
        let found = Command::new("which").arg(program).stdout(Stdio::null()).status().await.unwrap();
        assert!(found.success(), "{program} is missing: apt-get install chromium chromium-driver");
    }
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver runs");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Driver { url: format!("http://127.0.0.1:{port}"), _child: child };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("chromedriver did not start");
}

#[tokio::test]
async fn a_member_signs_in_through_the_association_page_in_chromium() {
    let _heavy = crate::HEAVY.lock().await;
    let app = TestApp::spawn(Options::new(SsoMode::SessionVariable)).await;
    let driver = start_driver().await;
    let profile = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1000,800",
                format!("--user-data-dir={}", profile.path().display()),
            ],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let c = tokio::time::timeout(
        Duration::from_secs(30),
        ClientBuilder::new(connector).capabilities(caps).connect(&driver.url),
    )
    .await
    .expect("the browser started in time")
    .expect("a WebDriver session");
    let run = async {
        c.goto(&app.at("/login?ReturnUrl=%2Fme")).await.unwrap();
        // Redirected to the association's page.
        let member = c.wait().for_element(Locator::Id("member")).await.unwrap();
        assert!(c.current_url().await.unwrap().as_str().starts_with(app.demo.as_str()));
        member.clear().await.unwrap();
        member.send_keys("M000017").await.unwrap();
        c.find(Locator::Id("sign-in")).await.unwrap().click().await.unwrap();
        // Back on amsync, through the callback, on the final URL.
        let groups = c.wait().for_element(Locator::Id("groups")).await.unwrap();
        let here = c.current_url().await.unwrap();
        assert_eq!(here.as_str(), app.at("/me"), "the final URL, without the token");
        let page = c.source().await.unwrap();
        assert!(page.contains("Signed in") && page.contains("M000017"), "{page}");
        assert!(groups.text().await.unwrap().contains("Authenticated"));
        let shot = c.screenshot().await.unwrap();
        let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("sso-browser-signed-in.png");
        std::fs::write(&out, &shot).unwrap();
        assert!(shot.starts_with(b"\x89PNG"), "a PNG screenshot");
        // The session is in the store, and sign-out ends it.
        let sessions =
            app.store.read(|c| Ok(c.query_row("SELECT COUNT(*) FROM sessions", [], |r| r.get::<_, i64>(0))?));
        assert_eq!(sessions.await.unwrap(), 1);
        c.find(Locator::Css("form[action='/logout'] button")).await.unwrap().click().await.unwrap();
        c.wait().for_element(Locator::XPath("//h1[text()='Signed out']")).await.unwrap();
        c.goto(&app.at("/me")).await.unwrap();
        assert!(c.source().await.unwrap().contains("Not signed in"));
    };
    tokio::time::timeout(Duration::from_secs(60), run).await.expect("the browser test finished in time");
    c.close().await.unwrap();
    app.shutdown().await;
}
