//! The engine: owns the source, the store and the settings, and runs the
//! scheduler, the workers and the maintenance tasks until shut down, each
//! under the [`Supervisor`] (restarted after a panic, never silently gone).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use amsync_ams::AmsSource;
use amsync_store::{SourceState, Store};
use chrono::{DateTime, Utc};
use serde_json::json;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::error::SyncError;
use crate::quarantine::QuarantineMonitor;
use crate::settings::SyncSettings;
use crate::supervise::{Supervisor, TaskName};
use crate::worker::Throughput;

/// The sync engine. Cheap to share (`Arc<Engine>`).
pub struct Engine {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) source: Arc<dyn AmsSource>,
    pub(crate) settings: SyncSettings,
    /// Wakes idle workers when entries are enqueued or the source resumes.
    pub(crate) wake: Notify,
    /// Mirror of the store's source state, so workers need not read it per claim.
    pub(crate) paused: AtomicBool,
    pub(crate) schedule_state: Mutex<ScheduleState>,
    pub(crate) throughput: Throughput,
    pub(crate) inflight: crate::maintenance::Inflight,
    pub(crate) phases: crate::timing::PhaseTimes,
    pub(crate) reachability: crate::reachability::ReachabilityCache,
    /// The quarantine's window and verdict (shared with the source's
    /// call observer when wired with [`Engine::with_monitor`]).
    pub(crate) quarantine: Arc<QuarantineMonitor>,
    /// This process as the owner of the runs it starts or adopts:
    /// `node-id#instance`, another value in every process.
    pub(crate) owner: String,
    /// Restarts this node's long-lived tasks when they fail.
    pub(crate) supervisor: Arc<Supervisor>,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct ScheduleState {
    pub next_periodic: Option<DateTime<Utc>>,
    pub next_events: Option<DateTime<Utc>>,
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
        let owner = format!("{}#{:08x}", settings.node_id, rand::random::<u32>());
        let supervisor = Supervisor::new(settings.supervisor);
        Arc::new(Engine {
            owner,
            store,
            source,
            settings,
            supervisor,
            wake: Notify::new(),
            paused: AtomicBool::new(false),
            schedule_state: Mutex::new(ScheduleState::default()),
            throughput: Throughput::default(),
            inflight: Default::default(),
            phases: Default::default(),
            reachability: Default::default(),
            quarantine: monitor,
        })
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn source(&self) -> &Arc<dyn AmsSource> {
        &self.source
    }

    pub fn settings(&self) -> &SyncSettings {
        &self.settings
    }

    /// This process as the owner of runs (`node-id#instance`).
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The supervisor of this node's long-lived tasks, for the ones the
    /// binary runs beside the engine (web server, retention, reloads).
    pub fn supervisor(&self) -> &Arc<Supervisor> {
        &self.supervisor
    }

    /// Runs one of the engine's loops under the supervisor.
    fn supervise<F, Fut>(self: &Arc<Self>, task: TaskName, stop: &CancellationToken, run: F) -> JoinHandle<()>
    where
        F: Fn(Arc<Engine>, CancellationToken) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let (engine, token) = (self.clone(), stop.clone());
        self.supervisor.spawn(task, stop.clone(), move || run(engine.clone(), token.clone()))
    }

    /// Loads the paused state from the store (another node, or an earlier
    /// run, may have paused or quarantined the source).
    pub async fn load_state(&self) -> Result<(), SyncError> {
        let state = self.store.source_state().await?;
        self.follow_state(&state);
        Ok(())
    }

    /// Mirrors the stored source state: paused or not, and the quarantine.
    pub(crate) fn follow_state(&self, state: &SourceState) -> bool {
        let was = self.paused.swap(state.paused, Ordering::SeqCst);
        match state.reason.as_deref().filter(|_| state.paused) {
            Some(r) if crate::status::is_quarantine_reason(r) => self.quarantine.mark_quarantined(r),
            _ => {
                if self.quarantine.state() == crate::quarantine::QuarantineState::Quarantined {
                    // Resumed elsewhere (the API, another node).
                    self.quarantine.reset();
                }
            }
        }
        was
    }

    /// Runs everything: periodic scheduler, events scheduler, workers and
    /// maintenance, until `shutdown` is cancelled. In-flight refreshes finish
    /// (or are left to their lease) before it returns.
    pub async fn run(self: &Arc<Self>, shutdown: CancellationToken) -> Result<(), SyncError> {
        self.load_state().await?;
        let tasks = [
            self.supervise(TaskName::PeriodicPoll, &shutdown, crate::poll::run_scheduler),
            self.supervise(TaskName::EventsSync, &shutdown, crate::events::run_scheduler),
            self.supervise(TaskName::Workers, &shutdown, crate::worker::run_workers),
            self.supervise(TaskName::Upkeep, &shutdown, |e, s| crate::maintenance::run(e, s, true)),
            self.supervise(TaskName::Reachability, &shutdown, crate::reachability::run),
        ];
        join_all(tasks).await;
        Ok(())
    }

    /// Workers only (extra nodes, and `amsync refresh` when no node serves).
    pub async fn run_workers_only(self: &Arc<Self>, shutdown: CancellationToken) -> Result<(), SyncError> {
        self.load_state().await?;
        join_all([
            self.supervise(TaskName::Workers, &shutdown, crate::worker::run_workers),
            self.supervise(TaskName::Upkeep, &shutdown, |e, s| crate::maintenance::run(e, s, true)),
        ])
        .await;
        Ok(())
    }

    /// Paused by an admin, bad credentials or the quarantine (also in the
    /// instant between the quarantine's verdict and its record in the store).
    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst) || self.quarantine.is_active()
    }

    /// Quarantined (or about to be recorded so): attempts stop counting and
    /// nobody is disabled.
    pub fn is_quarantined(&self) -> bool {
        self.quarantine.is_active()
    }

    /// The quarantine's monitor, to report a source's calls to.
    pub fn quarantine_monitor(&self) -> &Arc<QuarantineMonitor> {
        &self.quarantine
    }

    /// Stops polling and refreshing (AMS maintenance, or bad credentials).
    pub async fn pause(&self, reason: &str) -> Result<(), SyncError> {
        let state = SourceState { paused: true, reason: Some(reason.to_string()), since: Some(Utc::now()) };
        self.store.set_source_state(&state).await?;
        if !self.paused.swap(true, Ordering::SeqCst) {
            tracing::warn!(reason, "sync paused");
            metrics::counter!("amsync_source_pauses_total").increment(1);
        }
        Ok(())
    }

    /// Resumes polling and refreshing (an admin's resume also ends a
    /// quarantine, with an empty window).
    pub async fn resume(&self) -> Result<(), SyncError> {
        let state = SourceState { paused: false, reason: None, since: Some(Utc::now()) };
        self.store.set_source_state(&state).await?;
        self.quarantine.reset();
        if self.paused.swap(false, Ordering::SeqCst) {
            tracing::info!("sync resumed");
        }
        self.wake.notify_waiters();
        Ok(())
    }

    /// Wakes idle workers (after an enqueue).
    pub fn wake_workers(&self) {
        self.wake.notify_waiters();
    }

    pub fn status(&self) -> EngineStatus {
        let s = self.schedule_state.lock().expect("schedule state lock").clone();
        let per_minute = self.throughput.per_minute(Utc::now());
        EngineStatus {
            node_id: self.settings.node_id.clone(),
            next_periodic_refresh: s.next_periodic,
            next_events_sync: s.next_events,
            refreshes_last_minute: per_minute.last().copied().unwrap_or(0),
            refreshes_last_hour: per_minute.iter().sum(),
            refreshes_per_minute: per_minute,
            inflight: self.inflight.len(),
            workers: self.settings.workers,
            phases: self.phases.averages(),
            ams: self.reachability.get(),
            quarantine: self.quarantine.status(),
            task_restarts: self.supervisor.restarts(),
        }
    }

    /// The last AMS probe (see [`crate::reachability`]).
    pub fn reachability(&self) -> crate::reachability::Reachability {
        self.reachability.get()
    }

    /// Probes the AMS now and caches the result.
    pub async fn probe_ams(&self) -> crate::reachability::Reachability {
        let previous = self.reachability.get();
        let r = crate::reachability::probe(self.source.as_ref(), self.settings.reachability_timeout, &previous).await;
        self.reachability.set(r.clone());
        r
    }

    /// Enqueues keys as one run of `trigger` (manual refresh, webhook, a
    /// community's members…). The run finishes when its entries settle.
    pub async fn refresh_keys(
        &self,
        keys: &[amsync_core::MemberKey],
        trigger: amsync_core::Trigger,
        params: serde_json::Value,
    ) -> Result<amsync_store::RunId, SyncError> {
        let now = Utc::now();
        let run = self.store.start_owned_run(trigger, now, None, params, &self.run_lease()).await?;
        let res = self.store.enqueue(keys, trigger, Some(run), now).await?;
        let counts = amsync_store::RunCounts {
            listed: keys.len() as u64,
            enqueued: res.created,
            merged: res.merged,
            ..Default::default()
        };
        self.store.add_run_counts(run, &counts).await?;
        self.store.finish_listing(run, Utc::now(), None, None).await?;
        self.wake_workers();
        Ok(run)
    }

    /// Re-applies community rules to every member from stored payloads, as a
    /// `rules` run, without calling the AMS.
    pub async fn reapply_rules(
        &self,
        rules: &amsync_core::rules::RuleSet,
    ) -> Result<(amsync_store::RunId, amsync_store::ReapplySummary), SyncError> {
        let now = Utc::now();
        let trigger = amsync_core::Trigger::Rules;
        let params = json!({ "rules": rules.rules });
        let run = self.store.start_owned_run(trigger, now, None, params, &self.run_lease()).await?;
        let summary = self.holding_lease(run, self.reapply_rules_in(run, rules)).await?;
        Ok((run, summary))
    }

    /// Re-applies `rules` as the (started) run `run`, and ends it.
    pub(crate) async fn reapply_rules_in(
        &self,
        run: amsync_store::RunId,
        rules: &amsync_core::rules::RuleSet,
    ) -> Result<amsync_store::ReapplySummary, SyncError> {
        let trigger = amsync_core::Trigger::Rules;
        let result = self.store.reapply_rules(rules, trigger, Some(run), Utc::now()).await;
        match result {
            Ok(summary) => {
                // The store counts refreshed/changed/unchanged on the run as
                // each batch commits; the listing count is the engine's.
                let counts = amsync_store::RunCounts { listed: summary.members, ..Default::default() };
                self.store.add_run_counts(run, &counts).await?;
                self.store.finish_run(run, Utc::now(), amsync_store::RunOutcome::Succeeded, None).await?;
                Ok(summary)
            }
            Err(e) => {
                let msg = e.to_string();
                self.store.finish_run(run, Utc::now(), amsync_store::RunOutcome::Failed, Some(msg)).await?;
                Err(e.into())
            }
        }
    }
}

impl Engine {
    /// Waits until `run` has finished (without working the queue), or until
    /// `timeout`. Returns the run as last read.
    pub async fn wait_for_run(
        &self,
        run: amsync_store::RunId,
        timeout: Option<std::time::Duration>,
    ) -> Result<Option<amsync_store::Run>, SyncError> {
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        loop {
            // Poll the outcome alone; the whole run (with its pending count,
            // which reads every entry of the run) only once at the end.
            let outcome = self.store.run_outcome(run).await?;
            let done = outcome.is_none_or(|o| o != amsync_store::RunOutcome::Running);
            if done || deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                return Ok(self.store.get_run(run).await?);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Works the queue on this node (workers and upkeep) until `run` has
    /// finished or `timeout` passes. Used by `amsync refresh` when no node
    /// serves, by the benchmarks and by tests.
    pub async fn work_until_run_done(
        self: &Arc<Self>,
        run: amsync_store::RunId,
        timeout: Option<std::time::Duration>,
    ) -> Result<Option<amsync_store::Run>, SyncError> {
        self.load_state().await?;
        let stop = CancellationToken::new();
        // Runs a dead process left are not adopted here: this process ends
        // with its own run, and would leave them half done again.
        let tasks = [
            self.supervise(TaskName::Workers, &stop, crate::worker::run_workers),
            self.supervise(TaskName::Upkeep, &stop, |e, s| crate::maintenance::run(e, s, false)),
        ];
        let result = self.wait_for_run(run, timeout).await;
        stop.cancel();
        join_all(tasks).await;
        result
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
