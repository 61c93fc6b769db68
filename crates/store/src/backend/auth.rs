//! Sign-on state: sessions, mobile tokens and used SSO token ids.

use std::future::Future;
use std::time::Duration;

use amsync_core::MemberKey;
use chrono::{DateTime, Utc};

use crate::auth_api::{
    MobileToken, NewMobileToken, NewSession, PrunedAuth, RevokedAuth, Session, SignIn, SignInOutcome,
};
use crate::error::Result;

/// Single operations on sign-on state inside a transaction.
pub trait AuthTx: Send {
    /// Deletes every session and mobile token of `key` (a disable revokes
    /// them in its own transaction).
    fn revoke_member_auth(&mut self, key: &str) -> impl Future<Output = Result<RevokedAuth>> + Send;
}

/// Reads of sign-on state.
pub trait AuthReads: Send + Sync {
    /// The live token with this hash (not expired at `now`).
    fn mobile_token(&self, hash: &str, now: DateTime<Utc>) -> impl Future<Output = Result<Option<MobileToken>>> + Send;
}

/// Sign-on writes still written inside the backend (see the module doc of
/// [`crate::backend`]). Each is one or two statements: porting them is
/// moving each to `AuthTx` and a small op in `ops/auth.rs`.
pub trait AuthWritesPhase2: Send + Sync {
    // seam: phase 2
    fn create_session(&self, session: &NewSession) -> impl Future<Output = Result<()>> + Send;

    // seam: phase 2 — the sign-in fast path (jti, session, login refresh
    // queued through ops/queue.rs) to ops/auth.rs.
    fn sign_in(&self, sign_in: &SignIn) -> impl Future<Output = Result<SignInOutcome>> + Send;

    // seam: phase 2 (a read that may touch `last_seen_at`)
    fn session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
        idle_timeout: Duration,
    ) -> impl Future<Output = Result<Option<Session>>> + Send;

    // seam: phase 2
    fn delete_session(&self, id_hash: &str) -> impl Future<Output = Result<bool>> + Send;

    // seam: phase 2
    fn create_mobile_token(&self, token: &NewMobileToken) -> impl Future<Output = Result<()>> + Send;

    // seam: phase 2
    fn revoke_mobile_token(&self, hash: &str) -> impl Future<Output = Result<bool>> + Send;

    // seam: phase 2 — one op over AuthTx::revoke_member_auth.
    fn revoke_member_auth(&self, member: &MemberKey) -> impl Future<Output = Result<RevokedAuth>> + Send;

    // seam: phase 2
    fn use_token_id(&self, id: &str, expires_at: DateTime<Utc>) -> impl Future<Output = Result<bool>> + Send;

    // seam: phase 2
    fn prune_auth(&self, now: DateTime<Utc>, idle_timeout: Duration)
        -> impl Future<Output = Result<PrunedAuth>> + Send;
}
