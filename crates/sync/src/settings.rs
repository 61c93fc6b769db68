//! What the engine needs from the configuration, in plain types (the node
//! builder of `amsync` derives it from `amsync-config`; its tests change
//! what the file has no key for, and the engine's own tests build it
//! directly).

use std::time::Duration;

use amsync_core::queue::RetryPolicy;

use crate::quarantine::QuarantineSettings;
use crate::schedule::Schedule;
use crate::supervise::SupervisorSettings;

#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// This node's id in heartbeats and claims.
    pub node_id: String,
    /// `serve`, `worker`, `refresh`, `demo`, `bench`.
    pub role: String,
    pub periodic: Schedule,
    pub overlap: Duration,
    pub events: Schedule,
    /// Member refreshes in flight at once.
    pub workers: usize,
    pub retry: RetryPolicy,
    /// Claim lease; renewed every third of it while a refresh runs.
    pub lease: Duration,
    /// Attempts of one listing page within a poll before the poll fails.
    pub page_attempts: u32,
    /// Pages one poll may read before it is cut short as runaway paging.
    pub max_pages: u64,
    /// How often idle workers look at the queue when nothing woke them.
    pub idle_poll: Duration,
    /// How often a source paused for bad credentials is probed.
    pub probe_interval: Duration,
    /// How often expired leases are rescued.
    pub rescue_interval: Duration,
    /// How often this node's heartbeat is written.
    pub heartbeat_interval: Duration,
    /// How often the AMS is probed for the reachability shown on the
    /// dashboard and in `/metrics`.
    pub reachability_interval: Duration,
    /// How long a reachability probe may take.
    pub reachability_timeout: Duration,
    /// `[quarantine]`: when a failing source is stopped and how it recovers.
    pub quarantine: QuarantineSettings,
    /// The pauses before a failed long-lived task is restarted.
    pub supervisor: SupervisorSettings,
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            node_id: default_node_id(),
            role: "serve".into(),
            periodic: Schedule::Interval(Duration::from_secs(30 * 60)),
            overlap: Duration::from_secs(120),
            events: Schedule::Interval(Duration::from_secs(30 * 60)),
            workers: 16,
            retry: RetryPolicy::default(),
            lease: Duration::from_secs(120),
            page_attempts: 4,
            max_pages: 100_000,
            idle_poll: Duration::from_millis(500),
            probe_interval: Duration::from_secs(60),
            rescue_interval: Duration::from_secs(30),
            heartbeat_interval: Duration::from_secs(5),
            reachability_interval: Duration::from_secs(60),
            reachability_timeout: Duration::from_secs(10),
            quarantine: QuarantineSettings::default(),
            supervisor: SupervisorSettings::default(),
        }
    }
}

/// `hostname-pid`, unique enough to tell nodes apart in claims and heartbeats.
pub fn default_node_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
    let host = if host.is_empty() { "node".to_string() } else { host };
    format!("{host}-{}", std::process::id())
}
