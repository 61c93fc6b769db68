//! Crash: a child `amsync serve` killed with SIGKILL in the middle of the
//! initial load is restarted and converges with nothing lost and no dead
//! letters.

use std::process::Stdio;
use std::time::{Duration, Instant};

use amsync_sim::{Faults, SimConfig};
use amsync_store::sqlite::{SqliteOptions, SqliteStore};
use amsync_store::{QueueStore, RunStore};

use crate::helpers::{differences, init_tracing, ADMIN_TOKEN, HEAVY};

const MEMBERS: usize = 800;

struct Child {
    process: tokio::process::Child,
    base: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn start_serve(config: &std::path::Path, log_path: &std::path::Path) -> Child {
    let port = free_port();
    let log = std::fs::OpenOptions::new().create(true).append(true).open(log_path).unwrap();
    let process = tokio::process::Command::new(env!("CARGO_BIN_EXE_amsync"))
        .args(["serve", "--config"])
        .arg(config)
        .env("AMSYNC_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("AMSYNC_WEB__LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .expect("amsync starts");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await {
            if r.status() == 200 {
                return Child { process, base };
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("amsync serve did not become ready; its log:\n{}", std::fs::read_to_string(log_path).unwrap_or_default());
}

async fn members_stored(child: &Child) -> u64 {
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/sync/status", child.base))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = r.json().await.unwrap();
    v["members"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_load_restarts_and_converges() {
    let _heavy = HEAVY.lock().await;
    init_tracing();
    let sim = amsync_sim::start(
        SimConfig { members: MEMBERS, page_size: 200, ..SimConfig::default() },
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    )
    .await
    .unwrap();
    // Slow enough that the load takes seconds and a kill lands in the middle.
    sim.set_faults(Faults { latency_ms: 15, ..Faults::default() });
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("amsync.db");
    let config = dir.path().join("amsync.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[database]
url = "sqlite://{db}"

[ams]
kind = "http-json"
base_url = "{ams}"
timeout = "2s"

[periodic_refresh]
interval = "1h"

[events]
interval = "1h"

[member_refresh]
workers = 6
lease = "3s"
backoff_initial = "50ms"
backoff_max = "500ms"
"#,
            db = db.display(),
            ams = sim.base_url()
        ),
    )
    .unwrap();
    let log = dir.path().join("amsync.log");

    let mut first = start_serve(&config, &log).await;
    // The first periodic poll is a complete listing: the initial load.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let n = members_stored(&first).await;
        if n >= (MEMBERS / 4) as u64 {
            break;
        }
        assert!(Instant::now() < deadline, "the load did not progress");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.process.kill().await.unwrap(); // SIGKILL
    let stored_at_kill = {
        let store = SqliteStore::open(SqliteOptions::new(&db)).unwrap();
        let counts = store.queue_counts().await.unwrap();
        let n = amsync_store::MemberStore::member_count(store.as_ref()).await.unwrap();
        store.shutdown().await;
        assert!(counts.queued + counts.running + counts.retrying > 0, "killed with work left: {counts:?}");
        n
    };
    assert!((stored_at_kill as usize) < MEMBERS, "killed before the end ({stored_at_kill} stored)");

    let second = start_serve(&config, &log).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = reqwest::Client::new()
            .get(format!("{}/api/v1/sync/status", second.base))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        let v: serde_json::Value = r.json().await.unwrap();
        let q = &v["queue"];
        let idle = q["queued"] == 0 && q["running"] == 0 && q["retrying"] == 0;
        if idle && v["members"].as_u64() == Some(MEMBERS as u64) {
            assert_eq!(q["dead"], 0, "no dead letters: {v}");
            break;
        }
        assert!(Instant::now() < deadline, "did not converge after the restart: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Every member equals the AMS, and the load's run finished well.
    let client = reqwest::Client::new();
    let mut diffs = Vec::new();
    for truth in sim.truths() {
        let doc: serde_json::Value = client
            .get(format!("{}/api/v1/members/{}", second.base, truth.key))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        diffs.extend(differences(&doc, &truth));
    }
    assert!(diffs.is_empty(), "{diffs:?}");
    drop(second);
    let store = SqliteStore::open(SqliteOptions::new(&db)).unwrap();
    let run = store.get_run(1).await.unwrap().unwrap();
    assert_eq!(run.outcome, amsync_store::RunOutcome::Succeeded, "{run:?}");
    assert_eq!(run.counts.dead, 0);
    store.shutdown().await;
}

/// The listings killed below: enough members (and AMS latency) that a kill
/// lands in the middle of a listing, which each test checks.
const LISTED: usize = 1_000;

/// `[…]` of a serve whose AMS answers slowly and whose lease is short, so a
/// dead process's run is taken over within seconds of the restart.
fn listing_config(dir: &std::path::Path, ams: &str) -> std::path::PathBuf {
    let config = dir.join("amsync.toml");
    let db = dir.join("amsync.db");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://{}\"\n[ams]\nkind = \"http-json\"\nbase_url = \"{ams}\"\ntimeout = \"5s\"\n\
             [periodic_refresh]\ninterval = \"1h\"\n[events]\ninterval = \"1h\"\n\
             [member_refresh]\nworkers = 8\nlease = \"3s\"\nbackoff_initial = \"50ms\"\nbackoff_max = \"500ms\"\n",
            db.display()
        ),
    )
    .unwrap();
    config
}

/// The AMS's listing of changed members is about to be asked for a page in
/// the middle: at least `pages` pages listed, and the listing not over.
async fn listing_underway(sim: &amsync_sim::SimHandle, pages: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while sim.stats().changed_members < pages {
        assert!(Instant::now() < deadline, "the listing did not get going: {:?}", sim.stats());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The latest run of `kind` as the database holds it (read with the
/// process gone).
async fn last_run_in(db: &std::path::Path, kind: amsync_core::Trigger) -> amsync_store::Run {
    let store = SqliteStore::open(SqliteOptions::new(db)).unwrap();
    let filter = amsync_store::RunFilter { kind: Some(kind), limit: 1, ..Default::default() };
    let run = store.list_runs(&filter).await.unwrap().into_iter().next().expect("the run exists");
    store.shutdown().await;
    run
}

/// Waits (through the API) until run `id` has ended and the queue is idle.
async fn ended(serve: &crate::child::Serve, id: i64) -> serde_json::Value {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let get = |path: String| client.get(serve.url(&path)).bearer_auth(ADMIN_TOKEN).send();
        let run: serde_json::Value = get(format!("/api/v1/sync/runs/{id}")).await.unwrap().json().await.unwrap();
        let status: serde_json::Value = get("/api/v1/sync/status".into()).await.unwrap().json().await.unwrap();
        let q = &status["queue"];
        let idle = q["queued"] == 0 && q["running"] == 0 && q["retrying"] == 0;
        if run["outcome"] != "running" && idle {
            return run;
        }
        assert!(Instant::now() < deadline, "run {id} did not end after the restart: {run}\n{status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Asserts a run was killed in the middle of its listing: still running,
/// its listing held by the dead process's lease, fewer keys listed than
/// the AMS has.
fn killed_mid_listing(run: &amsync_store::Run, calls: u64) {
    assert_eq!(run.outcome, amsync_store::RunOutcome::Running, "{run:?}");
    assert!(run.lease_until.is_some(), "its listing was not over: {run:?}");
    assert!((run.counts.listed as usize) < LISTED, "killed before the last page: {run:?}");
    assert!(calls < (LISTED / 20) as u64, "the AMS had not given every page ({calls} asked)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_killed_mid_way_are_resumed_after_the_restart_and_every_member_is_refreshed() {
    let _heavy = HEAVY.lock().await;
    init_tracing();
    let sim = amsync_sim::start(
        SimConfig { members: LISTED, page_size: 20, ..SimConfig::default() },
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    )
    .await
    .unwrap();
    sim.set_faults(Faults { latency_ms: 40, ..Faults::default() });
    let dir = tempfile::tempdir().unwrap();
    let config = listing_config(dir.path(), &sim.base_url());
    let db = dir.path().join("amsync.db");
    let log = dir.path().join("amsync.log");
    let envs = [("AMSYNC_ADMIN_TOKEN", ADMIN_TOKEN), ("RUST_LOG", "warn")];
    let client = reqwest::Client::new();

    // The initial load (the first periodic poll, a complete listing),
    // killed mid-listing.
    let first = crate::child::Serve::start(&config, &envs, &log).await;
    listing_underway(&sim, 8).await;
    first.kill().await;
    let calls = sim.stats().changed_members;
    let load = last_run_in(&db, amsync_core::Trigger::Periodic).await;
    killed_mid_listing(&load, calls);

    // After the restart the load's run is taken over, resumed and ends.
    let second = crate::child::Serve::start(&config, &envs, &log).await;
    let load = ended(&second, load.id).await;
    assert_eq!(load["outcome"], "succeeded", "{load}");
    assert!(load["resumed"]["note"].as_str().unwrap_or_default().starts_with("resumed after page"), "{load}");
    let status: serde_json::Value = client
        .get(second.url("/api/v1/sync/status"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["members"], LISTED, "{status}");

    // A full refresh, killed mid-listing.
    sim.reset_stats();
    let accepted: serde_json::Value = client
        .post(second.url("/api/v1/refresh"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&serde_json::json!({"all": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let full = accepted["run_id"].as_i64().expect("a run id");
    listing_underway(&sim, 8).await;
    second.kill().await;
    let calls = sim.stats().changed_members;
    let at_kill = last_run_in(&db, amsync_core::Trigger::Full).await;
    assert_eq!(at_kill.id, full);
    killed_mid_listing(&at_kill, calls);

    // After the restart the full refresh resumes and refreshes everyone.
    let third = crate::child::Serve::start(&config, &envs, &log).await;
    let done = ended(&third, full).await;
    assert_eq!(done["outcome"], "succeeded", "{done}");
    assert_eq!(done["counts"]["dead"], 0, "{done}");
    assert!(done["resumed"]["note"].as_str().unwrap_or_default().starts_with("resumed after page"), "{done}");
    third.stop().await;

    let store = SqliteStore::open(SqliteOptions::new(&db)).unwrap();
    let mut refreshed = 0;
    let mut cursor = None;
    loop {
        let q = amsync_store::MemberQuery { limit: 500, cursor, ..Default::default() };
        let page = amsync_store::MemberStore::search_members(store.as_ref(), &q).await.unwrap();
        for m in &page.items {
            assert!(
                m.last_refreshed_at.is_some_and(|t| t >= at_kill.started_at),
                "{} was not refreshed by the full refresh: {m:?}",
                m.key
            );
            refreshed += 1;
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(refreshed, LISTED);
    let runs = store.list_runs(&amsync_store::RunFilter { limit: 100, ..Default::default() }).await.unwrap();
    let hanging: Vec<_> = runs.iter().filter(|r| r.outcome == amsync_store::RunOutcome::Running).collect();
    assert!(hanging.is_empty(), "every run ended: {hanging:?}");
    store.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cli_full_refresh_killed_mid_listing_is_resumed_by_the_next_one() {
    let _heavy = HEAVY.lock().await;
    init_tracing();
    let sim = amsync_sim::start(
        SimConfig { members: LISTED, page_size: 20, ..SimConfig::default() },
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    )
    .await
    .unwrap();
    sim.set_faults(Faults { latency_ms: 40, ..Faults::default() });
    let dir = tempfile::tempdir().unwrap();
    let config = listing_config(dir.path(), &sim.base_url());
    let db = dir.path().join("amsync.db");
    let refresh_all = || {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_amsync"))
            .args(["refresh", "--all", "--config"])
            .arg(&config)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("amsync starts")
    };

    let mut first = refresh_all();
    listing_underway(&sim, 8).await;
    first.kill().await.unwrap(); // SIGKILL
    let calls = sim.stats().changed_members;
    let at_kill = last_run_in(&db, amsync_core::Trigger::Full).await;
    killed_mid_listing(&at_kill, calls);

    // The next `refresh --all` (once the dead process's lease is over)
    // takes the interrupted run over and follows it to its end.
    let lapse = (at_kill.lease_until.unwrap() - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(lapse + Duration::from_millis(100)).await;
    let out = refresh_all().wait_with_output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let id = at_kill.id;
    assert!(stderr.contains(&format!("Run {id} (full) was left by a stopped process: resumed after page")), "{stderr}");
    assert!(stderr.contains(&format!("Following run {id}")), "{stderr}");
    let run = last_run_in(&db, amsync_core::Trigger::Full).await;
    assert_eq!(run.id, at_kill.id, "no second full refresh was started");
    assert_eq!(run.outcome, amsync_store::RunOutcome::Succeeded, "{run:?}");
    assert_eq!((run.counts.created, run.counts.dead), (LISTED as u64, 0), "{run:?}");
    let store = SqliteStore::open(SqliteOptions::new(&db)).unwrap();
    assert_eq!(amsync_store::MemberStore::member_count(store.as_ref()).await.unwrap(), LISTED as u64);
    store.shutdown().await;
}
