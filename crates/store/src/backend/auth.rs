//! Sign-on state: sessions, mobile tokens and used SSO token ids. When a
//! session ends is `amsync_core::session`; the sign-in and the lookup that
//! keeps a session alive are written once in `ops/auth.rs` and
//! `layered/auth.rs`.

use std::future::Future;

use amsync_core::record::{DisabledReason, MemberStatus};
use chrono::{DateTime, Utc};

use crate::auth_api::{MobileToken, NewMobileToken, NewSession, RevokedAuth, Session};
use crate::error::Result;

/// Single operations on sign-on state inside a transaction.
pub trait AuthTx: Send {
    /// Deletes every session and mobile token of `key` (a disable revokes
    /// them in its own transaction).
    fn revoke_member_auth(&mut self, key: &str) -> impl Future<Output = Result<RevokedAuth>> + Send;

    /// The member's state, as a sign-in checks it (`None`: no such member).
    fn sign_in_state(
        &mut self,
        key: &str,
    ) -> impl Future<Output = Result<Option<(MemberStatus, Option<DisabledReason>)>>> + Send;

    /// Inserts a session, last seen at its creation.
    fn insert_session(&mut self, session: &NewSession) -> impl Future<Output = Result<()>> + Send;

    /// Deletes a session; false when there was none.
    fn delete_session(&mut self, id_hash: &str) -> impl Future<Output = Result<bool>> + Send;

    /// Moves a session's `last_seen_at` to `at`, never backwards.
    fn touch_session(&mut self, id_hash: &str, at: DateTime<Utc>) -> impl Future<Output = Result<()>> + Send;

    fn insert_mobile_token(&mut self, token: &NewMobileToken) -> impl Future<Output = Result<()>> + Send;

    /// Deletes a mobile token; false when there was none.
    fn delete_mobile_token(&mut self, hash: &str) -> impl Future<Output = Result<bool>> + Send;

    /// Inserts a used SSO token id unless it is there: false when it was
    /// (a replay). A unique insert, so it holds across nodes.
    fn insert_token_id(&mut self, id: &str, expires_at: DateTime<Utc>) -> impl Future<Output = Result<bool>> + Send;

    /// Deletes the sessions that expired at or before `now` or were last
    /// seen before `idle_before`; returns how many.
    fn delete_stale_sessions(
        &mut self,
        now: DateTime<Utc>,
        idle_before: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64>> + Send;

    /// Deletes the mobile tokens that expired at or before `now`.
    fn delete_expired_mobile_tokens(&mut self, now: DateTime<Utc>) -> impl Future<Output = Result<u64>> + Send;

    /// Deletes the used token ids that expired at or before `now`.
    fn delete_expired_token_ids(&mut self, now: DateTime<Utc>) -> impl Future<Output = Result<u64>> + Send;
}

/// Reads of sign-on state.
pub trait AuthReads: Send + Sync {
    /// The live token with this hash (not expired at `now`).
    fn mobile_token(&self, hash: &str, now: DateTime<Utc>) -> impl Future<Output = Result<Option<MobileToken>>> + Send;

    /// The session with this id hash, as stored (expired or not).
    fn stored_session(&self, id_hash: &str) -> impl Future<Output = Result<Option<Session>>> + Send;
}
