//! A member's export: every row held about one key, read in one snapshot
//! on a reader (see [`crate::data_protection::MemberExport`]). Which table
//! feeds which part of it is listed in `member_data.rs`.

use std::borrow::Cow;

use amsync_core::MemberKey;
use rusqlite::{params, Connection, OptionalExtension};

use super::codec::{self, count, from_json, from_ms, opt_from_ms};
use super::{erase, held, member_io, members, queue};
use crate::audit::AuditEntry;
use crate::data_protection::*;
use crate::error::Result;
use crate::types::FeedItem;

fn payloads(conn: &Connection, key: &str) -> Result<Vec<StoredPayload>> {
    let row = conn
        .prepare_cached(
            "SELECT details_at, details_encoding, details, communities_at, communities_encoding, communities,
                    groups_at, groups_encoding, groups
             FROM member_payloads WHERE member_key = ?1",
        )?
        .query_row([key], |r| {
            let part = |i: usize| -> rusqlite::Result<Option<(i64, String, Vec<u8>)>> {
                let at: Option<i64> = r.get(i)?;
                let enc: Option<String> = r.get(i + 1)?;
                let body: Option<Vec<u8>> = r.get(i + 2)?;
                Ok(match (at, enc, body) {
                    (Some(at), Some(enc), Some(body)) => Some((at, enc, body)),
                    _ => None,
                })
            };
            Ok([("details", part(0)?), ("communities", part(3)?), ("security_groups", part(6)?)])
        })
        .optional()?;
    Ok(row
        .into_iter()
        .flatten()
        .filter_map(|(part, p)| {
            p.map(|(at, encoding, body)| StoredPayload { part: part.to_string(), encoding, at: from_ms(at), body })
        })
        .collect())
}

fn refresh(conn: &Connection, key: &str) -> Result<Option<RefreshBookkeeping>> {
    let row = conn
        .prepare_cached(
            "SELECT last_refreshed_at, last_trigger, last_error, last_error_at FROM member_refresh WHERE member_key = ?1",
        )?
        .query_row([key], |r| {
            Ok((
                r.get::<_, Option<i64>>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<i64>>(3)?,
            ))
        })
        .optional()?;
    row.map(|(refreshed, trigger, error, error_at)| {
        Ok(RefreshBookkeeping {
            last_refreshed_at: opt_from_ms(refreshed),
            last_trigger: trigger,
            last_error: error.map(|e| from_json("last error", &e)).transpose()?,
            last_error_at: opt_from_ms(error_at),
        })
    })
    .transpose()
}

fn local_groups(conn: &Connection, key: &str) -> Result<Vec<LocalGroupMembership>> {
    let mut stmt = conn.prepare_cached(
        "SELECT group_key, added_at FROM member_local_groups WHERE member_key = ?1 ORDER BY group_key",
    )?;
    let rows = stmt.query_map([key], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (g, at) = row?;
        out.push(LocalGroupMembership { group: codec::key("group", g)?, added_at: from_ms(at) });
    }
    Ok(out)
}

fn sessions(conn: &Connection, key: &str) -> Result<Vec<SessionMeta>> {
    let mut stmt = conn.prepare_cached(
        "SELECT method, created_at, expires_at, last_seen_at FROM sessions WHERE member = ?1 ORDER BY created_at",
    )?;
    let rows = stmt.query_map([key], |r| {
        Ok(SessionMeta {
            method: r.get(0)?,
            created_at: from_ms(r.get(1)?),
            expires_at: from_ms(r.get(2)?),
            last_seen_at: from_ms(r.get(3)?),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

fn mobile_tokens(conn: &Connection, key: &str) -> Result<Vec<MobileTokenMeta>> {
    let mut stmt = conn.prepare_cached(
        "SELECT grant_type, created_at, expires_at FROM mobile_tokens WHERE member = ?1 ORDER BY created_at",
    )?;
    let rows = stmt.query_map([key], |r| {
        Ok(MobileTokenMeta { grant: r.get(0)?, created_at: from_ms(r.get(1)?), expires_at: from_ms(r.get(2)?) })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The feed has no index by member: a scan, acceptable for a rare export.
fn feed(conn: &Connection, key: &str) -> Result<Vec<FeedItem>> {
    let mut stmt = conn.prepare_cached("SELECT seq, kind, at FROM change_feed WHERE member_key = ?1 ORDER BY seq")?;
    let rows = stmt.query_map([key], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, kind, at) = row?;
        out.push(FeedItem {
            seq,
            key: codec::key("member", key.to_string())?,
            kind: codec::change_kind(&kind)?,
            at: from_ms(at),
        });
    }
    Ok(out)
}

/// The thresholds' ledger rows about the member (by the ledger's member index).
fn ledger(conn: &Connection, key: &str) -> Result<Vec<LedgerEntry>> {
    let mut stmt =
        conn.prepare_cached("SELECT kind, at, n, by_admin FROM threshold_ledger WHERE member_key = ?1 ORDER BY id")?;
    let rows = stmt.query_map([key], |r| {
        Ok(LedgerEntry { kind: r.get(0)?, at: from_ms(r.get(1)?), n: count(r.get(2)?), by_admin: r.get(3)? })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Whether an audit target names the member: its key, or a path whose
/// segment after `/members/` is the key (percent-decoded).
fn names_member(target: &str, key: &str) -> bool {
    if target == key {
        return true;
    }
    let Some((_, rest)) = target.split_once("/members/") else { return false };
    let segment = rest.split('/').next().unwrap_or_default();
    percent_encoding::percent_decode_str(segment).decode_utf8().map(Cow::into_owned).as_deref() == Ok(key)
}

/// Audit entries about the member, newest first. The audit log has no index
/// by target: a scan, acceptable for a rare export.
fn audit(conn: &Connection, key: &str) -> Result<Vec<AuditEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, at, actor, action, target, detail, status, request_id FROM audit_log
         WHERE target = ?1 OR instr(target, '/members/') > 0 ORDER BY id DESC",
    )?;
    let rows = stmt.query_map(params![key], |r| {
        Ok(AuditEntry {
            id: r.get(0)?,
            at: from_ms(r.get(1)?),
            actor: r.get(2)?,
            action: r.get(3)?,
            target: r.get(4)?,
            detail: r.get(5)?,
            status: r.get(6)?,
            request_id: r.get(7)?,
        })
    })?;
    let mut out = Vec::new();
    for row in rows {
        let e = row?;
        if e.target.as_deref().is_some_and(|t| names_member(t, key)) {
            out.push(e);
        }
    }
    Ok(out)
}

/// Everything about `key`, in the reader's snapshot; `None` when nothing is held.
pub(crate) fn export(conn: &Connection, key: &MemberKey) -> Result<Option<MemberExport>> {
    let k = key.as_str();
    let ams_json: Option<String> = conn
        .prepare_cached("SELECT ams_memberships FROM members WHERE key = ?1")?
        .query_row([k], |r| r.get(0))
        .optional()?;
    let out = MemberExport {
        key: key.clone(),
        member: member_io::load_stored(conn, k)?,
        ams_memberships: ams_json.map(|j| from_json("AMS memberships", &j)).transpose()?,
        local_groups: local_groups(conn, k)?,
        payloads: payloads(conn, k)?,
        history: members::history(conn, k, usize::MAX >> 1, None)?,
        refresh: refresh(conn, k)?,
        queue: queue::entries_of(conn, k)?,
        sessions: sessions(conn, k)?,
        mobile_tokens: mobile_tokens(conn, k)?,
        change_feed: feed(conn, k)?,
        held_changes: held::all_held_changes(conn, k)?,
        threshold_ledger: ledger(conn, k)?,
        audit: audit(conn, k)?,
        tombstone: erase::tombstone(conn, k)?,
    };
    Ok((!out.is_empty()).then_some(out))
}

#[cfg(test)]
mod tests {
    use super::names_member;

    #[test]
    fn audit_targets_name_a_member_by_key_or_path_segment() {
        assert!(names_member("M1", "M1"));
        assert!(names_member("/api/v1/members/M1/erase", "M1"));
        assert!(names_member("/api/v1/members/M1", "M1"));
        assert!(names_member("/admin/members/M%201", "M 1"));
        assert!(!names_member("/api/v1/members/M10/erase", "M1"));
        assert!(!names_member("/api/v1/security-groups/SuperAdmin/members", "M1"));
        assert!(!names_member("M10", "M1"));
    }
}
