//! An engine for the engine's own tests: a real SQLite store in a temporary
//! directory, and the in-memory AMS (`amsync_ams::memory`, which passes the
//! source conformance suite) observed into the engine's quarantine window
//! as the factory wires a configured source, and a [`ManualClock`]. No HTTP,
//! no latency and no sleeps: a test holds the AMS's calls when it needs them
//! in flight, moves the clock to make a retry or a scheduled poll due, and
//! waits on conditions, never on a timer.

use std::sync::Arc;
use std::time::Duration;

use amsync_ams::memory::{FixtureMember, MemorySource, SourceFixture};
use amsync_ams::Observed;
use amsync_core::queue::RetryPolicy;
use amsync_core::safety::Thresholds;
use amsync_core::MemberKey;
use amsync_store::sqlite::{SqliteOptions, SqliteStore};
use amsync_store::{QueueEntry, QueueStore, Run, RunFilter, RunOutcome, RunStore, SafetyStore, Store};
use chrono::{DateTime, SubsecRound, Utc};
use tokio_util::sync::CancellationToken;

use crate::poll::{PollMode, PollReport};
use crate::{Engine, ManualClock, QuarantineMonitor, Schedule, SyncSettings};

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

/// The queue's retry policy in tests: realistic delays, which only the
/// clock makes pass.
pub(crate) const RETRY: RetryPolicy =
    RetryPolicy { max_attempts: 4, backoff_initial: Duration::from_secs(30), backoff_max: Duration::from_secs(600) };

/// What runs of the engine: the workers and upkeep only (polls are driven
/// by the test), or every task (the schedulers too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tasks {
    Workers,
    All,
}

/// A running engine.
pub(crate) struct TestEngine {
    pub engine: Arc<Engine>,
    pub store: Arc<SqliteStore>,
    pub ams: Arc<MemorySource>,
    pub clock: Arc<ManualClock>,
    stop: CancellationToken,
    workers: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl TestEngine {
    /// Workers and upkeep over `fixture`.
    pub async fn start(fixture: SourceFixture, workers: usize) -> TestEngine {
        TestEngine::start_with(fixture, workers, Tasks::Workers, |_| {}).await
    }

    /// `tasks` over `fixture`, with the test settings changed by `adjust`.
    pub async fn start_with(
        fixture: SourceFixture,
        workers: usize,
        tasks: Tasks,
        adjust: impl FnOnce(&mut SyncSettings),
    ) -> TestEngine {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(SqliteOptions::new(dir.path().join("amsync.db"))).unwrap();
        store.set_thresholds(Thresholds::unlimited());
        let mut settings = SyncSettings {
            role: "test".into(),
            workers,
            retry: RETRY,
            lease: Duration::from_secs(3600),
            page_attempts: 3,
            idle_poll: Duration::from_millis(20),
            probe_interval: Duration::from_millis(200),
            rescue_interval: Duration::from_millis(200),
            heartbeat_interval: Duration::from_millis(200),
            periodic: Schedule::Interval(Duration::from_secs(3600)),
            events: Schedule::Interval(Duration::from_secs(3600)),
            ..SyncSettings::default()
        };
        adjust(&mut settings);
        let ams = Arc::new(MemorySource::new(fixture));
        // Whole seconds, as the store keeps them.
        let clock = ManualClock::new(Utc::now().trunc_subsecs(0));
        let monitor = QuarantineMonitor::new(settings.quarantine.clone());
        let source = Arc::new(Observed::new(ams.clone(), Some(monitor.clone())));
        let dyn_store: Arc<dyn Store> = store.clone();
        let engine = Engine::with_clock(dyn_store, source, settings, monitor, clock.clone());
        let stop = CancellationToken::new();
        let workers = {
            let (engine, stop) = (engine.clone(), stop.clone());
            tokio::spawn(async move {
                match tasks {
                    Tasks::Workers => engine.run_workers_only(stop).await.unwrap(),
                    Tasks::All => engine.run(stop).await.unwrap(),
                }
            })
        };
        TestEngine { engine, store, ams, clock, stop, workers, _dir: dir }
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

    /// Runs of `kind`, newest first.
    pub async fn runs(&self, kind: amsync_core::Trigger) -> Vec<Run> {
        self.store.list_runs(&RunFilter { kind: Some(kind), limit: 100, ..Default::default() }).await.unwrap()
    }

    /// Waits until the `n`th run of `kind` has finished, and returns it.
    pub async fn nth_run(&self, kind: amsync_core::Trigger, n: usize) -> Run {
        let what = format!("run {n} of kind {kind} to finish");
        self.until(&what, async || {
            let runs = self.runs(kind).await;
            runs.len() >= n && runs[runs.len() - n].outcome != RunOutcome::Running
        })
        .await;
        let runs = self.runs(kind).await;
        runs[runs.len() - n].clone()
    }

    /// The queue entry of `key`, if it has one.
    pub async fn entry(&self, k: &str) -> Option<QueueEntry> {
        let entries = self.store.list_queue(None, 1000, None).await.unwrap();
        entries.into_iter().find(|e| e.key.as_str() == k)
    }

    pub async fn stop(self) {
        self.ams.release();
        self.stop.cancel();
        self.workers.await.unwrap();
        self.store.shutdown().await;
    }
}
