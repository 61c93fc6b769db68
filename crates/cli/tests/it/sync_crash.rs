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
