//! Initial load: 1,000 members equal the simulator's truth, field by field,
//! in both encodings.

use amsync_ams::HttpEncoding;

use crate::helpers::{assert_matches_truth, AppOptions, TestApp, HEAVY};

async fn initial_load(encoding: HttpEncoding) {
    let _heavy = HEAVY.lock().await;
    let app = TestApp::spawn_with(AppOptions { members: 1000, encoding, ..AppOptions::default() }).await;
    let (report, run) = app.full_refresh().await;
    assert!(report.complete);
    assert_eq!(report.listed, 1000);
    assert_eq!(run.counts.created, 1000, "{run:?}");
    assert_eq!(run.counts.failed + run.counts.dead, 0, "{run:?}");
    assert_matches_truth(&app).await;
    // A listing of everything sets the watermark.
    assert!(report.watermark_after.is_some());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_load_equals_truth_json() {
    initial_load(HttpEncoding::Json).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_load_equals_truth_xml() {
    initial_load(HttpEncoding::Xml).await;
}

/// `ams.http_version = "2"`: the same load over HTTP/2 without TLS (prior
/// knowledge), every call on it, and the same truth.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_load_over_http2_equals_truth() {
    let _heavy = HEAVY.lock().await;
    let options = AppOptions { http_version: amsync_ams::HttpVersion::Http2, ..AppOptions::default() };
    let app = TestApp::spawn_with(options).await;
    app.sim.sim().reset_stats();
    let (report, run) = app.full_refresh().await;
    assert_eq!(run.counts.created, 200, "{run:?}");
    assert_eq!(run.counts.failed + run.counts.dead, 0, "{run:?}");
    assert!(report.complete);
    let stats = app.sim.sim().stats();
    assert_eq!(stats.details + stats.communities + stats.security_groups, 600);
    assert_eq!(stats.http2_requests, stats.requests_total, "{stats:?}");
    assert_matches_truth(&app).await;
    app.stop().await;
}

/// The default (`auto`) speaks HTTP/1.1 to a plain http:// AMS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_defaults_to_http1() {
    let app = TestApp::spawn().await;
    app.sim.sim().reset_stats();
    app.full_refresh().await;
    let stats = app.sim.sim().stats();
    assert_eq!(stats.http2_requests, 0, "{stats:?}");
    assert!(stats.requests_total >= 600, "{stats:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unchanged_rerun_writes_nothing_but_bookkeeping() {
    let app = TestApp::spawn().await;
    app.full_refresh().await;
    let before = row_counts(&app).await;
    let (_, run) = app.full_refresh().await;
    assert_eq!(run.counts.unchanged, 200, "{run:?}");
    assert_eq!(row_counts(&app).await, before, "an unchanged re-run wrote member, child or history rows");
    app.stop().await;
}

async fn row_counts(app: &TestApp) -> Vec<(String, i64, Option<i64>)> {
    app.store
        .read(|c| {
            let mut out = Vec::new();
            for (t, stamp) in [
                ("members", Some("updated_at")),
                ("memberships", None),
                ("member_ams_groups", None),
                ("member_history", Some("id")),
                ("change_feed", Some("seq")),
                (
                    "member_payloads",
                    Some("max(coalesce(details_at, 0), coalesce(communities_at, 0), coalesce(groups_at, 0))"),
                ),
            ] {
                let n: i64 = c.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))?;
                let max: Option<i64> = match stamp {
                    Some(col) => c.query_row(&format!("SELECT max({col}) FROM {t}"), [], |r| r.get(0))?,
                    None => None,
                };
                out.push((t.to_string(), n, max));
            }
            Ok(out)
        })
        .await
        .unwrap()
}
