//! `[retention]`: how long amsync keeps each kind of data, and how often
//! it prunes what is older (issue 6, data protection).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::Problems;
use crate::values::text;

fn days(n: u64) -> Duration {
    Duration::from_secs(n * 24 * 3600)
}

/// `[retention]`. Every value is a duration; what is older goes at the next
/// pruning pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Member history entries older than this are deleted.
    #[serde(with = "text")]
    pub history: Duration,
    /// Change-feed entries older than this are deleted (the newest always stays).
    #[serde(with = "text")]
    pub change_feed: Duration,
    /// Runs that finished longer ago than this are deleted.
    #[serde(with = "text")]
    pub runs: Duration,
    /// Ended sessions and mobile tokens are deleted this long after they end.
    #[serde(with = "text")]
    pub sessions: Duration,
    /// Used single-use SSO token ids are kept this long after their token expires.
    #[serde(with = "text")]
    pub used_token_ids: Duration,
    /// Members disabled by their source (not by an admin) whose record has
    /// not changed for this long are removed.
    #[serde(with = "text")]
    pub disabled_members: Duration,
    /// How often pruning runs.
    #[serde(with = "text")]
    pub interval: Duration,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            history: days(365),
            change_feed: days(30),
            runs: days(90),
            sessions: days(1),
            used_token_ids: Duration::from_secs(3600),
            disabled_members: days(365),
            interval: Duration::from_secs(3600),
        }
    }
}

impl RetentionConfig {
    pub(crate) fn check(&self, p: &mut Problems) {
        // Keeping a kind of data for less than an hour is almost certainly
        // a unit mistake ("30" days written as "30s" would empty the history).
        for (key, d) in [
            ("retention.history", self.history),
            ("retention.change_feed", self.change_feed),
            ("retention.runs", self.runs),
            ("retention.disabled_members", self.disabled_members),
        ] {
            if d < Duration::from_secs(3600) {
                p.add(key, "must be at least 1h");
            }
        }
        if self.interval < Duration::from_secs(1) {
            p.add("retention.interval", "must be at least 1s");
        }
    }
}
