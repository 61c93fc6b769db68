//! [`AuthStore`] over a backend.

use std::time::Duration;

use amsync_core::MemberKey;
use chrono::{DateTime, Utc};

use super::Layered;
use crate::auth_api::*;
use crate::backend::{AuthWritesPhase2, Backend};
use crate::error::Result;

// seam: phase 2 — every write below is still the backend's
// (AuthWritesPhase2): create_session, sign_in, session, delete_session,
// create_mobile_token, revoke_mobile_token, revoke_member_auth,
// use_token_id, prune_auth.
#[async_trait::async_trait]
impl<B: Backend> AuthStore for Layered<B> {
    async fn create_session(&self, session: &NewSession) -> Result<()> {
        self.backend.create_session(session).await // seam: phase 2
    }

    async fn sign_in(&self, sign_in: &SignIn) -> Result<SignInOutcome> {
        self.backend.sign_in(sign_in).await // seam: phase 2
    }

    async fn session(&self, id_hash: &str, now: DateTime<Utc>, idle_timeout: Duration) -> Result<Option<Session>> {
        self.backend.session(id_hash, now, idle_timeout).await // seam: phase 2
    }

    async fn delete_session(&self, id_hash: &str) -> Result<bool> {
        self.backend.delete_session(id_hash).await // seam: phase 2
    }

    async fn create_mobile_token(&self, token: &NewMobileToken) -> Result<()> {
        self.backend.create_mobile_token(token).await // seam: phase 2
    }

    async fn mobile_token(&self, hash: &str, now: DateTime<Utc>) -> Result<Option<MobileToken>> {
        self.backend.mobile_token(hash, now).await
    }

    async fn revoke_mobile_token(&self, hash: &str) -> Result<bool> {
        self.backend.revoke_mobile_token(hash).await // seam: phase 2
    }

    async fn revoke_member_auth(&self, member: &MemberKey) -> Result<RevokedAuth> {
        AuthWritesPhase2::revoke_member_auth(&self.backend, member).await // seam: phase 2
    }

    async fn use_token_id(&self, id: &str, expires_at: DateTime<Utc>) -> Result<bool> {
        self.backend.use_token_id(id, expires_at).await // seam: phase 2
    }

    async fn prune_auth(&self, now: DateTime<Utc>, idle_timeout: Duration) -> Result<PrunedAuth> {
        self.backend.prune_auth(now, idle_timeout).await // seam: phase 2
    }
}
