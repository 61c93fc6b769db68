//! Listings killed with SIGKILL in the middle (each test checks that the
//! kill landed mid-listing): the initial load and a full refresh of
//! `amsync serve` (1,000 members, an AMS answering in 40 ms), and
//! `amsync refresh --all`. After the restart the run is taken over,
//! resumed after its last saved page, and ends with an outcome; every
//! member is refreshed. (A lease of 3 s makes the take-over quick.)

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use amsync_core::Trigger;
use amsync_sim::{Faults, SimConfig, SimHandle};
use amsync_store::sqlite::{SqliteOptions, SqliteStore};
use amsync_store::{MemberStore, Run, RunFilter, RunOutcome, RunStore};
use serde_json::{json, Value};

use crate::child::Serve;
use crate::helpers::{init_tracing, ADMIN_TOKEN, HEAVY};

/// Enough members (20 a page) and AMS latency that a kill lands in the
/// middle of a listing.
const LISTED: usize = 1_000;

/// A slow simulated AMS and the configuration of a node using it, in `dir`.
async fn slow_ams(dir: &Path) -> (SimHandle, PathBuf) {
    init_tracing();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = amsync_sim::start(SimConfig { members: LISTED, page_size: 20, ..SimConfig::default() }, listener)
        .await
        .unwrap();
    sim.set_faults(Faults { latency_ms: 40, ..Faults::default() });
    let config = dir.join("amsync.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://{}\"\n[ams]\nkind = \"http-json\"\nbase_url = \"{}\"\ntimeout = \"5s\"\n\
             [periodic_refresh]\ninterval = \"1h\"\n[events]\ninterval = \"1h\"\n\
             [member_refresh]\nworkers = 8\nlease = \"3s\"\nbackoff_initial = \"50ms\"\nbackoff_max = \"500ms\"\n",
            dir.join("amsync.db").display(),
            sim.base_url()
        ),
    )
    .unwrap();
    (sim, config)
}

/// Waits until the AMS has given at least `pages` pages of the listing.
async fn listing_underway(sim: &SimHandle, pages: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while sim.stats().changed_members < pages {
        assert!(Instant::now() < deadline, "the listing did not get going: {:?}", sim.stats());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The latest run of `kind` as the database holds it (the process gone).
async fn last_run_in(db: &Path, kind: Trigger) -> Run {
    let store = SqliteStore::open(SqliteOptions::new(db)).unwrap();
    let filter = RunFilter { kind: Some(kind), limit: 1, ..Default::default() };
    let run = store.list_runs(&filter).await.unwrap().into_iter().next().expect("the run exists");
    store.shutdown().await;
    run
}

/// Asserts a run was killed in the middle of its listing: still running,
/// its listing under the dead process's lease, fewer keys listed than the
/// AMS has, and the AMS not yet asked for every page (`calls`).
fn killed_mid_listing(run: &Run, calls: u64) {
    assert_eq!(run.outcome, RunOutcome::Running, "{run:?}");
    assert!(run.lease_until.is_some(), "its listing was not over: {run:?}");
    assert!((run.counts.listed as usize) < LISTED, "killed before the last page: {run:?}");
    assert!(calls < (LISTED / 20) as u64, "the AMS had not given every page ({calls} asked)");
}

/// Waits (through the API) until run `id` has ended and the queue is idle.
async fn ended(serve: &Serve, id: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let run = serve.get_json(&format!("/api/v1/sync/runs/{id}")).await;
        let status = serve.get_json("/api/v1/sync/status").await;
        let q = &status["queue"];
        if run["outcome"] != "running" && q["queued"] == 0 && q["running"] == 0 && q["retrying"] == 0 {
            return run;
        }
        assert!(Instant::now() < deadline, "run {id} did not end after the restart: {run}\n{status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn resumed_mid_listing(run: &Value) -> bool {
    run["resumed"]["note"].as_str().unwrap_or_default().starts_with("resumed after page")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_killed_mid_way_are_resumed_after_the_restart_and_every_member_is_refreshed() {
    let _heavy = HEAVY.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let (sim, config) = slow_ams(dir.path()).await;
    let db = dir.path().join("amsync.db");
    let log = dir.path().join("amsync.log");
    let envs = [("AMSYNC_ADMIN_TOKEN", ADMIN_TOKEN), ("RUST_LOG", "warn")];

    // The initial load (the first periodic poll, a complete listing),
    // killed mid-listing.
    let first = Serve::start(&config, &envs, &log).await;
    listing_underway(&sim, 8).await;
    first.kill().await;
    let load = last_run_in(&db, Trigger::Periodic).await;
    killed_mid_listing(&load, sim.stats().changed_members);

    // After the restart the load's run is taken over, resumed and ends.
    let second = Serve::start(&config, &envs, &log).await;
    let load = ended(&second, load.id).await;
    assert_eq!(load["outcome"], "succeeded", "{load}");
    assert!(resumed_mid_listing(&load), "{load}");
    let status = second.get_json("/api/v1/sync/status").await;
    assert_eq!(status["members"], LISTED, "{status}");

    // A full refresh, killed mid-listing.
    sim.reset_stats();
    let accepted = second.post_json("/api/v1/refresh", &json!({"all": true})).await;
    let full = accepted["run_id"].as_i64().expect("a run id");
    listing_underway(&sim, 8).await;
    second.kill().await;
    let at_kill = last_run_in(&db, Trigger::Full).await;
    assert_eq!(at_kill.id, full);
    killed_mid_listing(&at_kill, sim.stats().changed_members);

    // After the restart the full refresh resumes and refreshes everyone.
    let third = Serve::start(&config, &envs, &log).await;
    let done = ended(&third, full).await;
    assert_eq!((done["outcome"].as_str(), done["counts"]["dead"].as_u64()), (Some("succeeded"), Some(0)), "{done}");
    assert!(resumed_mid_listing(&done), "{done}");
    third.stop().await;

    let store = SqliteStore::open(SqliteOptions::new(&db)).unwrap();
    let mut refreshed = 0;
    let mut cursor = None;
    loop {
        let q = amsync_store::MemberQuery { limit: 500, cursor, ..Default::default() };
        let page = store.search_members(&q).await.unwrap();
        for m in &page.items {
            let since_kill = m.last_refreshed_at.is_some_and(|t| t >= at_kill.started_at);
            assert!(since_kill, "{} was not refreshed by the full refresh: {m:?}", m.key);
            refreshed += 1;
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(refreshed, LISTED);
    let runs = store.list_runs(&RunFilter { limit: 100, ..Default::default() }).await.unwrap();
    let hanging: Vec<&Run> = runs.iter().filter(|r| r.outcome == RunOutcome::Running).collect();
    assert!(hanging.is_empty(), "every run ended: {hanging:?}");
    store.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cli_full_refresh_killed_mid_listing_is_resumed_by_the_next_one() {
    let _heavy = HEAVY.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let (sim, config) = slow_ams(dir.path()).await;
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
    let at_kill = last_run_in(&db, Trigger::Full).await;
    killed_mid_listing(&at_kill, sim.stats().changed_members);

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
    let run = last_run_in(&db, Trigger::Full).await;
    assert_eq!(run.id, id, "no second full refresh was started");
    assert_eq!(run.outcome, RunOutcome::Succeeded, "{run:?}");
    assert_eq!((run.counts.created, run.counts.dead), (LISTED as u64, 0), "{run:?}");
    let store = SqliteStore::open(SqliteOptions::new(&db)).unwrap();
    assert_eq!(store.member_count().await.unwrap(), LISTED as u64);
    store.shutdown().await;
}
