//! The loop of a scheduled job (the periodic poll, the events sync): when
//! it is next due, by its [`Schedule`] and the start of its last run, read
//! from the [`Clock`](crate::clock::Clock) and waited for on it. The due
//! time is the timetable's own state, shown in the status.

use std::future::Future;
use std::sync::Mutex;

use amsync_core::Trigger;
use amsync_store::RunFilter;
use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::error::SyncError;
use crate::schedule::Schedule;
use crate::shared::Shared;

#[derive(Debug)]
pub(crate) struct Timetable {
    /// The runs whose last start the schedule counts from.
    kind: Trigger,
    /// `"periodic refresh"`, `"events sync"`: in logs.
    what: &'static str,
    /// What it does when its last run cannot be read (`"polling"`): in logs.
    doing: &'static str,
    schedule: Schedule,
    next: Mutex<Option<DateTime<Utc>>>,
}

impl Timetable {
    pub fn new(kind: Trigger, what: &'static str, doing: &'static str, schedule: Schedule) -> Timetable {
        Timetable { kind, what, doing, schedule, next: Mutex::new(None) }
    }

    /// When the job is next due (`None` before its loop started).
    pub fn next_at(&self) -> Option<DateTime<Utc>> {
        *self.next.lock().expect("timetable lock")
    }

    /// Runs `job` whenever it is due, until shut down. A job due while the
    /// source is paused is skipped (the next is due a period later); a
    /// failed job is logged and the schedule goes on.
    pub async fn run<F, Fut, T>(&self, shared: &Shared, shutdown: &CancellationToken, mut job: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SyncError>>,
    {
        let filter = RunFilter { kind: Some(self.kind), limit: 1, ..Default::default() };
        let mut last = match shared.store.list_runs(&filter).await {
            Ok(runs) => runs.first().map(|r| r.started_at),
            Err(e) => {
                tracing::error!(error = %e, "could not read the last {} run; {} now", self.kind, self.doing);
                None
            }
        };
        loop {
            let next = self.schedule.next_after(last, shared.now());
            *self.next.lock().expect("timetable lock") = Some(next);
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = shared.clock.sleep_until(next) => {}
            }
            last = Some(shared.now());
            if shared.signals.is_paused() {
                tracing::info!("{} skipped: the source is paused", self.what);
                continue;
            }
            if let Err(e) = job().await {
                tracing::error!(error = %amsync_core::escaped(&e), "{} failed", self.what);
            }
        }
    }
}
