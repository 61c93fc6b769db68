//! [`AuthStore`] on SQLite: sessions, mobile tokens, used SSO token ids.
//!
//! Looking a session up is a read on the reader pool; the `last_seen_at`
//! write that keeps it alive is skipped while the stored value is younger
//! than [`touch_interval`], so a member browsing page after page costs the
//! single writer one small write a minute, not one per page.

use std::time::Duration;

use amsync_core::MemberKey;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::codec::{from_ms, ms};
use super::tx::run_now;
use super::{SqliteBackend, SqliteTx};
use crate::auth_api::*;
use crate::backend::{AuthReads, AuthTx, AuthWritesPhase2};
use crate::error::{Result, StoreError};
use crate::ops::queue::enqueue_one;

/// How stale `last_seen_at` may be before a lookup writes it again: a
/// tenth of the idle timeout, at most a minute.
fn touch_interval(idle_timeout: Duration) -> i64 {
    (idle_timeout.as_millis() as i64 / 10).clamp(0, 60_000)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn member_key(raw: String) -> rusqlite::Result<MemberKey> {
    MemberKey::parse(raw)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
}

/// Deletes every session and mobile token of `member` (on the writer, in
/// the caller's transaction: the disable path uses it too).
pub(crate) fn revoke_member(conn: &Connection, member: &str) -> Result<RevokedAuth> {
    let sessions = conn.prepare_cached("DELETE FROM sessions WHERE member = ?1")?.execute([member])? as u64;
    let tokens = conn.prepare_cached("DELETE FROM mobile_tokens WHERE member = ?1")?.execute([member])? as u64;
    Ok(RevokedAuth { sessions, tokens })
}

fn insert_session(conn: &Connection, s: &NewSession) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO sessions (id_hash, member, csrf, method, created_at, expires_at, last_seen_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?5)",
    )?
    .execute(params![s.id_hash, s.member.as_str(), s.csrf, s.method, ms(s.created_at), ms(s.expires_at)])?;
    Ok(())
}

fn insert_token_id(conn: &Connection, id: &str, expires_at: DateTime<Utc>) -> Result<bool> {
    if id.is_empty() {
        return Err(StoreError::Invalid("an empty token id".into()));
    }
    Ok(conn
        .prepare_cached("INSERT INTO sso_token_ids (id, expires_at) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING")?
        .execute(params![id, ms(expires_at)])?
        == 1)
}

fn sign_in(tx: &mut SqliteTx, s: &SignIn) -> Result<SignInOutcome> {
    let conn = &tx.conn;
    if let Some((id, until)) = &s.token_id {
        if !insert_token_id(conn, id, *until)? {
            return Ok(SignInOutcome::Replayed);
        }
    }
    let member = s.session.member.as_str();
    let state: Option<(String, Option<String>)> = conn
        .prepare_cached("SELECT status, disabled_reason FROM members WHERE key = ?1")?
        .query_row([member], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match state {
        None => return Ok(SignInOutcome::Unknown),
        Some((status, reason)) if status != "active" => {
            return Ok(SignInOutcome::Disabled { by_admin: reason.as_deref() == Some("admin") })
        }
        Some(_) => {}
    }
    if let Some(old) = &s.replaces {
        conn.prepare_cached("DELETE FROM sessions WHERE id_hash = ?1")?.execute([old])?;
    }
    insert_session(conn, &s.session)?;
    if s.login_refresh {
        let now = s.session.created_at;
        run_now(enqueue_one(tx, member, amsync_core::Trigger::Login, None, now, now))?;
    }
    Ok(SignInOutcome::SignedIn)
}

impl AuthReads for SqliteBackend {
    async fn mobile_token(&self, hash: &str, now: DateTime<Utc>) -> Result<Option<MobileToken>> {
        let hash = hash.to_owned();
        self.read_op(move |c| {
            Ok(c.prepare_cached(
                "SELECT member, grant_type, created_at, expires_at FROM mobile_tokens WHERE hash = ?1 AND expires_at > ?2",
            )?
            .query_row(params![hash, ms(now)], |r| {
                Ok(MobileToken {
                    hash: hash.clone(),
                    member: member_key(r.get(0)?)?,
                    grant: r.get(1)?,
                    created_at: from_ms(r.get(2)?),
                    expires_at: from_ms(r.get(3)?),
                })
            })
            .optional()?)
        })
        .await
    }
}

impl AuthWritesPhase2 for SqliteBackend {
    async fn create_session(&self, s: &NewSession) -> Result<()> {
        let s = s.clone();
        self.write_op(move |ctx| insert_session(&ctx.conn, &s)).await
    }

    async fn sign_in(&self, s: &SignIn) -> Result<SignInOutcome> {
        let s = s.clone();
        self.write_op(move |tx| sign_in(tx, &s)).await
    }

    async fn session(&self, id_hash: &str, now: DateTime<Utc>, idle_timeout: Duration) -> Result<Option<Session>> {
        let hash = id_hash.to_owned();
        let found = self
            .read_op(move |c| {
                Ok(c.prepare_cached(
                    "SELECT member, csrf, method, created_at, expires_at, last_seen_at FROM sessions WHERE id_hash = ?1",
                )?
                .query_row([&hash], |r| {
                    Ok(Session {
                        id_hash: hash.clone(),
                        member: member_key(r.get(0)?)?,
                        csrf: r.get(1)?,
                        method: r.get(2)?,
                        created_at: from_ms(r.get(3)?),
                        expires_at: from_ms(r.get(4)?),
                        last_seen_at: from_ms(r.get(5)?),
                    })
                })
                .optional()?)
            })
            .await?;
        let Some(mut s) = found else { return Ok(None) };
        let now_ms = ms(now);
        let idle = now_ms - ms(s.last_seen_at);
        if ms(s.expires_at) <= now_ms || idle > millis(idle_timeout) {
            self.delete_session(id_hash).await?;
            return Ok(None);
        }
        if idle >= touch_interval(idle_timeout) {
            let hash = id_hash.to_owned();
            self.write_op(move |ctx| {
                ctx.conn
                    .prepare_cached("UPDATE sessions SET last_seen_at = MAX(last_seen_at, ?2) WHERE id_hash = ?1")?
                    .execute(params![hash, now_ms])?;
                Ok(())
            })
            .await?;
            s.last_seen_at = now;
        }
        Ok(Some(s))
    }

    async fn delete_session(&self, id_hash: &str) -> Result<bool> {
        let hash = id_hash.to_owned();
        self.write_op(move |ctx| {
            Ok(ctx.conn.prepare_cached("DELETE FROM sessions WHERE id_hash = ?1")?.execute([&hash])? > 0)
        })
        .await
    }

    async fn create_mobile_token(&self, t: &NewMobileToken) -> Result<()> {
        let t = t.clone();
        self.write_op(move |ctx| {
            ctx.conn
                .prepare_cached(
                    "INSERT INTO mobile_tokens (hash, member, grant_type, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![t.hash, t.member.as_str(), t.grant, ms(t.created_at), ms(t.expires_at)])?;
            Ok(())
        })
        .await
    }

    async fn revoke_mobile_token(&self, hash: &str) -> Result<bool> {
        let hash = hash.to_owned();
        self.write_op(move |ctx| {
            Ok(ctx.conn.prepare_cached("DELETE FROM mobile_tokens WHERE hash = ?1")?.execute([&hash])? > 0)
        })
        .await
    }

    async fn revoke_member_auth(&self, member: &MemberKey) -> Result<RevokedAuth> {
        let member = member.as_str().to_owned();
        self.write_op(move |ctx| revoke_member(&ctx.conn, &member)).await
    }

    async fn use_token_id(&self, id: &str, expires_at: DateTime<Utc>) -> Result<bool> {
        if id.is_empty() {
            return Err(StoreError::Invalid("an empty token id".into()));
        }
        let id = id.to_owned();
        self.write_op(move |ctx| {
            Ok(ctx
                .conn
                .prepare_cached(
                    "INSERT INTO sso_token_ids (id, expires_at) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING",
                )?
                .execute(params![id, ms(expires_at)])?
                == 1)
        })
        .await
    }

    async fn prune_auth(&self, now: DateTime<Utc>, idle_timeout: Duration) -> Result<PrunedAuth> {
        let now_ms = ms(now);
        let idle_before = now_ms.saturating_sub(millis(idle_timeout));
        self.write_op(move |ctx| {
            let c = &ctx.conn;
            let sessions = c
                .prepare_cached("DELETE FROM sessions WHERE expires_at <= ?1 OR last_seen_at < ?2")?
                .execute(params![now_ms, idle_before])? as u64;
            let tokens =
                c.prepare_cached("DELETE FROM mobile_tokens WHERE expires_at <= ?1")?.execute([now_ms])? as u64;
            let token_ids =
                c.prepare_cached("DELETE FROM sso_token_ids WHERE expires_at <= ?1")?.execute([now_ms])? as u64;
            Ok(PrunedAuth { sessions, tokens, token_ids })
        })
        .await
    }
}

impl AuthTx for SqliteTx {
    async fn revoke_member_auth(&mut self, key: &str) -> Result<RevokedAuth> {
        revoke_member(&self.conn, key)
    }
}
