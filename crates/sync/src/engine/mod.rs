//! The engine composes the node's sync tasks; it owns none of their state.
//!
//! | task | type | owns |
//! |---|---|---|
//! | periodic poll (and "refresh now") | `PeriodicPoll` | its timetable, the member watermark's rules |
//! | events sync | `EventsPoll` | its timetable, the events watermark's rules |
//! | workers | `WorkerPool` | claims in flight, throughput, phase times |
//! | upkeep | `Upkeep` | nothing: it times lease renewal, rescue, heartbeat, recovery, quarantine probe |
//! | AMS probe | `AmsProbe` | the cached reachability |
//!
//! Each is built from the `Shared` handles (store, source, settings,
//! clock, `Signals`, owner name) and whatever
//! other task it drives; the engine starts them under the [`Supervisor`]
//! (restarted after a panic, never silently gone), stops them, and gathers
//! their parts of the status.

mod ops;

use std::sync::Arc;

use amsync_ams::AmsSource;
use amsync_store::Store;
use chrono::{DateTime, Utc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::clock::{Clock, SystemClock};
use crate::error::SyncError;
use crate::events::EventsPoll;
use crate::maintenance::Upkeep;
use crate::poll::PeriodicPoll;
use crate::quarantine::QuarantineMonitor;
use crate::reachability::AmsProbe;
use crate::recovery::Recovery;
use crate::rules::RuleRuns;
use crate::settings::SyncSettings;
use crate::shared::Shared;
use crate::signals::Signals;
use crate::supervise::{Supervisor, TaskName};
use crate::worker::WorkerPool;

/// The sync engine. Cheap to share (`Arc<Engine>`).
pub struct Engine {
    shared: Shared,
    supervisor: Arc<Supervisor>,
    periodic: Arc<PeriodicPoll>,
    events: Arc<EventsPoll>,
    workers: Arc<WorkerPool>,
    upkeep: Arc<Upkeep>,
    probe: Arc<AmsProbe>,
    recovery: Arc<Recovery>,
    rules: RuleRuns,
}

/// What the engine knows beyond the store, for `/api/v1/sync/status`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EngineStatus {
    pub node_id: String,
    pub next_periodic_refresh: Option<DateTime<Utc>>,
    pub next_events_sync: Option<DateTime<Utc>>,
    pub refreshes_last_minute: u64,
    pub refreshes_last_hour: u64,
    /// Refreshes per minute over the last hour, oldest first (60 values).
    pub refreshes_per_minute: Vec<u64>,
    pub inflight: usize,
    pub workers: usize,
    /// Where refreshes spend their time (averages since start).
    pub phases: crate::timing::PhaseAverages,
    /// The last AMS probe (lifted to `SyncStatus::ams`).
    #[serde(skip)]
    pub ams: crate::reachability::Reachability,
    /// The quarantine's window and state on this node.
    pub quarantine: crate::quarantine::QuarantineStatus,
    /// This node's long-lived tasks that failed and were restarted (none
    /// when all is well).
    pub task_restarts: Vec<amsync_store::TaskRestarts>,
}

impl Engine {
    /// An engine whose quarantine window sees only what the engine itself
    /// sees of GetMemberDetails; prefer [`Engine::with_monitor`] with a
    /// source that reports every call to the same monitor.
    pub fn new(store: Arc<dyn Store>, source: Arc<dyn AmsSource>, settings: SyncSettings) -> Arc<Engine> {
        let monitor = QuarantineMonitor::new(settings.quarantine.clone());
        Engine::with_monitor(store, source, settings, monitor)
    }

    /// An engine judging its source by `monitor`, which the source reports
    /// its calls to (`amsync_ams::build(…, Some(monitor.clone()))`, which
    /// wraps the source in `amsync_ams::Observed`).
    pub fn with_monitor(
        store: Arc<dyn Store>,
        source: Arc<dyn AmsSource>,
        settings: SyncSettings,
        monitor: Arc<QuarantineMonitor>,
    ) -> Arc<Engine> {
        Engine::with_clock(store, source, settings, monitor, Arc::new(SystemClock))
    }

    /// Like [`Engine::with_monitor`], with the time read from `clock` (a
    /// [`ManualClock`](crate::ManualClock) in tests).
    pub fn with_clock(
        store: Arc<dyn Store>,
        source: Arc<dyn AmsSource>,
        settings: SyncSettings,
        monitor: Arc<QuarantineMonitor>,
        clock: Arc<dyn Clock>,
    ) -> Arc<Engine> {
        let owner = format!("{}#{:08x}", settings.node_id, rand::random::<u32>());
        let supervisor = Supervisor::new(settings.supervisor);
        let shared = Shared {
            store,
            source,
            settings: Arc::new(settings),
            clock,
            signals: Arc::new(Signals::new(monitor)),
            owner: owner.into(),
        };
        let periodic = Arc::new(PeriodicPoll::new(shared.clone()));
        let events = Arc::new(EventsPoll::new(shared.clone()));
        let workers = Arc::new(WorkerPool::new(shared.clone()));
        let rules = RuleRuns::new(shared.clone());
        let recovery = Arc::new(Recovery::new(shared.clone(), periodic.clone(), events.clone(), rules.clone()));
        let upkeep = Arc::new(Upkeep::new(shared.clone(), workers.clone(), recovery.clone(), supervisor.clone()));
        let probe = Arc::new(AmsProbe::new(shared.clone()));
        Arc::new(Engine { shared, supervisor, periodic, events, workers, upkeep, probe, recovery, rules })
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.shared.store
    }

    pub fn source(&self) -> &Arc<dyn AmsSource> {
        &self.shared.source
    }

    pub fn settings(&self) -> &SyncSettings {
        &self.shared.settings
    }

    /// This process as the owner of runs (`node-id#instance`).
    pub fn owner(&self) -> &str {
        &self.shared.owner
    }

    /// The clock the engine reads and waits on.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.shared.clock
    }

    /// The supervisor of this node's long-lived tasks, for the ones the
    /// binary runs beside the engine (web server, retention, reloads).
    pub fn supervisor(&self) -> &Arc<Supervisor> {
        &self.supervisor
    }

    /// Loads the paused state from the store (another node, or an earlier
    /// run, may have paused or quarantined the source).
    pub async fn load_state(&self) -> Result<(), SyncError> {
        self.shared.load_state().await
    }

    /// Runs everything: periodic scheduler, events scheduler, workers and
    /// maintenance, until `shutdown` is cancelled. In-flight refreshes finish
    /// (or are left to their lease) before it returns.
    pub async fn run(&self, shutdown: CancellationToken) -> Result<(), SyncError> {
        self.load_state().await?;
        let (periodic, events, probe) = (self.periodic.clone(), self.events.clone(), self.probe.clone());
        join_all([
            self.supervise(TaskName::PeriodicPoll, &shutdown, move |stop| periodic.clone().run(stop)),
            self.supervise(TaskName::EventsSync, &shutdown, move |stop| events.clone().run(stop)),
            self.supervise_workers(&shutdown),
            self.supervise_upkeep(&shutdown, true),
            self.supervise(TaskName::Reachability, &shutdown, move |stop| probe.clone().run(stop)),
        ])
        .await;
        Ok(())
    }

    /// Workers only (extra nodes, and `amsync refresh` when no node serves).
    pub async fn run_workers_only(&self, shutdown: CancellationToken) -> Result<(), SyncError> {
        self.load_state().await?;
        join_all([self.supervise_workers(&shutdown), self.supervise_upkeep(&shutdown, true)]).await;
        Ok(())
    }

    /// Works the queue on this node (workers and upkeep) until `run` has
    /// finished or `timeout` passes. Used by `amsync refresh` when no node
    /// serves, by the benchmarks and by tests.
    pub async fn work_until_run_done(
        &self,
        run: amsync_store::RunId,
        timeout: Option<std::time::Duration>,
    ) -> Result<Option<amsync_store::Run>, SyncError> {
        self.load_state().await?;
        let stop = CancellationToken::new();
        // Runs a dead process left are not adopted here: this process ends
        // with its own run, and would leave them half done again.
        let tasks = [self.supervise_workers(&stop), self.supervise_upkeep(&stop, false)];
        let result = self.wait_for_run(run, timeout).await;
        stop.cancel();
        join_all(tasks).await;
        result
    }

    fn supervise_workers(&self, stop: &CancellationToken) -> JoinHandle<()> {
        let workers = self.workers.clone();
        self.supervise(TaskName::Workers, stop, move |stop| workers.clone().run(stop))
    }

    fn supervise_upkeep(&self, stop: &CancellationToken, adopts: bool) -> JoinHandle<()> {
        let upkeep = self.upkeep.clone();
        self.supervise(TaskName::Upkeep, stop, move |stop| upkeep.clone().run(stop, adopts))
    }

    /// Runs one task under the supervisor: `start` makes its future, again
    /// after each failure.
    fn supervise<F, Fut>(&self, task: TaskName, stop: &CancellationToken, start: F) -> JoinHandle<()>
    where
        F: Fn(CancellationToken) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let token = stop.clone();
        self.supervisor.spawn(task, stop.clone(), move || start(token.clone()))
    }

    /// The engine's part of the status, gathered from its tasks.
    pub fn status(&self) -> EngineStatus {
        let per_minute = self.workers.per_minute();
        EngineStatus {
            node_id: self.shared.settings.node_id.clone(),
            next_periodic_refresh: self.periodic.next_at(),
            next_events_sync: self.events.next_at(),
            refreshes_last_minute: per_minute.last().copied().unwrap_or(0),
            refreshes_last_hour: per_minute.iter().sum(),
            refreshes_per_minute: per_minute,
            inflight: self.workers.inflight(),
            workers: self.shared.settings.workers,
            phases: self.workers.phases(),
            ams: self.probe.get(),
            quarantine: self.shared.signals.quarantine().status(),
            task_restarts: self.supervisor.restarts(),
        }
    }
}

/// Waits for supervised tasks (they end only after the stop).
async fn join_all<const N: usize>(tasks: [JoinHandle<()>; N]) {
    for task in tasks {
        if let Err(e) = task.await {
            tracing::error!(error = %e, "a task supervisor ended abnormally");
        }
    }
}
