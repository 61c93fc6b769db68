//! `[log]`: the format and level of amsync's log lines.

use serde::{Deserialize, Serialize};

use crate::error::Problems;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// `[log]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A level (`info`) or a filter (`info,amsync_sync=debug`); `RUST_LOG`
    /// wins when set. Unset, each command picks its own: `info` for
    /// `serve`, `warn` beside the lines of a command a person reads
    /// (`refresh`, `status`, …) unless it is given `--verbose`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
}

const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

/// Whether `filter` is a level or a comma-separated list of levels and
/// `target=level` directives.
pub fn is_valid_level_filter(filter: &str) -> bool {
    let level_ok = |l: &str| LEVELS.iter().any(|x| x.eq_ignore_ascii_case(l));
    let target_ok = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    !filter.trim().is_empty()
        && filter.split(',').all(|d| match d.trim().split_once('=') {
            Some((target, level)) => target_ok(target) && level_ok(level),
            // A bare target (`amsync_sync`, meaning "everything") is more
            // likely a misspelt level here; refuse it.
            None => level_ok(d.trim()),
        })
}

impl LogConfig {
    pub(crate) fn check(&self, p: &mut Problems) {
        if let Some(level) = self.level.as_deref().filter(|l| !is_valid_level_filter(l)) {
            p.add(
                "log.level",
                format!("{level:?} is not a level (trace, debug, info, warn, error, off) or target=level list"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_valid_level_filter;

    #[test]
    fn level_filters() {
        for ok in ["info", "WARN", "info,amsync_sync=debug", "amsync_web::sso=trace", "off"] {
            assert!(is_valid_level_filter(ok), "{ok}");
        }
        for bad in ["", "loud", "info,", "=debug", "amsync-sync=debug", "info,x=verbose"] {
            assert!(!is_valid_level_filter(bad), "{bad}");
        }
    }
}
