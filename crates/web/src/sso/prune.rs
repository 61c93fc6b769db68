//! Pruning of sign-on state: sessions past their lifetime or idle timeout,
//! expired mobile tokens and single-use token ids past their expiry. Reads
//! never return such rows anyway; this only keeps the tables small.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::state::AppState;

/// Prunes every `every` until `stop` is cancelled. Any node may run it:
/// the deletes are idempotent.
pub async fn run(state: AppState, every: Duration, stop: CancellationToken) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let idle = state.sign_on.settings.sessions.idle_timeout;
        match state.store.prune_auth(chrono::Utc::now(), idle).await {
            Ok(p) if p.sessions + p.tokens + p.token_ids > 0 => {
                tracing::debug!(
                    sessions = p.sessions,
                    tokens = p.tokens,
                    token_ids = p.token_ids,
                    "pruned sign-on state"
                )
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not prune sign-on state"),
        }
    }
}
