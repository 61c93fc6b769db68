//! Sign-on state in SQL: sessions, mobile tokens, used SSO token ids. Single
//! operations (`AuthTx`) and reads; the sign-in and when a session ends
//! are `ops/auth.rs`, `layered/auth.rs` and `amsync_core::session`.

use amsync_core::record::{DisabledReason, MemberStatus};
use amsync_core::MemberKey;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::codec::{self, from_ms, ms};
use super::{SqliteBackend, SqliteTx};
use crate::auth_api::*;
use crate::backend::{AuthReads, AuthTx};
use crate::error::Result;

fn member_key(raw: String) -> rusqlite::Result<MemberKey> {
    MemberKey::parse(raw)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
}

/// Deletes every session and mobile token of `member` (on the writer, in
/// the caller's transaction: the disable path uses it too).
fn revoke_member(conn: &Connection, member: &str) -> Result<RevokedAuth> {
    let sessions = conn.prepare_cached("DELETE FROM sessions WHERE member = ?1")?.execute([member])? as u64;
    let tokens = conn.prepare_cached("DELETE FROM mobile_tokens WHERE member = ?1")?.execute([member])? as u64;
    Ok(RevokedAuth { sessions, tokens })
}

fn delete_where(conn: &Connection, sql: &str, p: impl rusqlite::Params) -> Result<u64> {
    Ok(conn.prepare_cached(sql)?.execute(p)? as u64)
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

    async fn stored_session(&self, id_hash: &str) -> Result<Option<Session>> {
        let hash = id_hash.to_owned();
        self.read_op(move |c| {
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
        .await
    }
}

impl AuthTx for SqliteTx {
    async fn revoke_member_auth(&mut self, key: &str) -> Result<RevokedAuth> {
        revoke_member(&self.conn, key)
    }

    async fn sign_in_state(&mut self, key: &str) -> Result<Option<(MemberStatus, Option<DisabledReason>)>> {
        let state: Option<(String, Option<String>)> = self
            .conn
            .prepare_cached("SELECT status, disabled_reason FROM members WHERE key = ?1")?
            .query_row([key], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        state
            .map(|(status, reason)| {
                Ok((codec::member_status(&status)?, reason.as_deref().and_then(DisabledReason::parse)))
            })
            .transpose()
    }

    async fn insert_session(&mut self, s: &NewSession) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO sessions (id_hash, member, csrf, method, created_at, expires_at, last_seen_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?5)",
            )?
            .execute(params![s.id_hash, s.member.as_str(), s.csrf, s.method, ms(s.created_at), ms(s.expires_at)])?;
        Ok(())
    }

    async fn delete_session(&mut self, id_hash: &str) -> Result<bool> {
        Ok(delete_where(&self.conn, "DELETE FROM sessions WHERE id_hash = ?1", [id_hash])? > 0)
    }

    async fn touch_session(&mut self, id_hash: &str, at: DateTime<Utc>) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE sessions SET last_seen_at = MAX(last_seen_at, ?2) WHERE id_hash = ?1")?
            .execute(params![id_hash, ms(at)])?;
        Ok(())
    }

    async fn insert_mobile_token(&mut self, t: &NewMobileToken) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO mobile_tokens (hash, member, grant_type, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![t.hash, t.member.as_str(), t.grant, ms(t.created_at), ms(t.expires_at)])?;
        Ok(())
    }

    async fn delete_mobile_token(&mut self, hash: &str) -> Result<bool> {
        Ok(delete_where(&self.conn, "DELETE FROM mobile_tokens WHERE hash = ?1", [hash])? > 0)
    }

    async fn insert_token_id(&mut self, id: &str, expires_at: DateTime<Utc>) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("INSERT INTO sso_token_ids (id, expires_at) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING")?
            .execute(params![id, ms(expires_at)])?
            == 1)
    }

    async fn delete_stale_sessions(&mut self, now: DateTime<Utc>, idle_before: DateTime<Utc>) -> Result<u64> {
        let sql = "DELETE FROM sessions WHERE expires_at <= ?1 OR last_seen_at < ?2";
        delete_where(&self.conn, sql, params![ms(now), ms(idle_before)])
    }

    async fn delete_expired_mobile_tokens(&mut self, now: DateTime<Utc>) -> Result<u64> {
        delete_where(&self.conn, "DELETE FROM mobile_tokens WHERE expires_at <= ?1", [ms(now)])
    }

    async fn delete_expired_token_ids(&mut self, now: DateTime<Utc>) -> Result<u64> {
        delete_where(&self.conn, "DELETE FROM sso_token_ids WHERE expires_at <= ?1", [ms(now)])
    }
}
