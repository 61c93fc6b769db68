//! Whether the AMS answers: a cheap probe (the source's health method, or
//! the cheapest call where the AMS has none) run every
//! `SyncSettings::reachability_interval` by the engine's upkeep, and cached
//! so the dashboard, `/api/v1/sync/status` and `/metrics` read it for free.
//! `amsync status`, which runs no engine, probes once itself with [`probe`].
//!
//! Metric: `amsync_ams_reachable` (gauge, 1 or 0; absent before the first
//! probe). The probe is an AMS call like any other, so it is also counted
//! in `amsync_ams_calls_total{method="health"}`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use amsync_ams::AmsSource;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::shared::Shared;

pub const REACHABLE_GAUGE: &str = "amsync_ams_reachable";

/// The last probe's result. `reachable` is `None` before the first probe.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Reachability {
    pub reachable: Option<bool>,
    pub checked_at: Option<DateTime<Utc>>,
    /// How long the probe took.
    pub latency_ms: Option<u64>,
    /// Why the last probe failed (never holds a secret: it is the source's
    /// error, which names the part and the HTTP status).
    pub error: Option<String>,
    /// When a probe last succeeded.
    pub last_ok_at: Option<DateTime<Utc>>,
}

/// Probes the source once, within `timeout`. `previous` carries
/// `last_ok_at` forward.
pub async fn probe(source: &dyn AmsSource, timeout: Duration, previous: &Reachability) -> Reachability {
    let started = Instant::now();
    let result = tokio::time::timeout(timeout, source.health()).await;
    let latency_ms = Some(started.elapsed().as_millis() as u64);
    let now = Utc::now();
    let (reachable, error) = match result {
        Ok(Ok(())) => (true, None),
        Ok(Err(e)) => (false, Some(e.to_string())),
        Err(_) => (false, Some(format!("no answer within {} ms", timeout.as_millis()))),
    };
    Reachability {
        reachable: Some(reachable),
        checked_at: Some(now),
        latency_ms,
        error,
        last_ok_at: if reachable { Some(now) } else { previous.last_ok_at },
    }
}

/// The probe task: it owns the cached result, which the status reads.
pub(crate) struct AmsProbe {
    shared: Shared,
    cache: Mutex<Reachability>,
}

impl AmsProbe {
    pub fn new(shared: Shared) -> AmsProbe {
        AmsProbe { shared, cache: Mutex::default() }
    }

    /// The last probe's result.
    pub fn get(&self) -> Reachability {
        self.cache.lock().expect("reachability lock").clone()
    }

    /// Probes the AMS now and caches the result.
    pub async fn probe_now(&self) -> Reachability {
        let s = &self.shared;
        let r = probe(s.source.as_ref(), s.settings.reachability_timeout, &self.get()).await;
        if let Some(ok) = r.reachable {
            metrics::gauge!(REACHABLE_GAUGE).set(if ok { 1.0 } else { 0.0 });
            if !ok {
                tracing::warn!(error = r.error.as_deref().unwrap_or("-"), "the AMS did not answer its probe");
            }
        }
        *self.cache.lock().expect("reachability lock") = r.clone();
        r
    }

    /// Probes every `reachability_interval` until shut down. Runs with the
    /// scheduler (`Engine::run`), not on worker-only nodes: one probe per
    /// deployment is enough.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let every = self.shared.settings.reachability_interval.max(Duration::from_millis(50));
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {
                    self.probe_now().await;
                }
            }
        }
    }
}
