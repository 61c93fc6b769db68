//! Approvals and held changes in SQL beyond the commit path's (`safety.rs`):
//! what deciding an approval and holding a rule change write (the
//! decisions are `ops/held.rs`), reading approvals, and the dry run of a
//! rule change's scan.

use std::collections::HashSet;

use amsync_core::community::Membership;
use amsync_core::diff::MembershipId;
use amsync_core::rules::RuleSet;
use rusqlite::{params, Connection, OptionalExtension};

use super::codec::{self, count, from_json, from_ms, opt_from_ms, to_json};
use super::member_io as io;
use super::safety::{hold_kind, hold_status};
use crate::backend::{ApprovalState, PendingHeld};
use crate::error::Result;
use crate::safety_api::*;
use crate::types::ReapplySummary;

// ---- deciding an approval ---------------------------------------------------

/// An approval's kind, status, and (for a rule change) its rules and the
/// rules they replace, as stored.
pub(crate) fn approval_state(conn: &Connection, id: i64) -> Result<Option<ApprovalState>> {
    let row = conn
        .prepare_cached("SELECT kind, status, rules, rules_before FROM approvals WHERE id = ?1")?
        .query_row([id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<String>>(2)?, r.get(3)?))
        })
        .optional()?;
    let rules = |t: Option<String>| t.map(|t| from_json::<RuleSet>("held rules", &t)).transpose();
    row.map(|(k, s, r, before)| {
        Ok(ApprovalState {
            kind: hold_kind(&k)?,
            status: hold_status(&s)?,
            rules: rules(r)?,
            rules_before: rules(before)?,
        })
    })
    .transpose()
}

pub(crate) fn close_approval(
    conn: &Connection,
    id: i64,
    status: HoldStatus,
    actor: &str,
    note: Option<&str>,
    at: i64,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE approvals SET status = ?2, decided_at = ?3, decided_by = ?4, updated_at = ?3, note = COALESCE(?5, note)
         WHERE id = ?1",
    )?
    .execute(params![id, status.as_str(), at, actor, note])?;
    Ok(())
}

/// The pending held changes of an approval, in id order.
pub(crate) fn pending_held_changes(conn: &Connection, id: i64) -> Result<Vec<PendingHeld>> {
    let items: Vec<(i64, String, String)> = conn
        .prepare_cached(
            "SELECT id, member_key, signal FROM held_changes WHERE approval_id = ?1 AND status = 'pending' ORDER BY id",
        )?
        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    items
        .into_iter()
        .map(|(id, key, signal)| Ok(PendingHeld { id, key, signal: from_json("held change", &signal)? }))
        .collect()
}

pub(crate) fn set_held_change_status(
    conn: &Connection,
    id: i64,
    status: HoldStatus,
    note: Option<&str>,
    at: i64,
) -> Result<()> {
    conn.prepare_cached("UPDATE held_changes SET status = ?2, decided_at = ?3, note = ?4 WHERE id = ?1")?
        .execute(params![id, status.as_str(), at, note])?;
    Ok(())
}

// ---- rule changes -------------------------------------------------------------

/// Every member with its stored AMS list and the ids of its kept
/// memberships, by a merge of two scans in key order (see
/// [`crate::backend::SafetyReads::fold_membership_sets`]).
pub(crate) fn scan_membership_sets<F>(conn: &Connection, mut visit: F) -> Result<()>
where
    F: FnMut(&str, &[Membership], &HashSet<MembershipId>),
{
    let mut kept_stmt = conn.prepare("SELECT member_key, community_key, begin FROM memberships ORDER BY member_key")?;
    let mut kept_rows = kept_stmt.query([])?;
    let mut next_kept = move || -> Result<Option<(String, String, String)>> {
        Ok(match kept_rows.next()? {
            Some(r) => Some((r.get(0)?, r.get(1)?, r.get(2)?)),
            None => None,
        })
    };
    let mut pending = next_kept()?;
    let mut members = conn.prepare("SELECT key, ams_memberships FROM members ORDER BY key")?;
    let mut rows = members.query([])?;
    while let Some(r) = rows.next()? {
        let key: String = r.get(0)?;
        let json: String = r.get(1)?;
        let mut kept = HashSet::new();
        while let Some((k, c, b)) = pending.take() {
            match k.as_str().cmp(key.as_str()) {
                std::cmp::Ordering::Greater => {
                    pending = Some((k, c, b));
                    break;
                }
                std::cmp::Ordering::Equal => {
                    kept.insert((c, io::parse_date(&b)?));
                }
                std::cmp::Ordering::Less => {}
            }
            pending = next_kept()?;
        }
        let all: Vec<Membership> = from_json("AMS memberships", &json)?;
        visit(&key, &all, &kept);
    }
    Ok(())
}

/// A pending approval of a rule change.
pub(crate) fn insert_rule_change_approval(
    conn: &Connection,
    reason: &str,
    rules: &RuleSet,
    before: &RuleSet,
    dry_run: &ReapplySummary,
    at: i64,
) -> Result<i64> {
    Ok(conn
        .prepare_cached(
            "INSERT INTO approvals (kind, status, reason, trigger, created_at, updated_at, rules, rules_before, summary)
             VALUES ('rule_change', 'pending', ?1, 'admin', ?2, ?2, ?3, ?4, ?5) RETURNING id",
        )?
        .query_row(params![reason, at, to_json(rules), to_json(before), to_json(dry_run)], |r| r.get(0))?)
}

// ---- reading approvals ----------------------------------------------------------

const APPROVAL_COLUMNS: &str = "id, kind, status, reason, run_id, trigger, created_at, decided_at, decided_by, note,
    rules, rules_before, summary";

fn approval_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawApproval> {
    Ok(RawApproval {
        id: r.get(0)?,
        kind: r.get(1)?,
        status: r.get(2)?,
        reason: r.get(3)?,
        run_id: r.get(4)?,
        trigger: r.get(5)?,
        created_at: r.get(6)?,
        decided_at: r.get(7)?,
        decided_by: r.get(8)?,
        note: r.get(9)?,
        rules: r.get(10)?,
        rules_before: r.get(11)?,
        summary: r.get(12)?,
    })
}

struct RawApproval {
    id: i64,
    kind: String,
    status: String,
    reason: String,
    run_id: Option<i64>,
    trigger: String,
    created_at: i64,
    decided_at: Option<i64>,
    decided_by: Option<String>,
    note: Option<String>,
    rules: Option<String>,
    rules_before: Option<String>,
    summary: Option<String>,
}

impl RawApproval {
    fn into_approval(self, conn: &Connection, changes_limit: usize) -> Result<Approval> {
        let rules = |t: Option<String>| t.map(|t| from_json::<RuleSet>("held rules", &t)).transpose();
        let mut a = Approval {
            id: self.id,
            kind: hold_kind(&self.kind)?,
            status: hold_status(&self.status)?,
            reason: self.reason,
            run_id: self.run_id,
            trigger: codec::trigger(&self.trigger)?,
            created_at: from_ms(self.created_at),
            decided_at: opt_from_ms(self.decided_at),
            decided_by: self.decided_by,
            note: self.note,
            counts: ApprovalCounts::default(),
            rules: rules(self.rules)?,
            rules_before: rules(self.rules_before)?,
            summary: self.summary.map(|s| from_json("dry run", &s)).transpose()?,
            changes: Vec::new(),
        };
        // Counts in SQL, so a list never reads every change of a large approval.
        let mut counts = conn.prepare_cached(
            "SELECT status, COUNT(*), COALESCE(SUM(json_array_length(signal, '$.memberships')), 0)
             FROM held_changes WHERE approval_id = ?1 GROUP BY status",
        )?;
        let mut rows = counts.query([self.id])?;
        while let Some(r) = rows.next()? {
            let n = count(r.get(1)?);
            a.counts.members += n;
            match hold_status(&r.get::<_, String>(0)?)? {
                HoldStatus::Pending => {
                    a.counts.pending = n;
                    a.counts.memberships = count(r.get(2)?);
                }
                HoldStatus::Applied => a.counts.applied = n,
                HoldStatus::Rejected => a.counts.rejected = n,
                HoldStatus::Dropped => a.counts.dropped = n,
            }
        }
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {HELD_COLUMNS} FROM held_changes WHERE approval_id = ?1 ORDER BY id LIMIT ?2"
        ))?;
        let limit = i64::try_from(changes_limit).unwrap_or(i64::MAX);
        let mut rows = stmt.query(params![self.id, limit])?;
        while let Some(r) = rows.next()? {
            a.changes.push(held_change(r)?);
        }
        if a.kind == HoldKind::RuleChange {
            if let Some(s) = &a.summary {
                a.counts.members = s.changed;
                a.counts.memberships = s.memberships_removed;
            }
        }
        Ok(a)
    }
}

const HELD_COLUMNS: &str = "id, approval_id, member_key, kind, status, signal, created_at, decided_at, note";

fn held_change(r: &rusqlite::Row<'_>) -> Result<HeldChange> {
    Ok(HeldChange {
        id: r.get(0)?,
        approval_id: r.get(1)?,
        member: codec::key("member", r.get::<_, String>(2)?)?,
        kind: hold_kind(&r.get::<_, String>(3)?)?,
        status: hold_status(&r.get::<_, String>(4)?)?,
        signal: from_json("held change", &r.get::<_, String>(5)?)?,
        created_at: from_ms(r.get(6)?),
        decided_at: opt_from_ms(r.get(7)?),
        note: r.get(8)?,
    })
}

/// A member's pending and rejected held changes.
pub(crate) fn open_held_changes(conn: &Connection, key: &str) -> Result<Vec<HeldChange>> {
    held_changes_where(conn, "member_key = ?1 AND status IN ('pending', 'rejected')", key)
}

/// Every held change of a member, whatever its status (its export).
pub(crate) fn all_held_changes(conn: &Connection, key: &str) -> Result<Vec<HeldChange>> {
    held_changes_where(conn, "member_key = ?1", key)
}

fn held_changes_where(conn: &Connection, condition: &str, key: &str) -> Result<Vec<HeldChange>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {HELD_COLUMNS} FROM held_changes WHERE {condition} ORDER BY id"))?;
    let mut rows = stmt.query([key])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(held_change(r)?);
    }
    Ok(out)
}

pub(crate) fn list_approvals(conn: &Connection, f: &ApprovalFilter) -> Result<Vec<Approval>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {APPROVAL_COLUMNS} FROM approvals WHERE (?1 IS NULL OR status = ?1) AND id < ?2
         ORDER BY id DESC LIMIT ?3"
    ))?;
    let raw: Vec<RawApproval> = stmt
        .query_map(
            params![f.status.map(HoldStatus::as_str), f.before.unwrap_or(i64::MAX), f.limit.max(1) as i64],
            approval_from_row,
        )?
        .collect::<rusqlite::Result<_>>()?;
    raw.into_iter().map(|a| a.into_approval(conn, f.changes_limit)).collect()
}

pub(crate) fn get_approval(conn: &Connection, id: i64) -> Result<Option<Approval>> {
    let raw = conn
        .prepare_cached(&format!("SELECT {APPROVAL_COLUMNS} FROM approvals WHERE id = ?1"))?
        .query_row([id], approval_from_row)
        .optional()?;
    raw.map(|a| a.into_approval(conn, usize::MAX)).transpose()
}

pub(crate) fn pending_approvals(conn: &Connection) -> Result<u64> {
    let n: i64 =
        conn.prepare_cached("SELECT COUNT(*) FROM approvals WHERE status = 'pending'")?.query_row([], |r| r.get(0))?;
    Ok(count(n))
}
