//! The sync engine: it wires an [`AmsSource`] to a [`Store`].
//!
//! [`Engine`] only composes the node's tasks; each task is a type that
//! owns its state and is built from the shared handles (`shared.rs`: store,
//! source, settings, [`Clock`], the `signals.rs` paused/quarantine/wake
//! signals, the owner name):
//!
//! - [`poll`]: `PeriodicPoll`, Periodic Refresh and full refresh: list
//!   changed members page by page, enqueue them, move the watermark by the
//!   rules of `amsync_core::watermark`, reconcile a complete listing; owns
//!   its timetable (`timetable.rs`: when it is next due).
//! - [`events`]: `EventsPoll`, the events sync with its own watermark and
//!   timetable.
//! - [`worker`]: `WorkerPool`, claims due queue entries and runs Member
//!   Refresh on them with bounded concurrency; owns the claims in flight,
//!   the throughput and the phase times. The failures' fate follows
//!   `amsync_core::queue`.
//! - [`refresh`]: one Member Refresh: the three parts fetched concurrently and
//!   turned into a single [`RefreshCommit`].
//! - `listing`: the one listing loop of members and events (page retries,
//!   `ams.max_pages`, the repeated-cursor check, refused entries), each run's
//!   lease and its durable checkpoint.
//! - [`recovery`]: `Recovery`, runs a dead process left (its lease ran out)
//!   are adopted and resumed or restarted, at start and on every heartbeat.
//! - [`maintenance`]: `Upkeep`, which times lease renewal, the rescuer of
//!   expired leases, the node heartbeat, the probe that resumes a source
//!   paused for bad credentials, the recovery's look, and the quarantine's
//!   pause and probes.
//! - [`quarantine`]: the sliding window of AMS call outcomes that quarantines
//!   a failing source (fed by the source's `CallObserver` hook).
//! - [`safety`]: what the engine does for the safety nets: the quarantine's
//!   transitions, the control call behind a suspicious 404.
//! - [`rules`]: rule re-applies and the approvals of changes held past the
//!   threshold.
//! - [`schedule`]: interval or cron schedules; [`clock`]: the injected time.
//! - [`reachability`]: `AmsProbe`, the cached AMS probe shown on the dashboard.
//! - [`status`]: the health summary of the API, the dashboard and `amsync status`.
//! - [`supervise`]: restarts a long-lived task that panicked, after a pause,
//!   and counts it (`amsync_task_restarts_total{task}`, the status).
//!
//! **Architecture invariants:** the engine holds no database transaction
//! across an AMS call (claim → fetch → commit are separate steps, the commit
//! guarded by the claim's fencing token); retries belong to the queue, never
//! to the HTTP client; only a GetMemberDetails 404/410, an AMS `disabled`
//! status (both within the deletion threshold, never while quarantined) or an
//! admin's action disables a member. Every *when* the engine decides (a
//! scheduled job's due time, a retry's, a lease's end, a page retry's wait)
//! comes from its [`Clock`].
//!
//! [`AmsSource`]: amsync_ams::AmsSource
//! [`Store`]: amsync_store::Store
//! [`RefreshCommit`]: amsync_store::RefreshCommit

pub mod clock;
pub mod engine;
pub mod error;
pub mod events;
mod listing;
pub mod maintenance;
pub mod poll;
pub mod quarantine;
pub mod reachability;
pub mod recovery;
pub mod refresh;
pub mod rules;
pub mod safety;
pub mod schedule;
pub mod settings;
mod shared;
mod signals;
pub mod status;
pub mod supervise;
#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;
mod timetable;
mod timing;
pub mod worker;

pub use clock::{Clock, ManualClock, SystemClock};
pub use engine::{Engine, EngineStatus};
pub use error::SyncError;
pub use poll::PollMode;
pub use quarantine::{QuarantineMonitor, QuarantineSettings, QuarantineState, QuarantineStatus};
pub use reachability::Reachability;
pub use recovery::AdoptedRun;
pub use rules::RuleProposal;
pub use schedule::Schedule;
pub use settings::SyncSettings;
pub use status::{sync_status, JobStatus, SyncStatus};
pub use supervise::{Supervisor, SupervisorSettings, TaskName};
pub use timing::PhaseAverages;
