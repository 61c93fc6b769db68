//! The pruning task of `amsync serve` (`[retention]`): every
//! `retention.interval` it asks the store to delete what is past its
//! retention (the store works in bounded batches, see
//! `amsync_store::DataStore::prune`) and counts what went in
//! `amsync_retention_pruned_total{kind}`.

use std::sync::Arc;
use std::time::Duration;

use amsync_config::Config;
use amsync_store::{PruneReport, RetentionPolicy, Store};
use tokio_util::sync::CancellationToken;

/// The first pass waits at most this long after start: long enough not to
/// compete with a start's catching up, short enough that a node restarted
/// often still prunes.
const FIRST_PASS_AFTER: Duration = Duration::from_secs(300);

/// The store's policy from `[retention]` and `[sessions]`.
pub fn policy(cfg: &Config) -> RetentionPolicy {
    let r = &cfg.retention;
    RetentionPolicy {
        history: r.history,
        change_feed: r.change_feed,
        runs: r.runs,
        sessions: r.sessions,
        session_idle_timeout: cfg.sessions.idle_timeout,
        used_token_ids: r.used_token_ids,
        disabled_members: r.disabled_members,
    }
}

fn count(report: &PruneReport) {
    for (kind, n) in [
        ("history", report.history),
        ("change_feed", report.change_feed),
        ("runs", report.runs),
        ("sessions", report.sessions),
        ("mobile_tokens", report.mobile_tokens),
        ("used_token_ids", report.used_token_ids),
        ("disabled_members", report.disabled_members),
        ("approvals", report.approvals),
    ] {
        if n > 0 {
            metrics::counter!("amsync_retention_pruned_total", "kind" => kind).increment(n);
        }
    }
}

/// Prunes every `every` (the first time after `min(every, 5 min)`) until
/// `stop`. Any node may run it: the deletes are idempotent.
pub async fn run(store: Arc<dyn Store>, policy: RetentionPolicy, every: Duration, stop: CancellationToken) {
    let first = tokio::time::Instant::now() + every.min(FIRST_PASS_AFTER);
    let mut tick = tokio::time::interval_at(first, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let started = std::time::Instant::now();
        match store.prune(&policy, chrono::Utc::now()).await {
            Ok(report) => {
                count(&report);
                tracing::debug!(
                    rows = report.total(),
                    batches = report.batches,
                    took_ms = started.elapsed().as_millis() as u64,
                    "retention pass done"
                );
            }
            Err(e) => tracing::warn!(error = %e, "the retention pass failed; it runs again at the next interval"),
        }
    }
}
