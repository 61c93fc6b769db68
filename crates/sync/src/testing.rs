//! An engine for the engine's own tests: a real SQLite store in a temporary
//! directory, and the in-memory AMS (`amsync_ams::memory`, which passes the
//! source conformance suite) observed into the engine's quarantine window
//! as the factory wires a configured source. No HTTP and no latency: a test
//! holds the AMS's calls when it needs them in flight, and waits on
//! conditions, never on a timer.

use std::sync::Arc;
use std::time::Duration;

use amsync_ams::memory::{FixtureMember, MemorySource, SourceFixture};
use amsync_ams::Observed;
use amsync_core::queue::RetryPolicy;
use amsync_core::safety::Thresholds;
use amsync_core::MemberKey;
use amsync_store::sqlite::{SqliteOptions, SqliteStore};
use amsync_store::{Run, RunOutcome, SafetyStore, Store};
use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::poll::{PollMode, PollReport};
use crate::{Engine, QuarantineMonitor, Schedule, SyncSettings};

/// How long a test waits for a condition before it fails.
const PATIENCE: Duration = Duration::from_secs(20);

pub(crate) fn key(s: &str) -> MemberKey {
    MemberKey::parse(s).unwrap()
}

/// An AMS of `n` members `M000001`…, each changed a second after the last.
pub(crate) fn members(n: usize) -> SourceFixture {
    let start: DateTime<Utc> = "2026-11-29T12:00:00Z".parse().unwrap();
    let members = (1..=n)
        .map(|i| {
            let mut m = FixtureMember::new(key(&format!("M{i:06}")), start + chrono::Duration::seconds(i as i64));
            m.details.last_name = Some(format!("Member {i}"));
            m
        })
        .collect();
    SourceFixture { members, ..SourceFixture::default() }
}

/// A running engine (workers and upkeep; polls are driven by the test).
pub(crate) struct TestEngine {
    pub engine: Arc<Engine>,
    pub store: Arc<SqliteStore>,
    pub ams: Arc<MemorySource>,
    stop: CancellationToken,
    workers: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl TestEngine {
    pub async fn start(fixture: SourceFixture, workers: usize) -> TestEngine {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(SqliteOptions::new(dir.path().join("amsync.db"))).unwrap();
        store.set_thresholds(Thresholds::unlimited());
        let settings = SyncSettings {
            role: "test".into(),
            workers,
            retry: RetryPolicy {
                max_attempts: 8,
                backoff_initial: Duration::from_millis(50),
                backoff_max: Duration::from_millis(500),
            },
            lease: Duration::from_secs(10),
            page_attempts: 3,
            idle_poll: Duration::from_millis(20),
            probe_interval: Duration::from_millis(200),
            rescue_interval: Duration::from_millis(200),
            heartbeat_interval: Duration::from_millis(200),
            periodic: Schedule::Interval(Duration::from_secs(3600)),
            events: Schedule::Interval(Duration::from_secs(3600)),
            ..SyncSettings::default()
        };
        let ams = Arc::new(MemorySource::new(fixture));
        let monitor = QuarantineMonitor::new(settings.quarantine.clone());
        let source = Arc::new(Observed::new(ams.clone(), Some(monitor.clone())));
        let dyn_store: Arc<dyn Store> = store.clone();
        let engine = Engine::with_monitor(dyn_store, source, settings, monitor);
        let stop = CancellationToken::new();
        let workers = {
            let (engine, stop) = (engine.clone(), stop.clone());
            tokio::spawn(async move { engine.run_workers_only(stop).await.unwrap() })
        };
        TestEngine { engine, store, ams, stop, workers, _dir: dir }
    }

    /// Waits until `run` finishes (the workers run in the background).
    pub async fn wait_run(&self, run: i64) -> Run {
        let r = self.engine.wait_for_run(run, Some(PATIENCE)).await.unwrap().expect("the run exists");
        assert_ne!(r.outcome, RunOutcome::Running, "run {run} did not finish: {r:?}");
        r
    }

    /// A full poll and the refreshes it enqueued, to the end.
    pub async fn full_refresh(&self) -> (PollReport, Run) {
        let report = self.engine.poll_members(PollMode::Full).await.unwrap();
        let run = self.wait_run(report.run_id).await;
        (report, run)
    }

    /// Refreshes `keys` as a manual run and waits for it.
    pub async fn refresh_keys(&self, keys: &[&str]) -> Run {
        let keys: Vec<MemberKey> = keys.iter().map(|k| key(k)).collect();
        let run = self.engine.refresh_keys(&keys, amsync_core::Trigger::Manual, serde_json::Value::Null).await.unwrap();
        self.wait_run(run).await
    }

    /// Waits until `condition` holds; fails the test, naming `what`, if it
    /// does not within a generous limit.
    pub async fn until(&self, what: &str, mut condition: impl AsyncFnMut() -> bool) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while !condition().await {
            assert!(tokio::time::Instant::now() < deadline, "waited in vain for {what}");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    pub async fn stop(self) {
        self.ams.release();
        self.stop.cancel();
        self.workers.await.unwrap();
        self.store.shutdown().await;
    }
}
