//! Sessions, mobile tokens and used SSO token ids in PostgreSQL (as
//! `sqlite/auth.rs`). A used token id is a unique insert, so a replay
//! fails on every node; a session's `last_seen_at` is written at most once
//! per [`touch_interval`].

use std::time::Duration;

use amsync_core::MemberKey;
use chrono::{DateTime, Utc};

use super::codec::{self, get, ts};
use super::{PgBackend, PgOp, PgTx};
use crate::auth_api::*;
use crate::backend::{AuthReads, AuthTx, AuthWritesPhase2};
use crate::error::{Result, StoreError};
use crate::ops::queue::enqueue_one;

/// How stale `last_seen_at` may be before a lookup writes it again: a
/// tenth of the idle timeout, at most a minute.
fn touch_interval(idle_timeout: Duration) -> chrono::Duration {
    chrono::Duration::milliseconds((idle_timeout.as_millis() as i64 / 10).clamp(0, 60_000))
}

fn duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX / 2)
}

async fn insert_session(tx: &mut PgTx, s: &NewSession) -> Result<()> {
    tx.exec(
        "INSERT INTO sessions (id_hash, member, csrf, method, created_at, expires_at, last_seen_at)
         VALUES ($1, $2, $3, $4, $5, $6, $5)",
        &[&s.id_hash, &s.member.as_str(), &s.csrf, &s.method, &ts(s.created_at), &ts(s.expires_at)],
    )
    .await?;
    Ok(())
}

async fn insert_token_id(tx: &mut PgTx, id: &str, expires_at: DateTime<Utc>) -> Result<bool> {
    if id.is_empty() {
        return Err(StoreError::Invalid("an empty token id".into()));
    }
    let n = tx
        .exec(
            "INSERT INTO sso_token_ids (id, expires_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
            &[&id, &ts(expires_at)],
        )
        .await?;
    Ok(n == 1)
}

// seam: phase 2 — a sign-in's one write (token id, session, login refresh).
struct SignInOp(SignIn);

impl PgOp for SignInOp {
    type Output = SignInOutcome;

    async fn run(&mut self, tx: &mut PgTx) -> Result<SignInOutcome> {
        let s = &self.0;
        if let Some((id, until)) = &s.token_id {
            if !insert_token_id(tx, id, *until).await? {
                return Ok(SignInOutcome::Replayed);
            }
        }
        let member = s.session.member.as_str();
        match tx.query_opt("SELECT status, disabled_reason FROM members WHERE key = $1", &[&member]).await? {
            None => return Ok(SignInOutcome::Unknown),
            Some(r) if get::<String>(&r, 0)? != "active" => {
                let reason: Option<String> = get(&r, 1)?;
                return Ok(SignInOutcome::Disabled { by_admin: reason.as_deref() == Some("admin") });
            }
            Some(_) => {}
        }
        if let Some(old) = &s.replaces {
            tx.exec("DELETE FROM sessions WHERE id_hash = $1", &[old]).await?;
        }
        insert_session(tx, &s.session).await?;
        if s.login_refresh {
            let now = s.session.created_at;
            enqueue_one(tx, member, amsync_core::Trigger::Login, None, now, now).await?;
        }
        Ok(SignInOutcome::SignedIn)
    }
}

struct RevokeMember(String);

impl PgOp for RevokeMember {
    type Output = RevokedAuth;

    async fn run(&mut self, tx: &mut PgTx) -> Result<RevokedAuth> {
        tx.revoke_member_auth(&self.0).await
    }
}

struct PruneAuth {
    now: DateTime<Utc>,
    idle_timeout: Duration,
}

impl PgOp for PruneAuth {
    type Output = PrunedAuth;

    async fn run(&mut self, tx: &mut PgTx) -> Result<PrunedAuth> {
        let now = ts(self.now);
        let idle_before = now - duration(self.idle_timeout);
        let sessions =
            tx.exec("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at < $2", &[&now, &idle_before]).await?;
        let tokens = tx.exec("DELETE FROM mobile_tokens WHERE expires_at <= $1", &[&now]).await?;
        let token_ids = tx.exec("DELETE FROM sso_token_ids WHERE expires_at <= $1", &[&now]).await?;
        Ok(PrunedAuth { sessions, tokens, token_ids })
    }
}

fn member(raw: String) -> Result<MemberKey> {
    codec::key("member", raw)
}

impl AuthReads for PgBackend {
    async fn mobile_token(&self, hash: &str, now: DateTime<Utc>) -> Result<Option<MobileToken>> {
        let mut tx = self.autocommit().await?;
        let row = tx
            .query_opt(
                "SELECT member, grant_type, created_at, expires_at FROM mobile_tokens WHERE hash = $1 AND expires_at > $2",
                &[&hash, &ts(now)],
            )
            .await?;
        row.map(|r| {
            Ok(MobileToken {
                hash: hash.to_owned(),
                member: member(get(&r, 0)?)?,
                grant: get(&r, 1)?,
                created_at: get(&r, 2)?,
                expires_at: get(&r, 3)?,
            })
        })
        .transpose()
    }
}

impl AuthWritesPhase2 for PgBackend {
    async fn create_session(&self, s: &NewSession) -> Result<()> {
        insert_session(&mut self.autocommit().await?, s).await
    }

    async fn sign_in(&self, s: &SignIn) -> Result<SignInOutcome> {
        self.run(SignInOp(s.clone())).await
    }

    async fn session(&self, id_hash: &str, now: DateTime<Utc>, idle_timeout: Duration) -> Result<Option<Session>> {
        let mut tx = self.autocommit().await?;
        let row = tx
            .query_opt(
                "SELECT member, csrf, method, created_at, expires_at, last_seen_at FROM sessions WHERE id_hash = $1",
                &[&id_hash],
            )
            .await?;
        let Some(r) = row else { return Ok(None) };
        let mut s = Session {
            id_hash: id_hash.to_owned(),
            member: member(get(&r, 0)?)?,
            csrf: get(&r, 1)?,
            method: get(&r, 2)?,
            created_at: get(&r, 3)?,
            expires_at: get(&r, 4)?,
            last_seen_at: get(&r, 5)?,
        };
        let now = ts(now);
        let idle = now - s.last_seen_at;
        if s.expires_at <= now || idle > duration(idle_timeout) {
            tx.exec("DELETE FROM sessions WHERE id_hash = $1", &[&id_hash]).await?;
            return Ok(None);
        }
        if idle >= touch_interval(idle_timeout) {
            tx.exec(
                "UPDATE sessions SET last_seen_at = GREATEST(last_seen_at, $2) WHERE id_hash = $1",
                &[&id_hash, &now],
            )
            .await?;
            s.last_seen_at = now;
        }
        Ok(Some(s))
    }

    async fn delete_session(&self, id_hash: &str) -> Result<bool> {
        Ok(self.autocommit().await?.exec("DELETE FROM sessions WHERE id_hash = $1", &[&id_hash]).await? > 0)
    }

    async fn create_mobile_token(&self, t: &NewMobileToken) -> Result<()> {
        self.autocommit()
            .await?
            .exec(
                "INSERT INTO mobile_tokens (hash, member, grant_type, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                &[&t.hash, &t.member.as_str(), &t.grant, &ts(t.created_at), &ts(t.expires_at)],
            )
            .await?;
        Ok(())
    }

    async fn revoke_mobile_token(&self, hash: &str) -> Result<bool> {
        Ok(self.autocommit().await?.exec("DELETE FROM mobile_tokens WHERE hash = $1", &[&hash]).await? > 0)
    }

    async fn revoke_member_auth(&self, m: &MemberKey) -> Result<RevokedAuth> {
        self.run(RevokeMember(m.as_str().to_owned())).await
    }

    async fn use_token_id(&self, id: &str, expires_at: DateTime<Utc>) -> Result<bool> {
        insert_token_id(&mut self.autocommit().await?, id, expires_at).await
    }

    async fn prune_auth(&self, now: DateTime<Utc>, idle_timeout: Duration) -> Result<PrunedAuth> {
        self.run(PruneAuth { now, idle_timeout }).await
    }
}
