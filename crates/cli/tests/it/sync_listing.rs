//! A poll's listing reaches the queue in member-key order: the first page at
//! once (so the workers start), the rest gathered and sorted, whatever order
//! the AMS lists in. Claims then walk the keys, and the queue's own rows sit
//! in the order they are claimed.

use amsync_core::queue::QueueState;
use amsync_sim::{FaultKind, Faults, Method, TargetedFault};
use amsync_store::QueueStore;
use amsync_sync::PollMode;
use serde_json::Value;

use crate::helpers::{AppOptions, TestApp};

/// The AMS's complete listing page by page: each page's keys, in the order
/// it lists them, and the cursor the page names next.
pub(crate) async fn listing_pages(app: &TestApp) -> Vec<(Vec<String>, Option<String>)> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{}/members/changed", app.sim.base_url());
        if let Some(c) = &cursor {
            url.push_str(&format!("?cursor={c}"));
        }
        let page: Value = app.client.get(&url).send().await.unwrap().json().await.unwrap();
        let keys = page["changed"].as_array().unwrap().iter().map(|c| c["key"].as_str().unwrap().to_string());
        cursor = page["next_cursor"].as_str().filter(|c| !c.is_empty()).map(str::to_string);
        pages.push((keys.collect(), cursor.clone()));
        if cursor.is_none() {
            return pages;
        }
    }
}

/// The keys of the AMS's complete listing, in the order it lists them.
async fn listing_order(app: &TestApp) -> Vec<String> {
    listing_pages(app).await.into_iter().flat_map(|(keys, _)| keys).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_is_enqueued_in_key_order_after_its_first_page() {
    let page_size = 100;
    let app = TestApp::spawn_with(AppOptions { members: 600, page_size, workers: 4, ..AppOptions::default() }).await;
    let listed = listing_order(&app).await;
    assert_eq!(listed.len(), 600);
    let rest = &listed[page_size..];
    assert!(rest.windows(2).any(|w| w[0] > w[1]), "the simulator lists in an order unrelated to keys");

    // Hold every refresh at its details call, so the queue is read as the
    // listing left it.
    app.set_faults(Faults {
        hang_ms: 1_500,
        targeted: vec![TargetedFault { key: None, method: Some(Method::Details), fault: FaultKind::Hang, count: None }],
        ..Faults::default()
    });
    let report = app.engine.poll_members(PollMode::Full).await.unwrap();
    assert!(report.complete);
    assert_eq!(report.enqueued, 600);
    let entries = app.store.list_queue(None, 1_000, None).await.unwrap();
    assert_eq!(entries.len(), 600, "nothing settles while the details calls hang");
    assert!(entries.iter().any(|e| e.state == QueueState::Running), "the workers started on the first page");
    let (first, later) = entries.split_at(page_size);
    let mut first_keys: Vec<&str> = first.iter().map(|e| e.key.as_str()).collect();
    let later_keys: Vec<&str> = later.iter().map(|e| e.key.as_str()).collect();
    first_keys.sort_unstable();
    let mut first_listed: Vec<&str> = listed[..page_size].iter().map(String::as_str).collect();
    first_listed.sort_unstable();
    assert_eq!(first_keys, first_listed, "the first page is enqueued on its own, first");
    assert!(later_keys.windows(2).all(|w| w[0] < w[1]), "the rest in key order: {later_keys:?}");

    app.clear_faults();
    let run = app.wait_run(report.run_id).await;
    assert_eq!((run.counts.created, run.counts.failed), (600, 0), "{run:?}");
    assert_eq!((run.counts.pages, run.counts.listed, run.counts.enqueued), (6, 600, 600), "{run:?}");
    app.stop().await;
}
