//! The bounded soak: a child `amsync serve` syncs a large simulated AMS
//! that changes all the time (churn, new members, deletes and merges) and
//! fails a fifth of its calls (15 % 5xx, 5 % hangs past the 300 ms AMS
//! timeout, 1 % malformed bodies). Midway through the initial load the node
//! is killed with SIGKILL and started again. Then the faults stop and the
//! changes stop, dead letters are requeued, and at the end:
//!
//! - every member equals the simulator's truth, field by field;
//! - exactly the members the simulator deleted or merged (or whose AMS
//!   status is `disabled`) are disabled;
//! - the watermark, sampled throughout (across the restart), never moved
//!   backwards.
//!
//! Size by environment, for a longer run by hand:
//! `AMSYNC_SOAK_MEMBERS` (default 20,000), `AMSYNC_SOAK_CHURN_SECONDS`
//! (default 45: how long changes keep coming under faults after the initial
//! load), e.g. `AMSYNC_SOAK_MEMBERS=100000 AMSYNC_SOAK_CHURN_SECONDS=1800
//! cargo test -p amsync --test it soak -- --nocapture`. It prints its
//! figures as one JSON line. `scripts/test.sh` runs it alone, with its own
//! time budget.
//!
//! PostgreSQL is not part of amsync yet, so the "restart of the database"
//! part of the soak has no subject; SQLite is restarted with the node.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use amsync_sim::{ChangeRequest, Faults, SimConfig};
use amsync_store::sqlite::{SqliteOptions, SqliteStore};
use amsync_store::{MemberStore, SettingsStore};

use amsync_web::api::member_doc::{member_document, GroupContext};
use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::child::{free_port, Serve};
use crate::helpers::{differences, init_tracing, ADMIN_TOKEN, HEAVY};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn faults() -> Faults {
    Faults { error_rate: 0.15, hang_rate: 0.05, hang_ms: 1_000, malformed_rate: 0.01, ..Faults::default() }
}

fn config(db: &std::path::Path, ams: &str) -> String {
    format!(
        r#"
[database]
url = "sqlite://{db}"

[ams]
kind = "http-json"
base_url = "{ams}"
timeout = "300ms"
max_concurrency = 96

[periodic_refresh]
interval = "3s"

[events]
interval = "1h"

[member_refresh]
workers = 48
max_attempts = 8
backoff_initial = "50ms"
backoff_max = "2s"
lease = "10s"

# Deletes and merges are the simulator's own: none is held for approval.
[thresholds]
max_disables = 1000000
max_disable_share = 1.0
max_membership_removal_share = 1.0
"#,
        db = db.display()
    )
}

/// What the simulator removed (deleted or merged away).
#[derive(Default)]
struct Removed {
    keys: HashSet<String>,
}

/// Changes the simulator while `stop` is not cancelled: a steady churn of
/// realistic changes, a new member now and then, and deletes and merges.
async fn churn(sim: amsync_sim::Sim, members: usize, removed: Arc<Mutex<Removed>>, stop: CancellationToken) -> u64 {
    let per_tick = (members / 2000).max(2);
    let mut changes = 0u64;
    let mut tick = 0u64;
    let mut next_victim = members as u32; // from the end, away from the kill's check
    loop {
        tokio::select! {
            _ = stop.cancelled() => return changes,
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
        tick += 1;
        changes += sim.churn(per_tick).len() as u64;
        if tick % 10 == 0 {
            sim.create(&ChangeRequest::default()).unwrap();
            changes += 1;
        }
        if tick % 7 == 0 {
            let key = amsync_sim::member_key(next_victim);
            next_victim -= 1;
            if tick % 14 == 0 {
                let into = amsync_sim::member_key(next_victim - 1000);
                if sim.merge(&key, &into).is_ok() {
                    removed.lock().unwrap().keys.insert(key);
                }
            } else if sim.delete(&key).is_ok() {
                removed.lock().unwrap().keys.insert(key);
            }
            changes += 1;
        }
    }
}

struct Api {
    http: reqwest::Client,
}

impl Api {
    async fn get(&self, base: &str, path: &str) -> Option<Value> {
        let resp = self.http.get(format!("{base}{path}")).bearer_auth(ADMIN_TOKEN).send().await.ok()?;
        resp.json().await.ok()
    }

    async fn post(&self, base: &str, path: &str, body: Value) -> Option<Value> {
        let resp = self.http.post(format!("{base}{path}")).bearer_auth(ADMIN_TOKEN).json(&body).send().await.ok()?;
        resp.json().await.ok()
    }
}

/// Samples the watermark every 250 ms (a node that is down gives none).
async fn sample_watermark(base: Arc<Mutex<String>>, samples: Arc<Mutex<Vec<DateTime<Utc>>>>, stop: CancellationToken) {
    let api = Api { http: reqwest::Client::builder().timeout(Duration::from_secs(2)).build().unwrap() };
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
        let b = base.lock().unwrap().clone();
        if let Some(status) = api.get(&b, "/api/v1/sync/status").await {
            if let Some(w) =
                status["periodic_refresh"]["watermark"].as_str().and_then(|w| w.parse::<DateTime<Utc>>().ok())
            {
                samples.lock().unwrap().push(w);
            }
        }
    }
}

async fn status(api: &Api, base: &str) -> Value {
    api.get(base, "/api/v1/sync/status").await.unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak() {
    let _heavy = HEAVY.lock().await;
    init_tracing();
    let members = env_number("AMSYNC_SOAK_MEMBERS", 20_000) as usize;
    let churn_for = Duration::from_secs(env_number("AMSYNC_SOAK_CHURN_SECONDS", 45));
    let started = Instant::now();
    let sim_handle = amsync_sim::start(
        SimConfig { members, page_size: 1000, ..SimConfig::default() },
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    )
    .await
    .unwrap();
    let sim = sim_handle.sim().clone();
    sim.set_faults(faults());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("amsync.db");
    let cfg = dir.path().join("amsync.toml");
    std::fs::write(&cfg, config(&db, &sim_handle.base_url())).unwrap();
    let log = dir.path().join("serve.log");
    let envs = [("AMSYNC_ADMIN_TOKEN", ADMIN_TOKEN), ("RUST_LOG", "warn")];
    let api = Api { http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap() };

    let port = free_port();
    let mut serve = Serve::start_on(port, &cfg, &envs, &log).await;
    let base = Arc::new(Mutex::new(serve.base.clone()));
    let stop = CancellationToken::new();
    let samples = Arc::new(Mutex::new(Vec::new()));
    let sampler = tokio::spawn(sample_watermark(base.clone(), samples.clone(), stop.clone()));
    let removed = Arc::new(Mutex::new(Removed::default()));
    let churner = tokio::spawn(churn(sim.clone(), members, removed.clone(), stop.clone()));

    // Phase 1: the initial load under faults and churn, killed midway.
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut killed_at = None;
    loop {
        let s = status(&api, &serve.base).await;
        let stored = s["members"].as_u64().unwrap_or(0) as usize;
        if killed_at.is_none() && stored >= members / 2 {
            killed_at = Some((started.elapsed(), stored));
            serve.kill().await; // SIGKILL
            serve = Serve::start_on(port, &cfg, &envs, &log).await;
            *base.lock().unwrap() = serve.base.clone();
            continue;
        }
        if killed_at.is_some() && stored >= members - members / 50 {
            break;
        }
        assert!(Instant::now() < deadline, "the initial load did not finish: {s}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let loaded_at = started.elapsed();

    // Phase 2: changes keep coming under faults for a while.
    tokio::time::sleep(churn_for).await;

    // Phase 3: no faults, no changes; dead letters requeued until all is in.
    sim.set_faults(Faults::default());
    stop.cancel();
    let changes = churner.await.unwrap();
    let quiet_since = Utc::now();
    let fault_stats = sim.stats();
    let mut requeued = 0u64;
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let s = status(&api, &serve.base).await;
        let q = &s["queue"];
        if q["dead"].as_u64().unwrap_or(0) > 0 {
            let r = api.post(&serve.base, "/api/v1/queue/requeue", serde_json::json!({"all_dead": true})).await;
            requeued += r.and_then(|r| r["requeued"].as_u64()).unwrap_or(0);
        }
        let idle = q["queued"] == 0 && q["running"] == 0 && q["retrying"] == 0 && q["dead"] == 0;
        let last = &s["periodic_refresh"]["last_run"];
        let polled_after_quiet = last["started_at"]
            .as_str()
            .and_then(|t| t.parse::<DateTime<Utc>>().ok())
            .is_some_and(|t| t > quiet_since + chrono::Duration::seconds(1))
            && last["outcome"].as_str().is_some_and(|o| o != "running");
        if idle && polled_after_quiet {
            break;
        }
        assert!(Instant::now() < deadline, "did not settle after the faults stopped: {s}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let settled_at = started.elapsed();
    serve.stop().await;
    sampler.abort();

    // The end state, read from the database the node left.
    let store = SqliteStore::open(SqliteOptions::new(&db)).unwrap();
    let groups = GroupContext::from_groups(&store.security_groups().await.unwrap());
    let today = amsync_core::community::today(Utc::now(), chrono_tz::UTC);
    let removed = std::mem::take(&mut removed.lock().unwrap().keys);
    let mut diffs = Vec::new();
    let mut wrongly_disabled = Vec::new();
    let mut checked = 0usize;
    let mut deleted_stored = 0usize;
    let mut ams_disabled = 0usize;
    let truths = sim.truths();
    for truth in &truths {
        let stored = store.get_member(&amsync_core::MemberKey::parse(truth.key.as_str()).unwrap()).await.unwrap();
        match (truth.deleted, stored) {
            (false, None) => diffs.push(format!("{}: missing", truth.key)),
            (false, Some(m)) => {
                checked += 1;
                // The AMS's own `status: disabled` (1 % of the generated
                // members) is the one other signal that disables.
                let ams_active = truth.details.status == amsync_core::AmsStatus::Active;
                if m.record.is_active() != ams_active {
                    wrongly_disabled.push(format!(
                        "{} ({:?}, AMS {:?})",
                        truth.key, m.record.disabled_reason, truth.details.status
                    ));
                }
                if !ams_active {
                    ams_disabled += 1;
                }
                diffs.extend(differences(&member_document(&m, &groups, today), truth));
            }
            (true, Some(m)) => {
                deleted_stored += 1;
                if m.record.is_active() {
                    diffs.push(format!("{}: deleted in the AMS, active here", truth.key));
                }
            }
            (true, None) => {}
        }
    }
    let disabled = amsync_store::MemberStore::member_count(store.as_ref()).await.unwrap() as usize
        - store.active_member_keys().await.unwrap().len();
    store.shutdown().await;
    let samples = samples.lock().unwrap().clone();
    let backwards: Vec<_> = samples.windows(2).filter(|w| w[1] < w[0]).collect();
    let figures = serde_json::json!({
        "members": members,
        "checked": checked,
        "removed_by_sim": removed.len(),
        "disabled": disabled,
        "disabled_by_ams_status": ams_disabled,
        "deleted_or_merged_stored": deleted_stored,
        "changes": changes,
        "ams_calls": fault_stats.requests_total,
        "faults_injected": fault_stats.faults_injected,
        "killed_at_s": killed_at.map(|(t, _)| t.as_secs_f64()),
        "stored_at_kill": killed_at.map(|(_, n)| n),
        "loaded_at_s": loaded_at.as_secs_f64(),
        "settled_at_s": settled_at.as_secs_f64(),
        "requeued_dead_letters": requeued,
        "watermark_samples": samples.len(),
        "quiet_since": quiet_since,
    });
    println!("{figures}");
    assert!(diffs.is_empty(), "{} differences, the first: {:#?}", diffs.len(), &diffs[..diffs.len().min(10)]);
    assert!(wrongly_disabled.is_empty(), "active/disabled not as the AMS says: {wrongly_disabled:?}");
    assert_eq!(disabled, deleted_stored + ams_disabled, "only what the AMS deleted, merged or disabled is: {figures}");
    assert!(
        truths.iter().filter(|t| t.deleted).all(|t| removed.contains(&t.key)),
        "the sim removed only what the churn did"
    );
    assert!(backwards.is_empty(), "the watermark moved backwards: {backwards:?}");
    assert!(samples.len() > 10, "the watermark was sampled: {figures}");
    assert!(fault_stats.faults_injected > 1000, "faults were injected: {figures}");
    assert!(!removed.is_empty() && changes > 100, "the AMS kept changing: {figures}");
}
