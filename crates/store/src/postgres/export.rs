//! A member's export in PostgreSQL: every row held about a key, read in
//! one snapshot (as `sqlite/export.rs`).

use std::borrow::Cow;

use amsync_core::MemberKey;

use super::codec::{self, count, from_json, get};
use super::{erase, held, members, queue, PgTx};
use crate::audit::AuditEntry;
use crate::data_protection::*;
use crate::error::Result;
use crate::types::FeedItem;

async fn payloads(tx: &mut PgTx, key: &str) -> Result<Vec<StoredPayload>> {
    let Some(r) = tx
        .query_opt(
            "SELECT details_at, details_encoding, details, communities_at, communities_encoding, communities,
                    groups_at, groups_encoding, groups
             FROM member_payloads WHERE member_key = $1",
            &[&key],
        )
        .await?
    else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (i, part) in [(0, "details"), (3, "communities"), (6, "security_groups")] {
        let at: Option<chrono::DateTime<chrono::Utc>> = get(&r, i)?;
        let encoding: Option<String> = get(&r, i + 1)?;
        let body: Option<Vec<u8>> = get(&r, i + 2)?;
        if let (Some(at), Some(encoding), Some(body)) = (at, encoding, body) {
            out.push(StoredPayload { part: part.to_string(), encoding, at, body });
        }
    }
    Ok(out)
}

async fn refresh(tx: &mut PgTx, key: &str) -> Result<Option<RefreshBookkeeping>> {
    let row = tx
        .query_opt(
            "SELECT last_refreshed_at, last_trigger, last_error::text, last_error_at FROM member_refresh
             WHERE member_key = $1",
            &[&key],
        )
        .await?;
    row.map(|r| {
        let error: Option<String> = get(&r, 2)?;
        Ok(RefreshBookkeeping {
            last_refreshed_at: get(&r, 0)?,
            last_trigger: get(&r, 1)?,
            last_error: error.map(|e| from_json("last error", &e)).transpose()?,
            last_error_at: get(&r, 3)?,
        })
    })
    .transpose()
}

fn names_member(target: &str, key: &str) -> bool {
    if target == key {
        return true;
    }
    let Some((_, rest)) = target.split_once("/members/") else { return false };
    let segment = rest.split('/').next().unwrap_or_default();
    percent_encoding::percent_decode_str(segment).decode_utf8().map(Cow::into_owned).as_deref() == Ok(key)
}

/// Audit entries about the member, newest first (a scan: the log has no
/// index by target, acceptable for a rare export).
async fn audit(tx: &mut PgTx, key: &str) -> Result<Vec<AuditEntry>> {
    let rows = tx
        .query(
            "SELECT id, at, actor, action, target, detail, status, request_id FROM audit_log
             WHERE target = $1 OR strpos(target, '/members/') > 0 ORDER BY id DESC",
            &[&key],
        )
        .await?;
    let mut out = Vec::new();
    for r in &rows {
        let status: i32 = get(r, 6)?;
        let e = AuditEntry {
            id: get(r, 0)?,
            at: get(r, 1)?,
            actor: get(r, 2)?,
            action: get(r, 3)?,
            target: get(r, 4)?,
            detail: get(r, 5)?,
            status: u16::try_from(status).unwrap_or(0),
            request_id: get(r, 7)?,
        };
        if e.target.as_deref().is_some_and(|t| names_member(t, key)) {
            out.push(e);
        }
    }
    Ok(out)
}

/// Everything about `key`, in the caller's snapshot; `None` when nothing is held.
pub(crate) async fn export(tx: &mut PgTx, key: &MemberKey) -> Result<Option<MemberExport>> {
    let k = key.as_str();
    let ams = tx.query_opt("SELECT ams_memberships::text FROM members WHERE key = $1", &[&k]).await?;
    let ams_memberships = ams.map(|r| from_json("AMS memberships", &get::<String>(&r, 0)?)).transpose()?;
    let local_groups = tx
        .query("SELECT group_key, added_at FROM member_local_groups WHERE member_key = $1 ORDER BY group_key", &[&k])
        .await?
        .iter()
        .map(|r| Ok(LocalGroupMembership { group: codec::key("group", get(r, 0)?)?, added_at: get(r, 1)? }))
        .collect::<Result<Vec<_>>>()?;
    let sessions = tx
        .query(
            "SELECT method, created_at, expires_at, last_seen_at FROM sessions WHERE member = $1 ORDER BY created_at",
            &[&k],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(SessionMeta {
                method: get(r, 0)?,
                created_at: get(r, 1)?,
                expires_at: get(r, 2)?,
                last_seen_at: get(r, 3)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mobile_tokens = tx
        .query(
            "SELECT grant_type, created_at, expires_at FROM mobile_tokens WHERE member = $1 ORDER BY created_at",
            &[&k],
        )
        .await?
        .iter()
        .map(|r| Ok(MobileTokenMeta { grant: get(r, 0)?, created_at: get(r, 1)?, expires_at: get(r, 2)? }))
        .collect::<Result<Vec<_>>>()?;
    let change_feed = tx
        .query("SELECT seq, kind, at FROM change_feed WHERE member_key = $1 ORDER BY seq", &[&k])
        .await?
        .iter()
        .map(|r| {
            Ok(FeedItem {
                seq: get(r, 0)?,
                key: key.clone(),
                kind: codec::change_kind(&get::<String>(r, 1)?)?,
                at: get(r, 2)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let threshold_ledger = tx
        .query("SELECT kind, at, n, by_admin FROM threshold_ledger WHERE member_key = $1 ORDER BY id", &[&k])
        .await?
        .iter()
        .map(|r| Ok(LedgerEntry { kind: get(r, 0)?, at: get(r, 1)?, n: count(get(r, 2)?), by_admin: get(r, 3)? }))
        .collect::<Result<Vec<_>>>()?;
    let out = MemberExport {
        key: key.clone(),
        member: members::load_stored(tx, k).await?,
        ams_memberships,
        local_groups,
        payloads: payloads(tx, k).await?,
        history: members::history(tx, k, usize::MAX >> 1, None).await?,
        refresh: refresh(tx, k).await?,
        queue: queue::entries_of(tx, k).await?,
        sessions,
        mobile_tokens,
        change_feed,
        held_changes: held::all_held_changes(tx, k).await?,
        threshold_ledger,
        audit: audit(tx, k).await?,
        tombstone: erase::tombstone(tx, k).await?,
    };
    Ok((!out.is_empty()).then_some(out))
}
