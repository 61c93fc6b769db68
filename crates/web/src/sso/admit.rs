//! The login-time refresh rules (product.md jobs 3 and 8): may this member,
//! whose key a credential check, token or ID token just gave us, have a
//! session?
//!
//! - known locally and enabled: yes at once, and an asynchronous refresh is
//!   queued at login priority;
//! - unknown locally, or disabled: a *serial* refresh first (bounded in
//!   time); then enabled → yes, still disabled → refused, still unknown →
//!   refused; the AMS not answering → "try again", and no session for
//!   someone we do not know;
//! - disabled by an admin: refused without asking the AMS (the admin's
//!   disable sticks through sign-in);
//! - `ams.kind = "push"`: no login-time refresh at all; unknown or disabled
//!   is refused.

use amsync_core::record::DisabledReason;
use amsync_core::{MemberKey, Trigger};
use amsync_store::{SignInOutcome, StoredMember};
use chrono::Utc;

use super::refusal::Refusal;
use crate::state::AppState;

/// How a member was let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Known and enabled: an asynchronous refresh was queued.
    Known,
    /// Refreshed serially first (unknown or disabled before).
    Refreshed,
}

/// Applies the rules by reading the member (mobile tokens); `Ok` means a
/// session or token may be made. Browser sign-ins use
/// [`amsync_store::AuthStore::sign_in`] for the fast path and
/// [`not_admitted_yet`] for the rest.
pub async fn admit(state: &AppState, key: &MemberKey) -> Result<Admission, Refusal> {
    let stored = state.store.get_member(key).await.map_err(Refusal::internal)?;
    let outcome = match stored {
        Some(m) if m.record.is_active() => {
            if !state.sign_on.settings.push_source {
                queue_login_refresh(state, key).await;
            }
            return Ok(Admission::Known);
        }
        Some(m) => SignInOutcome::Disabled { by_admin: m.record.disabled_reason == Some(DisabledReason::Admin) },
        None => SignInOutcome::Unknown,
    };
    not_admitted_yet(state, key, outcome).await.map(|()| Admission::Refreshed)
}

/// The rules for a member the store found unknown or disabled: refused
/// outright (an admin's disable; a push source), or refreshed serially and
/// then let in only if the AMS says it is active.
pub async fn not_admitted_yet(state: &AppState, key: &MemberKey, outcome: SignInOutcome) -> Result<(), Refusal> {
    let push = state.sign_on.settings.push_source;
    match outcome {
        SignInOutcome::SignedIn => return Ok(()),
        SignInOutcome::Replayed => return Err(Refusal::TokenRefused { reason: "replayed" }),
        SignInOutcome::Disabled { by_admin: true } => return Err(Refusal::Disabled),
        SignInOutcome::Disabled { .. } if push => return Err(Refusal::Disabled),
        SignInOutcome::Unknown if push => return Err(Refusal::UnknownMember { push: true }),
        SignInOutcome::Unknown | SignInOutcome::Disabled { .. } => {}
    }
    serial_refresh(state, key).await?;
    match state.store.get_member(key).await.map_err(Refusal::internal)? {
        Some(StoredMember { record, .. }) if record.is_active() => Ok(()),
        Some(_) => Err(Refusal::Disabled),
        None => Err(Refusal::UnknownMember { push: false }),
    }
}

async fn queue_login_refresh(state: &AppState, key: &MemberKey) {
    // A failure to queue must not refuse a member we know: the next
    // periodic refresh converges anyway.
    match state.store.enqueue(std::slice::from_ref(key), Trigger::Login, None, Utc::now()).await {
        Ok(_) => state.engine.wake_workers(),
        Err(e) => tracing::warn!(member = %key, error = %amsync_core::escaped(&e), "could not queue the login refresh"),
    }
}
async fn serial_refresh(state: &AppState, key: &MemberKey) -> Result<(), Refusal> {
    if state.engine.is_paused() {
        tracing::warn!(member = %key, "login refresh skipped: the source is paused");
        return Err(Refusal::AmsUnavailable);
    }
    let limit = state.sign_on.settings.login_refresh_timeout;
    match tokio::time::timeout(limit, state.engine.refresh_member_now(key, Trigger::Login, None)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => {
            tracing::warn!(member = %key, error = %amsync_core::escaped(&e), "login refresh failed");
            Err(Refusal::AmsUnavailable)
        }
        Err(_) => {
            tracing::warn!(member = %key, timeout_ms = limit.as_millis() as u64, "login refresh timed out");
            Err(Refusal::AmsUnavailable)
        }
    }
}
