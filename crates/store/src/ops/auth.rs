//! Sign-on writes: the sign-in fast path (the token id, the session and
//! the login refresh in one transaction), sessions, mobile tokens, used
//! token ids and their pruning. When a session ends is
//! `amsync_core::session`.

use std::time::Duration;

use amsync_core::record::{DisabledReason, MemberStatus};
use amsync_core::session::idle_before;
use amsync_core::{MemberKey, Trigger};
use chrono::{DateTime, Utc};

use super::queue::enqueue_one;
use crate::auth_api::{NewMobileToken, NewSession, PrunedAuth, RevokedAuth, SignIn, SignInOutcome};
use crate::backend::{Tx, WriteOp};
use crate::error::{Result, StoreError};

/// A token id is what makes a token single-use: an empty one would let
/// every token without one through as the same.
pub(crate) fn check_token_id(id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(StoreError::Invalid("an empty token id".into()));
    }
    Ok(())
}

/// [`crate::AuthStore::sign_in`]: a replayed token signs nobody in; an
/// unknown or disabled member gets no session.
pub(crate) struct SignInOp {
    pub sign_in: SignIn,
}

impl WriteOp for SignInOp {
    type Output = SignInOutcome;

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<SignInOutcome> {
        let s = &self.sign_in;
        if let Some((id, until)) = &s.token_id {
            check_token_id(id)?;
            if !tx.insert_token_id(id, *until).await? {
                return Ok(SignInOutcome::Replayed);
            }
        }
        let member = s.session.member.as_str();
        match tx.sign_in_state(member).await? {
            None => return Ok(SignInOutcome::Unknown),
            Some((MemberStatus::Disabled, reason)) => {
                return Ok(SignInOutcome::Disabled { by_admin: reason == Some(DisabledReason::Admin) })
            }
            Some((MemberStatus::Active, _)) => {}
        }
        if let Some(old) = &s.replaces {
            tx.delete_session(old).await?;
        }
        tx.insert_session(&s.session).await?;
        if s.login_refresh {
            let now = s.session.created_at;
            enqueue_one(tx, member, Trigger::Login, None, now, now).await?;
        }
        Ok(SignInOutcome::SignedIn)
    }
}

/// [`crate::AuthStore::create_session`].
pub(crate) struct CreateSession {
    pub session: NewSession,
}

impl WriteOp for CreateSession {
    type Output = ();

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<()> {
        tx.insert_session(&self.session).await
    }
}

/// [`crate::AuthStore::delete_session`], and a lookup's ended session.
pub(crate) struct DeleteSession {
    pub id_hash: String,
}

impl WriteOp for DeleteSession {
    type Output = bool;

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<bool> {
        tx.delete_session(&self.id_hash).await
    }
}

/// A lookup keeps a live session alive.
pub(crate) struct TouchSession {
    pub id_hash: String,
    pub at: DateTime<Utc>,
}

impl WriteOp for TouchSession {
    type Output = ();

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<()> {
        tx.touch_session(&self.id_hash, self.at).await
    }
}

/// [`crate::AuthStore::create_mobile_token`].
pub(crate) struct CreateMobileToken {
    pub token: NewMobileToken,
}

impl WriteOp for CreateMobileToken {
    type Output = ();

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<()> {
        tx.insert_mobile_token(&self.token).await
    }
}

/// [`crate::AuthStore::revoke_mobile_token`].
pub(crate) struct RevokeMobileToken {
    pub hash: String,
}

impl WriteOp for RevokeMobileToken {
    type Output = bool;

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<bool> {
        tx.delete_mobile_token(&self.hash).await
    }
}

/// [`crate::AuthStore::revoke_member_auth`].
pub(crate) struct RevokeMemberAuth {
    pub member: MemberKey,
}

impl WriteOp for RevokeMemberAuth {
    type Output = RevokedAuth;

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<RevokedAuth> {
        tx.revoke_member_auth(self.member.as_str()).await
    }
}

/// [`crate::AuthStore::use_token_id`]: true the first time only.
pub(crate) struct UseTokenId {
    pub id: String,
    pub expires_at: DateTime<Utc>,
}

impl WriteOp for UseTokenId {
    type Output = bool;

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<bool> {
        check_token_id(&self.id)?;
        tx.insert_token_id(&self.id, self.expires_at).await
    }
}

/// [`crate::AuthStore::prune_auth`]: expired or idle sessions, expired
/// tokens and token ids.
pub(crate) struct PruneAuth {
    pub now: DateTime<Utc>,
    pub idle_timeout: Duration,
}

impl WriteOp for PruneAuth {
    type Output = PrunedAuth;

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<PrunedAuth> {
        let now = self.now;
        Ok(PrunedAuth {
            sessions: tx.delete_stale_sessions(now, idle_before(now, self.idle_timeout)).await?,
            tokens: tx.delete_expired_mobile_tokens(now).await?,
            token_ids: tx.delete_expired_token_ids(now).await?,
        })
    }
}
