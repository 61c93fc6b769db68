//! The dashboard in headless Chromium, fed by the simulated AMS: signing
//! in, every page without a console error, live figures without a reload,
//! the requeue and refresh buttons, a phone-sized screen, and screenshots
//! of the overview and a member page under `target/tmp/screenshots/`.

use std::time::Duration;

use amsync_sim::{ChangeRequest, FaultKind, Faults, Method, TargetedFault};
use amsync_store::{QueueStore, RunFilter, RunStore};
use serde_json::json;

use crate::browser::Browser;
use crate::helpers::{AppOptions, TestApp, ADMIN_TOKEN, HEAVY};

const DEAD: &str = "M000004";
const CHANGED: &str = "M000003";

async fn scenario(app: &TestApp, b: &Browser) {
    let base = &app.base;

    // Signing in: the dashboard sends us to the form, and back.
    b.goto(&format!("{base}/admin/members/{CHANGED}")).await;
    assert!(b.current_path().await.starts_with("/admin/login"), "signed out, the dashboard asks for the token");
    b.assert_no_console_errors("the sign-in form").await;
    b.fill("#token", ADMIN_TOKEN).await;
    b.click("button[type=submit]").await;
    b.wait_until(&format!("location.pathname === '/admin/members/{CHANGED}'"), Duration::from_secs(10)).await;

    // The member page shows the change made in the AMS, field by field.
    let history = b.text("ol.history").await;
    assert!(history.contains("/last_name") && history.contains("Lovelace-Byron"), "{history}");
    b.assert_no_console_errors("the member page").await;
    // Tall enough to show the history too.
    b.resize(1280, 1900).await;
    let shot = b.screenshot("member").await;
    b.resize(1280, 1000).await;
    assert!(std::fs::metadata(&shot).unwrap().len() > 10_000, "a real picture: {}", shot.display());

    // The overview, with live figures: a pause made elsewhere shows without a reload.
    b.goto(&format!("{base}/admin")).await;
    b.wait_until("document.querySelector('[data-field=\"queue.dead\"]').textContent === '1'", Duration::from_secs(5))
        .await;
    b.client.execute("window.__same_page = true;", vec![]).await.unwrap();
    app.engine.pause("admin").await.unwrap();
    b.wait_until(
        "document.querySelector('[data-live-flag]').textContent === 'paused' && \
         !document.querySelector('[data-show-when=\"paused_not_quarantined\"]').hidden",
        Duration::from_secs(12),
    )
    .await;
    let same = b.client.execute("return window.__same_page === true;", vec![]).await.unwrap();
    assert_eq!(same, json!(true), "updated in place, not reloaded");
    app.engine.resume().await.unwrap();
    b.wait_until("document.querySelector('[data-live-flag]').textContent === 'running'", Duration::from_secs(12)).await;
    b.assert_no_console_errors("the overview").await;
    b.screenshot("overview").await;

    // Every other page loads cleanly.
    let runs = app.store.list_runs(&RunFilter { limit: 1, ..Default::default() }).await.unwrap();
    let run_id = runs.first().map(|r| r.id).expect("a run");
    for path in [
        "/admin/queue?state=retrying".to_string(),
        "/admin/runs".into(),
        "/admin/runs?kind=full&outcome=succeeded".into(),
        format!("/admin/runs/{run_id}"),
        "/admin/members?q=m00000".into(),
        "/admin/audit".into(),
    ] {
        b.goto(&format!("{base}{path}")).await;
        b.wait_until("document.readyState === 'complete'", Duration::from_secs(5)).await;
        b.assert_no_console_errors(&path).await;
    }

    // Requeue a dead letter by clicking its button.
    b.goto(&format!("{base}/admin/queue?state=dead")).await;
    let row = b.text(&format!("tr[data-key=\"{DEAD}\"]")).await;
    assert!(row.contains("AMS response excerpt"), "the failure shows its excerpt: {row}");
    app.clear_faults();
    b.click(&format!("tr[data-key=\"{DEAD}\"] button.requeue")).await;
    b.wait_until("location.search.includes('done=requeued')", Duration::from_secs(10)).await;
    assert!(b.text(".notice").await.contains("1 entries were requeued"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while app.store.queue_counts().await.unwrap().dead > 0 {
        assert!(tokio::time::Instant::now() < deadline, "the requeued entry left the dead letters");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    b.assert_no_console_errors("the queue page").await;

    // Refresh a member by clicking: the run page follows the progress live.
    b.goto(&format!("{base}/admin/members/M000002")).await;
    b.click("#refresh-member").await;
    b.wait_until("location.pathname.startsWith('/admin/runs/')", Duration::from_secs(10)).await;
    b.wait_until("document.querySelector('[data-run-done]') !== null", Duration::from_secs(20)).await;
    let outcome = b.text("[data-field=\"outcome\"]").await;
    assert_eq!(outcome, "succeeded");
    assert_eq!(b.text("[data-field=\"pending\"]").await, "0");
    b.assert_no_console_errors("a run's page").await;

    // A phone: no sideways scrolling of the page itself.
    b.resize(390, 844).await;
    b.goto(&format!("{base}/admin")).await;
    let fits = b.client.execute("return document.documentElement.scrollWidth <= window.innerWidth + 1;", vec![]).await;
    assert_eq!(fits.unwrap(), json!(true), "the overview fits a phone's width");
    b.screenshot("overview-phone").await;
    b.assert_no_console_errors("the overview on a phone").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_works_in_a_browser() {
    let _heavy = HEAVY.lock().await;
    let app = TestApp::spawn_with(AppOptions { members: 30, max_attempts: 2, ..AppOptions::default() }).await;
    app.full_refresh().await;
    app.engine.probe_ams().await;
    let change = ChangeRequest {
        details: Some(json!({"last_name": "Lovelace-Byron"}).as_object().unwrap().clone()),
        ..ChangeRequest::default()
    };
    app.sim.sim().change(CHANGED, &change).unwrap();
    app.refresh_keys(&[CHANGED]).await;
    app.set_faults(Faults {
        targeted: vec![TargetedFault {
            key: Some(DEAD.into()),
            method: Some(Method::Details),
            fault: FaultKind::Malformed,
            count: None,
        }],
        ..Faults::default()
    });
    app.refresh_keys(&[DEAD]).await;

    let browser = Browser::start().await;
    let result = tokio::time::timeout(Duration::from_secs(150), scenario(&app, &browser)).await;
    browser.stop().await;
    result.expect("the browser scenario finishes within 150 s");
    app.stop().await;
}
