//! Sign-on state (product.md job 8): browser sessions, mobile bearer
//! tokens, and the ids of single-use SSO tokens.
//!
//! It lives in the store so that any node serves any member. Session ids
//! and mobile tokens are bearer secrets: the store only ever sees their
//! SHA-256 (`id_hash`), so a copy of the database signs nobody in.
//!
//! **Invariant:** when a member becomes disabled (a refresh that disables
//! it, or an admin's disable), its sessions and mobile tokens are deleted in
//! the same transaction as the disable.

use std::time::Duration;

use amsync_core::MemberKey;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// A browser session to create at sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// SHA-256 (hex) of the session id the cookie carries.
    pub id_hash: String,
    pub member: MemberKey,
    /// The session's CSRF token (sent in forms and `X-CSRF-Token`; useless
    /// without the cookie).
    pub csrf: String,
    /// How the member signed in: `credentials`, `session-variable`, `oidc`.
    pub method: String,
    pub created_at: DateTime<Utc>,
    /// The end of its lifetime (`sessions.lifetime`), whatever its use.
    pub expires_at: DateTime<Utc>,
}

/// A sign-in to record in one write (the fast path of a member known and
/// enabled): the single-use token id, the session, the login refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIn {
    pub session: NewSession,
    /// The SSO token's `jti` and until when to keep it, when the sign-in
    /// came with a single-use token.
    pub token_id: Option<(String, DateTime<Utc>)>,
    /// The session the browser held before (its id hash), deleted.
    pub replaces: Option<String>,
    /// Queue an asynchronous refresh of the member at login priority.
    pub login_refresh: bool,
}

/// What [`AuthStore::sign_in`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInOutcome {
    /// The session was created (and the refresh queued, when asked).
    SignedIn,
    /// The token id was already used: nothing was written.
    Replayed,
    /// The member is not known locally: no session (the token id, when
    /// given, is now used).
    Unknown,
    /// The member is disabled: no session (the token id, when given, is
    /// now used).
    Disabled { by_admin: bool },
}

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub id_hash: String,
    pub member: MemberKey,
    pub csrf: String,
    pub method: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// A mobile bearer token to create (`POST /api/v1/auth/token`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMobileToken {
    /// SHA-256 (hex) of the token.
    pub hash: String,
    pub member: MemberKey,
    /// The grant it was made with: `password` or `id_token`.
    pub grant: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A live mobile token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MobileToken {
    pub hash: String,
    pub member: MemberKey,
    pub grant: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What "sign out everywhere" (or a disable) removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedAuth {
    pub sessions: u64,
    pub tokens: u64,
}

/// What pruning removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrunedAuth {
    pub sessions: u64,
    pub tokens: u64,
    pub token_ids: u64,
}

/// Sessions, mobile tokens and used SSO token ids.
#[async_trait::async_trait]
pub trait AuthStore: Send + Sync {
    /// Stores a new session.
    async fn create_session(&self, session: &NewSession) -> Result<()>;

    /// The whole store side of a sign-in, in one transaction: records the
    /// token id (a replay writes nothing else), then — only when the member
    /// is known and enabled — deletes the session it replaces, creates the
    /// new one and queues the login refresh. An unknown or disabled member
    /// gets no session; the caller then refreshes it serially and uses
    /// [`AuthStore::create_session`].
    async fn sign_in(&self, sign_in: &SignIn) -> Result<SignInOutcome>;

    /// The live session with this id hash, or `None` when there is none,
    /// its lifetime is over (`expires_at <= now`) or it was idle longer
    /// than `idle_timeout`. Using it moves `last_seen_at` to `now`; to spare
    /// the writer, implementations may skip that write while the stored
    /// value is younger than a small fraction of `idle_timeout`.
    async fn session(&self, id_hash: &str, now: DateTime<Utc>, idle_timeout: Duration) -> Result<Option<Session>>;

    /// Deletes one session (sign-out). Returns whether it existed.
    async fn delete_session(&self, id_hash: &str) -> Result<bool>;

    async fn create_mobile_token(&self, token: &NewMobileToken) -> Result<()>;

    /// The live token with this hash (not expired at `now`).
    async fn mobile_token(&self, hash: &str, now: DateTime<Utc>) -> Result<Option<MobileToken>>;

    /// Deletes one mobile token. Returns whether it existed.
    async fn revoke_mobile_token(&self, hash: &str) -> Result<bool>;

    /// Deletes every session and mobile token of a member ("sign out
    /// everywhere").
    async fn revoke_member_auth(&self, member: &MemberKey) -> Result<RevokedAuth>;

    /// Records a single-use SSO token id (`jti`) until `expires_at`, by a
    /// unique insert so it holds across nodes. Returns `false` when the id
    /// was already recorded (a replay).
    async fn use_token_id(&self, id: &str, expires_at: DateTime<Utc>) -> Result<bool>;

    /// Deletes sessions past their lifetime or idle longer than
    /// `idle_timeout`, expired mobile tokens and token ids past their expiry.
    async fn prune_auth(&self, now: DateTime<Utc>, idle_timeout: Duration) -> Result<PrunedAuth>;
}
