//! The sync health summary shared by `GET /api/v1/sync/status`, the
//! dashboard and `amsync status` (which reads it from the store alone when
//! no engine runs in the process).

use amsync_core::Trigger;
use amsync_store::{QueueCounts, Run, RunFilter, Store, WATERMARK_EVENTS, WATERMARK_MEMBERS};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::engine::EngineStatus;
use crate::error::SyncError;
use crate::reachability::Reachability;
use crate::schedule::Schedule;

#[derive(Debug, Clone, Serialize)]
pub struct SyncStatus {
    pub paused: bool,
    pub pause_reason: Option<String>,
    pub paused_since: Option<DateTime<Utc>>,
    /// Paused by the quarantine of a failing source (product.md job 10),
    /// told by its pause reason (`"quarantine: …"`).
    pub quarantined: bool,
    /// Whether the AMS answers its probe: the engine's cached probe, or one
    /// made by `amsync status`; absent when nothing probed it.
    pub ams: Option<Reachability>,
    pub periodic_refresh: JobStatus,
    pub full_refresh: Option<Run>,
    pub events: JobStatus,
    pub queue: QueueCounts,
    pub members: u64,
    /// Refresh rates as seen by the engine in this process (absent when
    /// the status was read from the store alone).
    pub engine: Option<EngineStatus>,
    /// Nodes seen in the last 30 seconds.
    pub nodes: Vec<amsync_store::NodeInfo>,
    /// The deletion and removal thresholds, how much of their window is
    /// used, and the approvals waiting (product.md job 10).
    pub thresholds: amsync_store::ThresholdStatus,
}

#[derive(Debug, Clone, Serialize)]
pub struct JobStatus {
    pub last_run: Option<Run>,
    pub next_at: Option<DateTime<Utc>>,
    pub watermark: Option<DateTime<Utc>>,
}

async fn last_run(store: &dyn Store, kind: Trigger) -> Result<Option<Run>, SyncError> {
    Ok(store.list_runs(&RunFilter { kind: Some(kind), limit: 1, ..Default::default() }).await?.into_iter().next())
}

/// Reads the summary. `engine` gives next run times and rates when an
/// engine runs here; otherwise next times are computed from the schedules.
pub async fn sync_status(
    store: &dyn Store,
    engine: Option<EngineStatus>,
    periodic: &Schedule,
    events: &Schedule,
) -> Result<SyncStatus, SyncError> {
    let now = Utc::now();
    let source = store.source_state().await?;
    let periodic_last = last_run(store, Trigger::Periodic).await?;
    let events_last = last_run(store, Trigger::Events).await?;
    let next_periodic = engine
        .as_ref()
        .and_then(|e| e.next_periodic_refresh)
        .or_else(|| Some(periodic.next_after(periodic_last.as_ref().map(|r| r.started_at), now)));
    let next_events = engine
        .as_ref()
        .and_then(|e| e.next_events_sync)
        .or_else(|| Some(events.next_after(events_last.as_ref().map(|r| r.started_at), now)));
    let ams = engine.as_ref().map(|e| e.ams.clone()).filter(|r| r.reachable.is_some());
    Ok(SyncStatus {
        quarantined: source.paused && source.reason.as_deref().is_some_and(is_quarantine_reason),
        ams,
        paused: source.paused,
        pause_reason: source.reason,
        paused_since: if source.paused { source.since } else { None },
        periodic_refresh: JobStatus {
            last_run: periodic_last,
            next_at: next_periodic,
            watermark: store.watermark(WATERMARK_MEMBERS).await?,
        },
        full_refresh: last_run(store, Trigger::Full).await?,
        events: JobStatus {
            last_run: events_last,
            next_at: next_events,
            watermark: store.watermark(WATERMARK_EVENTS).await?,
        },
        queue: store.queue_counts().await?,
        members: store.member_count().await?,
        engine,
        nodes: store.live_nodes(now, std::time::Duration::from_secs(30)).await?,
        thresholds: store.threshold_status(now).await?,
    })
}

/// Whether a pause reason is the quarantine's (its reasons start with
/// `quarantine`).
pub fn is_quarantine_reason(reason: &str) -> bool {
    reason.starts_with("quarantine")
}
