//! The session-variable round trip in a real browser: headless Chromium
//! driven over WebDriver (the shared harness, `crate::browser`), following
//! the real redirects and cookies through the simulated association's login
//! page. A screenshot of the signed-in page is written under `target/`.

use std::time::Duration;

use amsync_web::sso::SsoMode;

use super::helpers::*;
use crate::browser::Browser;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_signs_in_through_the_association_page_in_chromium() {
    let _heavy = crate::helpers::HEAVY.lock().await;
    let app = TestApp::spawn(Options::new(SsoMode::SessionVariable)).await;
    let browser = Browser::start().await;
    let run = async {
        browser.goto(&app.at("/login?ReturnUrl=%2Fme")).await;
        // Redirected to the association's page.
        browser.wait_until("document.getElementById('member') !== null", Duration::from_secs(10)).await;
        let here = browser.client.current_url().await.unwrap();
        assert!(here.as_str().starts_with(app.demo.as_str()), "{here}");
        browser.fill("#member", "M000017").await;
        browser.click("#sign-in").await;
        // Back on amsync, through the callback, on the final URL.
        browser.wait_until("document.getElementById('groups') !== null", Duration::from_secs(10)).await;
        let here = browser.client.current_url().await.unwrap();
        assert_eq!(here.as_str(), app.at("/me"), "the final URL, without the token");
        let page = browser.client.source().await.unwrap();
        assert!(page.contains("Signed in") && page.contains("M000017"), "{page}");
        assert!(browser.text("#groups").await.contains("Authenticated"));
        browser.screenshot("sso-signed-in").await;
        // The session is in the store, and sign-out ends it.
        let sessions =
            app.store.read(|c| Ok(c.query_row("SELECT COUNT(*) FROM sessions", [], |r| r.get::<_, i64>(0))?));
        assert_eq!(sessions.await.unwrap(), 1);
        browser.click("form[action='/logout'] button").await;
        browser
            .wait_until(
                "[...document.querySelectorAll('h1')].some(h => h.textContent === 'Signed out')",
                Duration::from_secs(10),
            )
            .await;
        browser.goto(&app.at("/me")).await;
        assert!(browser.client.source().await.unwrap().contains("Not signed in"));
        browser.assert_no_console_errors("sign-on pages").await;
    };
    tokio::time::timeout(Duration::from_secs(60), run).await.expect("the browser test finished in time");
    browser.stop().await;
    app.shutdown().await;
}
