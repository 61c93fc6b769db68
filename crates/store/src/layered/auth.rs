//! [`AuthStore`] over a backend.

use std::time::Duration;

use amsync_core::session::{fate, SessionFate};
use amsync_core::MemberKey;
use chrono::{DateTime, Utc};

use super::Layered;
use crate::auth_api::*;
use crate::backend::Backend;
use crate::error::Result;
use crate::ops::auth::*;

#[async_trait::async_trait]
impl<B: Backend> AuthStore for Layered<B> {
    async fn create_session(&self, session: &NewSession) -> Result<()> {
        self.backend.write(CreateSession { session: session.clone() }).await
    }

    async fn sign_in(&self, sign_in: &SignIn) -> Result<SignInOutcome> {
        self.backend.write(SignInOp { sign_in: sign_in.clone() }).await
    }

    /// A read on the backend's readers; a write only when the session
    /// ended (deleted) or is due a touch (`amsync_core::session::fate`).
    async fn session(&self, id_hash: &str, now: DateTime<Utc>, idle_timeout: Duration) -> Result<Option<Session>> {
        let Some(mut s) = self.backend.stored_session(id_hash).await? else { return Ok(None) };
        match fate(s.expires_at, s.last_seen_at, now, idle_timeout) {
            SessionFate::Ended => {
                self.backend.write(DeleteSession { id_hash: id_hash.to_owned() }).await?;
                Ok(None)
            }
            SessionFate::Touch => {
                self.backend.write(TouchSession { id_hash: id_hash.to_owned(), at: now }).await?;
                s.last_seen_at = now;
                Ok(Some(s))
            }
            SessionFate::Live => Ok(Some(s)),
        }
    }

    async fn delete_session(&self, id_hash: &str) -> Result<bool> {
        self.backend.write(DeleteSession { id_hash: id_hash.to_owned() }).await
    }

    async fn create_mobile_token(&self, token: &NewMobileToken) -> Result<()> {
        self.backend.write(CreateMobileToken { token: token.clone() }).await
    }

    async fn mobile_token(&self, hash: &str, now: DateTime<Utc>) -> Result<Option<MobileToken>> {
        self.backend.mobile_token(hash, now).await
    }

    async fn revoke_mobile_token(&self, hash: &str) -> Result<bool> {
        self.backend.write(RevokeMobileToken { hash: hash.to_owned() }).await
    }

    async fn revoke_member_auth(&self, member: &MemberKey) -> Result<RevokedAuth> {
        self.backend.write(RevokeMemberAuth { member: member.clone() }).await
    }

    async fn use_token_id(&self, id: &str, expires_at: DateTime<Utc>) -> Result<bool> {
        // Refused before it reaches the writer (the op checks it again).
        check_token_id(id)?;
        self.backend.write(UseTokenId { id: id.to_owned(), expires_at }).await
    }

    async fn prune_auth(&self, now: DateTime<Utc>, idle_timeout: Duration) -> Result<PrunedAuth> {
        self.backend.write(PruneAuth { now, idle_timeout }).await
    }
}
