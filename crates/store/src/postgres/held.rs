//! Approvals and held changes in PostgreSQL beyond the commit path's
//! (`safety.rs`), as `sqlite/held.rs`: what deciding an approval and
//! holding a rule change write (the decisions are `ops/held.rs`), reading
//! approvals, and the scan a rule change's dry run counts.

use std::collections::{HashMap, HashSet};

use amsync_core::community::Membership;
use amsync_core::diff::MembershipId;
use amsync_core::rules::RuleSet;
use chrono::{DateTime, NaiveDate, Utc};
use tokio_postgres::Row;

use super::codec::{self, count, from_json, get, to_json, ts};
use super::safety::hold_kind;
use super::PgTx;
use crate::backend::{ApprovalState, PendingHeld};
use crate::error::{Result, StoreError};
use crate::safety_api::*;
use crate::types::ReapplySummary;

pub(crate) fn hold_status(v: &str) -> Result<HoldStatus> {
    HoldStatus::parse(v).ok_or_else(|| StoreError::Database(format!("stored hold status {v:?} is not known")))
}

/// An approval's kind, status, and (for a rule change) its rules and the
/// rules they replace, as stored.
pub(crate) async fn approval_state(tx: &mut PgTx, id: i64) -> Result<Option<ApprovalState>> {
    let row = tx
        .query_opt("SELECT kind, status, rules::text, rules_before::text FROM approvals WHERE id = $1", &[&id])
        .await?;
    let rules = |t: Option<String>| t.map(|t| from_json::<RuleSet>("held rules", &t)).transpose();
    row.map(|r| {
        Ok(ApprovalState {
            kind: hold_kind(&get::<String>(&r, 0)?)?,
            status: hold_status(&get::<String>(&r, 1)?)?,
            rules: rules(get(&r, 2)?)?,
            rules_before: rules(get(&r, 3)?)?,
        })
    })
    .transpose()
}

pub(crate) async fn close_approval(
    tx: &mut PgTx,
    id: i64,
    status: HoldStatus,
    actor: &str,
    note: Option<&str>,
    at: DateTime<Utc>,
) -> Result<()> {
    tx.exec(
        "UPDATE approvals SET status = $2, decided_at = $3, decided_by = $4, updated_at = $3, note = COALESCE($5, note)
         WHERE id = $1",
        &[&id, &status.as_str(), &ts(at), &actor, &note],
    )
    .await?;
    Ok(())
}

/// The pending held changes of an approval, in id order.
pub(crate) async fn pending_held_changes(tx: &mut PgTx, id: i64) -> Result<Vec<PendingHeld>> {
    let rows = tx
        .query(
            "SELECT id, member_key, signal::text FROM held_changes
             WHERE approval_id = $1 AND status = 'pending' ORDER BY id",
            &[&id],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(PendingHeld {
                id: get(r, 0)?,
                key: get(r, 1)?,
                signal: from_json("held change", &get::<String>(r, 2)?)?,
            })
        })
        .collect()
}

pub(crate) async fn set_held_change_status(
    tx: &mut PgTx,
    id: i64,
    status: HoldStatus,
    note: Option<&str>,
    at: DateTime<Utc>,
) -> Result<()> {
    tx.exec(
        "UPDATE held_changes SET status = $2, decided_at = $3, note = $4 WHERE id = $1",
        &[&id, &status.as_str(), &ts(at), &note],
    )
    .await?;
    Ok(())
}

/// Members one page of [`scan_membership_sets`] reads.
const SCAN_PAGE: i64 = 1000;

/// Every member with its stored AMS list and the ids of its kept
/// memberships, in key order (see
/// [`crate::backend::SafetyReads::fold_membership_sets`]): a page of
/// members at a time with the kept memberships of that page's keys, so
/// memory stays bounded; `tx` is one snapshot, so the pages agree.
pub(crate) async fn scan_membership_sets<F>(tx: &mut PgTx, mut visit: F) -> Result<()>
where
    F: FnMut(&str, &[Membership], &HashSet<MembershipId>),
{
    let mut after = String::new();
    loop {
        let members = tx
            .query(
                "SELECT key, ams_memberships::text FROM members WHERE key > $1 ORDER BY key LIMIT $2",
                &[&after, &SCAN_PAGE],
            )
            .await?;
        let Some(last) = members.last() else { return Ok(()) };
        let last: String = get(last, 0)?;
        let mut kept: HashMap<String, HashSet<MembershipId>> = HashMap::new();
        for r in &tx
            .query(
                "SELECT member_key, community_key, begin FROM memberships WHERE member_key > $1 AND member_key <= $2",
                &[&after, &last],
            )
            .await?
        {
            kept.entry(get(r, 0)?).or_default().insert((get(r, 1)?, get::<NaiveDate>(r, 2)?));
        }
        let none = HashSet::new();
        for r in &members {
            let key: String = get(r, 0)?;
            let all: Vec<Membership> = from_json("AMS memberships", &get::<String>(r, 1)?)?;
            visit(&key, &all, kept.get(&key).unwrap_or(&none));
        }
        after = last;
    }
}

/// A pending approval of a rule change.
pub(crate) async fn insert_rule_change_approval(
    tx: &mut PgTx,
    reason: &str,
    rules: &RuleSet,
    before: &RuleSet,
    dry_run: &ReapplySummary,
    at: DateTime<Utc>,
) -> Result<i64> {
    let row = tx
        .query_one(
            "INSERT INTO approvals (kind, status, reason, trigger, created_at, updated_at, rules, rules_before, summary)
             VALUES ('rule_change', 'pending', $1, 'admin', $2, $2, $3::text::jsonb, $4::text::jsonb, $5::text::jsonb)
             RETURNING id",
            &[&reason, &ts(at), &to_json(rules), &to_json(before), &to_json(dry_run)],
        )
        .await?;
    get(&row, 0)
}

const APPROVAL_COLUMNS: &str = "id, kind, status, reason, run_id, trigger, created_at, decided_at, decided_by, note,
    rules::text, rules_before::text, summary::text";

const HELD_COLUMNS: &str = "id, approval_id, member_key, kind, status, signal::text, created_at, decided_at, note";

fn held_change(r: &Row) -> Result<HeldChange> {
    Ok(HeldChange {
        id: get(r, 0)?,
        approval_id: get(r, 1)?,
        member: codec::key("member", get(r, 2)?)?,
        kind: hold_kind(&get::<String>(r, 3)?)?,
        status: hold_status(&get::<String>(r, 4)?)?,
        signal: from_json("held change", &get::<String>(r, 5)?)?,
        created_at: get(r, 6)?,
        decided_at: get(r, 7)?,
        note: get(r, 8)?,
    })
}

async fn approval(tx: &mut PgTx, r: &Row, changes_limit: usize) -> Result<Approval> {
    let rules = |t: Option<String>| t.map(|t| from_json::<RuleSet>("held rules", &t)).transpose();
    let summary: Option<String> = get(r, 12)?;
    let mut a = Approval {
        id: get(r, 0)?,
        kind: hold_kind(&get::<String>(r, 1)?)?,
        status: hold_status(&get::<String>(r, 2)?)?,
        reason: get(r, 3)?,
        run_id: get(r, 4)?,
        trigger: codec::trigger(&get::<String>(r, 5)?)?,
        created_at: get(r, 6)?,
        decided_at: get(r, 7)?,
        decided_by: get(r, 8)?,
        note: get(r, 9)?,
        counts: ApprovalCounts::default(),
        rules: rules(get(r, 10)?)?,
        rules_before: rules(get(r, 11)?)?,
        summary: summary.map(|s| from_json("dry run", &s)).transpose()?,
        changes: Vec::new(),
    };
    // Counts in SQL, so a list never reads every change of a large approval.
    let counts = tx
        .query(
            "SELECT status, COUNT(*),
                COALESCE(SUM(COALESCE(jsonb_array_length(signal->'memberships'), 0)), 0)::bigint
             FROM held_changes WHERE approval_id = $1 GROUP BY status",
            &[&a.id],
        )
        .await?;
    for c in &counts {
        let n = count(get(c, 1)?);
        a.counts.members += n;
        match hold_status(&get::<String>(c, 0)?)? {
            HoldStatus::Pending => {
                a.counts.pending = n;
                a.counts.memberships = count(get(c, 2)?);
            }
            HoldStatus::Applied => a.counts.applied = n,
            HoldStatus::Rejected => a.counts.rejected = n,
            HoldStatus::Dropped => a.counts.dropped = n,
        }
    }
    let limit = i64::try_from(changes_limit).unwrap_or(i64::MAX);
    for c in &tx
        .query(
            &format!("SELECT {HELD_COLUMNS} FROM held_changes WHERE approval_id = $1 ORDER BY id LIMIT $2"),
            &[&a.id, &limit],
        )
        .await?
    {
        a.changes.push(held_change(c)?);
    }
    if a.kind == HoldKind::RuleChange {
        if let Some(s) = &a.summary {
            a.counts.members = s.changed;
            a.counts.memberships = s.memberships_removed;
        }
    }
    Ok(a)
}

/// A member's pending and rejected held changes.
pub(crate) async fn open_held_changes(tx: &mut PgTx, key: &str) -> Result<Vec<HeldChange>> {
    let rows = tx
        .query(
            &format!(
                "SELECT {HELD_COLUMNS} FROM held_changes WHERE member_key = $1 AND status IN ('pending', 'rejected')
                 ORDER BY id"
            ),
            &[&key],
        )
        .await?;
    rows.iter().map(held_change).collect()
}

/// Every held change of a member, whatever its status (its export).
pub(crate) async fn all_held_changes(tx: &mut PgTx, key: &str) -> Result<Vec<HeldChange>> {
    let rows = tx
        .query(&format!("SELECT {HELD_COLUMNS} FROM held_changes WHERE member_key = $1 ORDER BY id"), &[&key])
        .await?;
    rows.iter().map(held_change).collect()
}

pub(crate) async fn list_approvals(tx: &mut PgTx, f: &ApprovalFilter) -> Result<Vec<Approval>> {
    let rows = tx
        .query(
            &format!(
                "SELECT {APPROVAL_COLUMNS} FROM approvals WHERE ($1::text IS NULL OR status = $1) AND id < $2
                 ORDER BY id DESC LIMIT $3"
            ),
            &[&f.status.map(HoldStatus::as_str), &f.before.unwrap_or(i64::MAX), &(f.limit.max(1) as i64)],
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(approval(tx, r, f.changes_limit).await?);
    }
    Ok(out)
}

pub(crate) async fn get_approval(tx: &mut PgTx, id: i64) -> Result<Option<Approval>> {
    match tx.query_opt(&format!("SELECT {APPROVAL_COLUMNS} FROM approvals WHERE id = $1"), &[&id]).await? {
        Some(r) => Ok(Some(approval(tx, &r, usize::MAX).await?)),
        None => Ok(None),
    }
}
