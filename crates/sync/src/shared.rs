//! The handles every task of the engine is built with: the store, the
//! source, the settings, the clock, the `Signals` and this process's name
//! as an owner of runs. They hold no state of a task; each task keeps its
//! own (see `engine.rs` for who owns what).

use std::sync::Arc;
use std::time::Duration;

use amsync_ams::AmsSource;
use amsync_store::{SourceState, Store};
use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::error::SyncError;
use crate::settings::SyncSettings;
use crate::signals::Signals;

#[derive(Clone)]
pub(crate) struct Shared {
    pub store: Arc<dyn Store>,
    pub source: Arc<dyn AmsSource>,
    pub settings: Arc<SyncSettings>,
    pub clock: Arc<dyn Clock>,
    pub signals: Arc<Signals>,
    /// This process as the owner of the runs it starts or adopts:
    /// `node-id#instance`, another value in every process.
    pub owner: Arc<str>,
}

impl Shared {
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Loads the paused state from the store (another node, or an earlier
    /// run, may have paused or quarantined the source).
    pub async fn load_state(&self) -> Result<(), SyncError> {
        let state = self.store.source_state().await?;
        self.signals.follow(&state);
        Ok(())
    }

    /// Stops polling and refreshing (AMS maintenance, bad credentials, the
    /// quarantine), recorded in the store so other nodes follow.
    pub async fn pause(&self, reason: &str) -> Result<(), SyncError> {
        let state = SourceState { paused: true, reason: Some(reason.to_string()), since: Some(self.now()) };
        self.store.set_source_state(&state).await?;
        if !self.signals.set_paused(true) {
            tracing::warn!(reason, "sync paused");
            metrics::counter!("amsync_source_pauses_total").increment(1);
        }
        Ok(())
    }

    /// Resumes polling and refreshing (a resume also ends a quarantine,
    /// with an empty window).
    pub async fn resume(&self) -> Result<(), SyncError> {
        let state = SourceState { paused: false, reason: None, since: Some(self.now()) };
        self.store.set_source_state(&state).await?;
        self.signals.quarantine().reset();
        if self.signals.set_paused(false) {
            tracing::info!("sync resumed");
        }
        self.signals.wake_workers();
        Ok(())
    }

    /// The queue's backoff before attempt `attempts + 1`, jittered.
    pub fn backoff(&self, attempts: u32, retry_after: Option<Duration>) -> Duration {
        let jitter: f64 = rand::random();
        self.settings.retry.backoff(attempts, jitter, retry_after)
    }
}
