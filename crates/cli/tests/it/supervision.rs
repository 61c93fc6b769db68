//! Long-lived tasks are supervised: a task that panics is logged, counted
//! in `amsync_task_restarts_total{task}`, shown in `/api/v1/sync/status`,
//! on the dashboard and by `amsync status`, and restarted after a pause.
//! And the panic that showed the need, an OAuth2 token answer with a huge
//! `expires_in` (`Instant + lifetime` overflowed and killed the periodic
//! poll for good), no longer happens: polling goes on.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use amsync_sync::TaskName;
use reqwest::StatusCode;
use tokio_util::sync::CancellationToken;

use crate::admin_client::AdminClient;
use crate::child::{self, Serve};
use crate::helpers::{AppOptions, TestApp, HEAVY};
use crate::prometheus_text;
use crate::secret_rotation::{api, change_in_the_ams, files, oauth2, oauth2_auth, sim, wait_for_the_load, MEMBERS};

async fn restarts_metric(app: &TestApp, task: &str) -> f64 {
    let text = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    let parsed = prometheus_text::parse(&text).unwrap();
    parsed.sum("amsync_task_restarts_total", &[("task", task)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_that_panics_is_restarted_and_shown_in_the_status_the_dashboard_the_metrics_and_amsync_status() {
    let app = TestApp::spawn_with(AppOptions { members: 5, ..AppOptions::default() }).await;
    amsync_web::metrics::install();
    let before = restarts_metric(&app, "events_sync").await;

    // A task of the node's fixed set that panics once, as the periodic poll
    // did on a huge `expires_in`, then runs until stopped. The message
    // carries a line break, as outside text quoted in a panic may.
    let stop = CancellationToken::new();
    let attempts = Arc::new(AtomicU32::new(0));
    let handle = {
        let (attempts, token) = (attempts.clone(), stop.clone());
        app.engine.supervisor().spawn(TaskName::EventsSync, stop.clone(), move || {
            let n = attempts.fetch_add(1, Ordering::SeqCst) + 1;
            let token = token.clone();
            async move {
                if n == 1 {
                    panic!("the events listing overflowed\nforged log line");
                }
                token.cancelled().await;
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while attempts.load(Ordering::SeqCst) < 2 {
        assert!(Instant::now() < deadline, "the task was not restarted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let (status, s) = app.get("/api/v1/sync/status").await;
    assert_eq!(status, StatusCode::OK);
    let restarts = &s["engine"]["task_restarts"];
    assert_eq!(restarts.as_array().map(Vec::len), Some(1), "{s}");
    assert_eq!(restarts[0]["task"], "events_sync");
    assert_eq!(restarts[0]["restarts"], 1);
    assert_eq!(restarts[0]["last_failure"], "panicked: the events listing overflowed\\nforged log line", "escaped");
    assert!(restarts[0]["last_failure_at"].is_string());
    assert_eq!(restarts_metric(&app, "events_sync").await - before, 1.0);

    let admin = AdminClient::sign_in(&app).await;
    let (_, html) = admin.get_html("/admin").await;
    let banner = html.split("data-show-when=\"tasks_restarted\"").nth(1).expect("the banner is on the page");
    assert!(!banner.starts_with(" hidden"), "the banner shows");
    let banner = &banner[..banner.find("</div>").unwrap()];
    assert!(banner.contains("events_sync") && banner.contains("1 restart(s)"), "{banner}");

    // The heartbeat carries it to the store, where `amsync status` (another
    // process) reads it.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, s) = app.get("/api/v1/sync/status").await;
        let nodes = s["nodes"].as_array().cloned().unwrap_or_default();
        if nodes.iter().any(|n| n["task_restarts"][0]["task"] == "events_sync") {
            break;
        }
        assert!(Instant::now() < deadline, "the heartbeat did not carry the restart: {s}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let cfg = app.dir.path().join("status.toml");
    let config = format!(
        "[database]\nurl = \"sqlite://{}\"\n[ams]\nkind = \"http-json\"\nbase_url = \"{}\"\n",
        app.dir.path().join("amsync.db").display(),
        app.sim.base_url()
    );
    std::fs::write(&cfg, config).unwrap();
    let log = app.dir.path().join("status.log");
    let (code, out) = child::run(&["status", "--config", cfg.to_str().unwrap()], &[], &log).await;
    assert_eq!(code, 0, "{out}");
    let line = out.lines().find(|l| l.starts_with("task restarts")).expect("a task restarts row");
    assert!(line.contains("events_sync FAILED AND RESTARTED 1 time(s)"), "{line}");
    assert!(line.contains("\\nforged log line"), "escaped: {line}");

    stop.cancel();
    handle.await.unwrap();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_oauth2_expires_in_leaves_the_periodic_poll_working() {
    let _heavy = HEAVY.lock().await;
    crate::helpers::init_tracing();
    // The simulated authorization server answers `expires_in:
    // 18446744073709551615` (u64::MAX seconds, a number RFC 6749 allows).
    let ams = sim(oauth2("client-secret", u64::MAX)).await;
    let secrets = tempfile::tempdir().unwrap();
    let secret = secrets.path().join("client_secret");
    std::fs::write(&secret, "client-secret\n").unwrap();
    let f = files(&ams.base_url(), &oauth2_auth(&ams, &secret), "1s", "");
    let serve = Serve::start(&f.cfg, &[], &f.log).await;
    // The first periodic poll loads everyone: it used to panic at its first call.
    wait_for_the_load(&serve).await;
    // Members changed in the AMS are brought over by the next periodic polls.
    for (round, key) in ["M000002", "M000009"].into_iter().enumerate() {
        let name = change_in_the_ams(&ams, key, &format!("poll-{round}"));
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (_, member) = api(&serve, reqwest::Method::GET, &format!("/api/v1/members/{key}"), None).await;
            if member.to_string().contains(&name) {
                break;
            }
            assert!(Instant::now() < deadline, "the periodic poll did not bring {key} over: {member}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert_eq!(ams.sim().stats().oauth_token, 1, "one token, kept (for at most a day)");
    let (_, s) = api(&serve, reqwest::Method::GET, "/api/v1/sync/status", None).await;
    assert_eq!(s["members"], MEMBERS);
    assert_eq!(s["engine"]["task_restarts"], serde_json::json!([]), "nothing panicked: {s}");
    serve.stop().await;
    let log = std::fs::read_to_string(&f.log).unwrap();
    assert!(!log.contains("panicked"), "{log}");
}
