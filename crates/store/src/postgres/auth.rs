//! Sessions, mobile tokens and used SSO token ids in PostgreSQL: single
//! operations (`AuthTx`) and reads, as `sqlite/auth.rs`. A used token id is
//! a unique insert, so a replay fails on every node. The sign-in and when a
//! session ends are `ops/auth.rs` and `amsync_core::session`.

use amsync_core::record::{DisabledReason, MemberStatus};
use amsync_core::MemberKey;
use chrono::{DateTime, Utc};

use super::codec::{self, get, ts};
use super::{PgBackend, PgTx};
use crate::auth_api::{MobileToken, NewMobileToken, NewSession, RevokedAuth, Session};
use crate::backend::{AuthReads, AuthTx};
use crate::error::Result;

fn member(raw: String) -> Result<MemberKey> {
    codec::key("member", raw)
}

impl AuthTx for PgTx {
    async fn revoke_member_auth(&mut self, key: &str) -> Result<RevokedAuth> {
        let sessions = self.exec("DELETE FROM sessions WHERE member = $1", &[&key]).await?;
        let tokens = self.exec("DELETE FROM mobile_tokens WHERE member = $1", &[&key]).await?;
        Ok(RevokedAuth { sessions, tokens })
    }

    async fn sign_in_state(&mut self, key: &str) -> Result<Option<(MemberStatus, Option<DisabledReason>)>> {
        let row = self.query_opt("SELECT status, disabled_reason FROM members WHERE key = $1", &[&key]).await?;
        row.map(|r| {
            let reason: Option<String> = get(&r, 1)?;
            Ok((codec::member_status(&get::<String>(&r, 0)?)?, reason.as_deref().and_then(DisabledReason::parse)))
        })
        .transpose()
    }

    async fn insert_session(&mut self, s: &NewSession) -> Result<()> {
        self.exec(
            "INSERT INTO sessions (id_hash, member, csrf, method, created_at, expires_at, last_seen_at)
             VALUES ($1, $2, $3, $4, $5, $6, $5)",
            &[&s.id_hash, &s.member.as_str(), &s.csrf, &s.method, &ts(s.created_at), &ts(s.expires_at)],
        )
        .await?;
        Ok(())
    }

    async fn delete_session(&mut self, id_hash: &str) -> Result<bool> {
        Ok(self.exec("DELETE FROM sessions WHERE id_hash = $1", &[&id_hash]).await? > 0)
    }

    async fn touch_session(&mut self, id_hash: &str, at: DateTime<Utc>) -> Result<()> {
        self.exec(
            "UPDATE sessions SET last_seen_at = GREATEST(last_seen_at, $2) WHERE id_hash = $1",
            &[&id_hash, &ts(at)],
        )
        .await?;
        Ok(())
    }

    async fn insert_mobile_token(&mut self, t: &NewMobileToken) -> Result<()> {
        self.exec(
            "INSERT INTO mobile_tokens (hash, member, grant_type, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
            &[&t.hash, &t.member.as_str(), &t.grant, &ts(t.created_at), &ts(t.expires_at)],
        )
        .await?;
        Ok(())
    }

    async fn delete_mobile_token(&mut self, hash: &str) -> Result<bool> {
        Ok(self.exec("DELETE FROM mobile_tokens WHERE hash = $1", &[&hash]).await? > 0)
    }

    async fn insert_token_id(&mut self, id: &str, expires_at: DateTime<Utc>) -> Result<bool> {
        let n = self
            .exec(
                "INSERT INTO sso_token_ids (id, expires_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
                &[&id, &ts(expires_at)],
            )
            .await?;
        Ok(n == 1)
    }

    async fn delete_stale_sessions(&mut self, now: DateTime<Utc>, idle_before: DateTime<Utc>) -> Result<u64> {
        self.exec("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at < $2", &[&ts(now), &ts(idle_before)])
            .await
    }

    async fn delete_expired_mobile_tokens(&mut self, now: DateTime<Utc>) -> Result<u64> {
        self.exec("DELETE FROM mobile_tokens WHERE expires_at <= $1", &[&ts(now)]).await
    }

    async fn delete_expired_token_ids(&mut self, now: DateTime<Utc>) -> Result<u64> {
        self.exec("DELETE FROM sso_token_ids WHERE expires_at <= $1", &[&ts(now)]).await
    }
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

    async fn stored_session(&self, id_hash: &str) -> Result<Option<Session>> {
        let mut tx = self.autocommit().await?;
        let row = tx
            .query_opt(
                "SELECT member, csrf, method, created_at, expires_at, last_seen_at FROM sessions WHERE id_hash = $1",
                &[&id_hash],
            )
            .await?;
        row.map(|r| {
            Ok(Session {
                id_hash: id_hash.to_owned(),
                member: member(get(&r, 0)?)?,
                csrf: get(&r, 1)?,
                method: get(&r, 2)?,
                created_at: get(&r, 3)?,
                expires_at: get(&r, 4)?,
                last_seen_at: get(&r, 5)?,
            })
        })
        .transpose()
    }
}
