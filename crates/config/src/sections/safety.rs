//! `[quarantine]` and `[thresholds]`: the safety nets that stop a failing
//! source or a mass deletion from doing damage (product.md job 10).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::Problems;
use crate::values::text;

/// `[quarantine]`: when a failing source is stopped, and how it recovers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuarantineConfig {
    /// Share of AMS calls (or of GetMemberDetails 404s) over `window` beyond
    /// which the source is quarantined.
    pub failure_share: f64,
    /// Fewest calls in `window` before the share is judged.
    pub min_calls: u32,
    #[serde(with = "text")]
    pub window: Duration,
    /// Probe interval while quarantined.
    #[serde(with = "text")]
    pub poll_floor: Duration,
    /// Good probes in a row that end the quarantine.
    pub recover_probes: u32,
}

impl Default for QuarantineConfig {
    fn default() -> Self {
        QuarantineConfig {
            failure_share: 0.8,
            min_calls: 50,
            window: Duration::from_secs(5 * 60),
            poll_floor: Duration::from_secs(3600),
            recover_probes: 3,
        }
    }
}

impl QuarantineConfig {
    pub(crate) fn check(&self, p: &mut Problems) {
        if !(self.failure_share > 0.0 && self.failure_share <= 1.0) {
            p.add("quarantine.failure_share", "must be more than 0 and at most 1");
        }
        if self.min_calls == 0 {
            p.add("quarantine.min_calls", "must be at least 1");
        }
        if self.window.is_zero() {
            p.add("quarantine.window", "must be more than 0s");
        }
        if self.poll_floor < Duration::from_secs(1) {
            p.add("quarantine.poll_floor", "must be at least 1s");
        }
        if self.recover_probes == 0 {
            p.add("quarantine.recover_probes", "must be at least 1");
        }
    }
}

/// `[thresholds]`: how many disables and membership removals apply before
/// the rest is held for approval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThresholdsConfig {
    /// Disables per `window` beyond which the rest is held.
    pub max_disables: u32,
    /// Share of members active at the window's start beyond which disables are held.
    pub max_disable_share: f64,
    /// Share of current memberships beyond which removals are held.
    pub max_membership_removal_share: f64,
    #[serde(with = "text")]
    pub window: Duration,
}

impl Default for ThresholdsConfig {
    fn default() -> Self {
        ThresholdsConfig {
            max_disables: 100,
            max_disable_share: 0.02,
            max_membership_removal_share: 0.10,
            window: Duration::from_secs(3600),
        }
    }
}

impl ThresholdsConfig {
    pub(crate) fn check(&self, p: &mut Problems) {
        for (key, share) in [
            ("thresholds.max_disable_share", self.max_disable_share),
            ("thresholds.max_membership_removal_share", self.max_membership_removal_share),
        ] {
            if !(0.0..=1.0).contains(&share) {
                p.add(key, "must be between 0 and 1");
            }
        }
        if self.window.is_zero() {
            p.add("thresholds.window", "must be more than 0s");
        }
    }
}
