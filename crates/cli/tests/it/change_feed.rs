//! The change feed the community site follows (`GET /api/v1/changes`):
//! commit order, an opaque cursor, disables as tombstones, and a follower
//! that misses nothing while refreshes commit concurrently.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use amsync_core::Trigger;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{key, AppOptions, TestApp, SITE_TOKEN};

/// One page after `cursor` (the start when empty), as the site token.
async fn page(client: &reqwest::Client, base: &str, cursor: &str, limit: usize) -> Value {
    let resp = client
        .get(format!("{base}/api/v1/changes"))
        .query(&[("after", cursor), ("limit", &limit.to_string())])
        .bearer_auth(SITE_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

/// Every item after `cursor`, in pages of `limit`; and the cursor at the end.
async fn drain(client: &reqwest::Client, base: &str, cursor: &str, limit: usize) -> (Vec<Value>, String) {
    let mut cursor = cursor.to_string();
    let mut items = Vec::new();
    loop {
        let p = page(client, base, &cursor, limit).await;
        let changes = p["changes"].as_array().unwrap();
        assert!(changes.len() <= limit);
        items.extend(changes.iter().cloned());
        cursor = p["next_cursor"].as_str().unwrap().to_string();
        if p["more"] == false {
            return (items, cursor);
        }
    }
}

fn keys(items: &[Value]) -> Vec<String> {
    items.iter().map(|i| i["key"].as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_pages_in_commit_order_with_disables_as_tombstones() {
    let app = TestApp::spawn_with(AppOptions { members: 50, ..AppOptions::default() }).await;
    app.full_refresh().await;
    let (items, cursor) = drain(&app.client, &app.base, "", 7).await;
    assert_eq!(items.len(), 50);
    assert!(items.iter().all(|i| i["kind"] == "created" && i["tombstone"] == false), "{items:?}");
    let mut seen = keys(&items);
    seen.sort();
    seen.dedup();
    assert_eq!(seen, (1..=50).map(|i| format!("M{i:06}")).collect::<Vec<_>>());

    // Caught up: an empty page hands the same cursor back.
    let p = page(&app.client, &app.base, &cursor, 10).await;
    assert_eq!(
        (p["changes"].clone(), p["next_cursor"].as_str(), p["more"].clone()),
        (serde_json::json!([]), Some(cursor.as_str()), false.into())
    );

    app.sim.change("M000003", &amsync_sim::ChangeRequest::default()).unwrap();
    app.refresh_keys(&["M000003"]).await;
    app.sim.delete("M000004").unwrap();
    app.refresh_keys(&["M000004"]).await;
    let (items, _) = drain(&app.client, &app.base, &cursor, 10).await;
    let shape: Vec<(String, String, bool)> = items
        .iter()
        .map(|i| {
            (i["key"].as_str().unwrap().into(), i["kind"].as_str().unwrap().into(), i["tombstone"].as_bool().unwrap())
        })
        .collect();
    assert_eq!(
        shape,
        [("M000003".into(), "changed".into(), false), ("M000004".into(), "disabled".into(), true)],
        "in commit order; a disable is a tombstone"
    );

    for bad in ["42", "c", "cZZ", "c-5"] {
        let (status, body) = app.get_as(&format!("/api/v1/changes?after={bad}"), Some(SITE_TOKEN)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_misses_nothing_while_refreshes_commit_concurrently() {
    let app = TestApp::spawn().await;
    app.full_refresh().await;
    let (_, start) = drain(&app.client, &app.base, "", 1000).await;

    // The site follows the feed in small pages the whole time.
    let done = Arc::new(AtomicBool::new(false));
    let follower = {
        let (client, base, start, done) = (app.client.clone(), app.base.clone(), start.clone(), done.clone());
        tokio::spawn(async move {
            let mut cursor = start;
            let mut items = Vec::new();
            let mut polls = 0u32;
            loop {
                let finished = done.load(Ordering::SeqCst);
                let (got, next) = drain(&client, &base, &cursor, 5).await;
                polls += 1;
                let empty = got.is_empty();
                items.extend(got);
                cursor = next;
                if finished && empty {
                    return (items, polls);
                }
            }
        })
    };

    // Four runs of changed members, refreshed by 16 workers at once.
    let mut runs = Vec::new();
    for _ in 0..4 {
        let changed: Vec<_> = app.sim.churn(40).iter().map(|k| key(k)).collect();
        runs.push(app.engine.refresh_keys(&changed, Trigger::Webhook, Value::Null).await.unwrap());
    }
    for run in runs {
        app.wait_run(run).await;
    }
    done.store(true, Ordering::SeqCst);
    let (followed, polls) = follower.await.unwrap();

    let (all, _) = drain(&app.client, &app.base, &start, 1000).await;
    assert!(!all.is_empty());
    assert_eq!(followed, all, "the follower saw every item, once, in order ({polls} polls)");
    app.stop().await;
}
