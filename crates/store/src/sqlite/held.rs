//! Held changes after the commit path held them: an admin's decision
//! (applying re-validates each change against the member's current state
//! first), reading approvals, and rule changes (the dry run and the hold).
//!
//! seam: phase 2 — deciding an approval and holding a rule change are
//! whole operations still written here (they reach `ops/` for the history,
//! the change feed and the ledger); they move to `ops/held.rs`.

use std::collections::HashSet;

use amsync_core::community::Membership;
use amsync_core::diff::{plan_gone, replan};
use amsync_core::member::AmsStatus;
use amsync_core::record::{DisabledReason, MemberStatus};
use amsync_core::rules::RuleSet;
use amsync_core::safety::{Thresholds, Verdict};
use amsync_core::Trigger;
use rusqlite::{params, Connection, OptionalExtension};

use chrono::{DateTime, Utc};

use super::access::bump_access_version;
use super::cache::{Cache, RULES_SETTING};
use super::codec::{self, count, from_json, from_ms, ms, opt_from_ms, to_json};
use super::member_io as io;
use super::safety::{hold_kind, hold_status};
use super::tx::run_now;
use super::SqliteTx;
use crate::backend::{ChangeOrigin, LedgerKind};
use crate::error::{Result, StoreError};
use crate::ops::refresh::record_change;
use crate::ops::safety::{ledger_add, usage};
use crate::safety_api::*;
use crate::types::ReapplySummary;

// ---- deciding an approval ---------------------------------------------------

/// An approval's kind, status, and (for a rule change) its rules and the
/// rules they replace, as stored.
type ApprovalRow = (HoldKind, HoldStatus, Option<String>, Option<String>);

fn approval_row(conn: &Connection, id: i64) -> Result<Option<ApprovalRow>> {
    let row = conn
        .prepare_cached("SELECT kind, status, rules, rules_before FROM approvals WHERE id = ?1")?
        .query_row([id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<String>>(2)?, r.get(3)?))
        })
        .optional()?;
    row.map(|(k, s, rules, before)| Ok((hold_kind(&k)?, hold_status(&s)?, rules, before))).transpose()
}

fn close_approval(
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

/// See [`SafetyStore::decide_approval`].
pub(crate) fn decide(
    tx: &mut SqliteTx,
    limits: &Thresholds,
    id: i64,
    decision: ApprovalDecision,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<DecisionReport> {
    let at_ms = ms(at);
    let (kind, status, rules, before) =
        approval_row(&tx.conn, id)?.ok_or_else(|| StoreError::NotFound(format!("approval {id}")))?;
    if status != HoldStatus::Pending {
        return Err(StoreError::Conflict(format!("approval {id} is {} already", status.as_str())));
    }
    let mut report =
        DecisionReport { id, status: HoldStatus::Pending, applied: 0, rejected: 0, dropped: 0, rules: None };
    if kind == HoldKind::RuleChange {
        let SqliteTx { conn, cache, .. } = tx;
        return decide_rule_change(conn, cache, id, decision, actor, at_ms, rules, before, report);
    }
    let items: Vec<(i64, String, String)> = tx
        .conn
        .prepare_cached(
            "SELECT id, member_key, signal FROM held_changes WHERE approval_id = ?1 AND status = 'pending' ORDER BY id",
        )?
        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (item, key, signal) in items {
        let signal: HoldSignal = from_json("held change", &signal)?;
        let outcome = match decision {
            ApprovalDecision::Reject => Ok(HoldStatus::Rejected),
            ApprovalDecision::Apply => release(tx, limits, &key, &signal, at)?,
        };
        let (status, note) = match outcome {
            Ok(s) => (s, None),
            Err(why) => (HoldStatus::Dropped, Some(why)),
        };
        match status {
            HoldStatus::Applied => report.applied += 1,
            HoldStatus::Rejected => report.rejected += 1,
            _ => report.dropped += 1,
        }
        tx.conn
            .prepare_cached("UPDATE held_changes SET status = ?2, decided_at = ?3, note = ?4 WHERE id = ?1")?
            .execute(params![item, status.as_str(), at_ms, note])?;
    }
    report.status = match decision {
        ApprovalDecision::Apply => HoldStatus::Applied,
        ApprovalDecision::Reject => HoldStatus::Rejected,
    };
    close_approval(&tx.conn, id, report.status, actor, None, at_ms)?;
    tracing::info!(
        approval = id,
        actor,
        status = report.status.as_str(),
        applied = report.applied,
        rejected = report.rejected,
        dropped = report.dropped,
        "approval decided"
    );
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
fn decide_rule_change(
    conn: &Connection,
    cache: &mut Cache,
    id: i64,
    decision: ApprovalDecision,
    actor: &str,
    at: i64,
    rules: Option<String>,
    before: Option<String>,
    mut report: DecisionReport,
) -> Result<DecisionReport> {
    if decision == ApprovalDecision::Reject {
        report.status = HoldStatus::Rejected;
        report.rejected = 1;
        close_approval(conn, id, report.status, actor, None, at)?;
        return Ok(report);
    }
    let rules: RuleSet = from_json("held rules", rules.as_deref().unwrap_or("{}"))?;
    let before: RuleSet = from_json("held rules", before.as_deref().unwrap_or("{}"))?;
    if super::cache::read_rules(conn)? != before {
        report.status = HoldStatus::Dropped;
        report.dropped = 1;
        let note = "the community rules changed since this change was held; nothing was applied (PUT the rules again)";
        close_approval(conn, id, report.status, actor, Some(note), at)?;
        return Ok(report);
    }
    super::settings::put_setting(conn, RULES_SETTING, &to_json(&rules), at)?;
    bump_access_version(conn)?;
    cache.invalidate();
    report.status = HoldStatus::Applied;
    report.applied = 1;
    report.rules = Some(rules);
    close_approval(conn, id, report.status, actor, None, at)?;
    Ok(report)
}

/// Applies one held change if its member is still where the hold left it;
/// otherwise says why not.
fn release(
    tx: &mut SqliteTx,
    limits: &Thresholds,
    key: &str,
    signal: &HoldSignal,
    at: DateTime<Utc>,
) -> Result<std::result::Result<HoldStatus, String>> {
    let Some(old) = io::load_record(&tx.conn, key)?.map(|l| l.record) else {
        return Ok(Err("the member is no longer stored".into()));
    };
    let plan = match signal {
        HoldSignal::Gone { merged_into, .. } => {
            if !old.is_active() {
                return Ok(Err("the member is disabled already".into()));
            }
            match plan_gone(Some(&old), merged_into.clone()) {
                Some(p) => p,
                None => return Ok(Err("the member is no longer stored".into())),
            }
        }
        HoldSignal::AmsStatus => {
            if !old.is_active() {
                return Ok(Err("the member is disabled already".into()));
            }
            if old.details.status != AmsStatus::Disabled {
                return Ok(Err("the AMS no longer says the member is disabled".into()));
            }
            let mut new = old.clone();
            new.status = MemberStatus::Disabled;
            new.disabled_reason = Some(DisabledReason::AmsStatus);
            replan(Some(&old), new, Vec::new())
        }
        HoldSignal::Removed { memberships } => {
            let held: HashSet<_> = memberships.iter().map(|m| (m.community.key.to_string(), m.begin)).collect();
            let id = |m: &Membership| (m.community.key.to_string(), m.begin);
            // The stored AMS list kept them while held; the answer it came
            // from did not list them. Whatever happens, they leave it.
            let all: String = tx
                .conn
                .prepare_cached("SELECT ams_memberships FROM members WHERE key = ?1")?
                .query_row([key], |r| r.get(0))?;
            let mut all: Vec<Membership> = from_json("AMS memberships", &all)?;
            all.retain(|m| !held.contains(&id(m)));
            tx.conn
                .prepare_cached("UPDATE members SET ams_memberships = ?2, updated_at = ?3 WHERE key = ?1")?
                .execute(params![key, to_json(&all), ms(at)])?;
            let mut new = old.clone();
            new.memberships.retain(|m| !held.contains(&id(m)));
            if new.memberships.len() == old.memberships.len() {
                return Ok(Err("the member no longer has those memberships".into()));
            }
            let removed = (old.memberships.len() - new.memberships.len()) as u64;
            io::replace_memberships(&tx.conn, key, &new.memberships, true)?;
            // Approved: recorded, not counted against the limits.
            let (kind, origin) = (LedgerKind::MembershipRemoval, ChangeOrigin::Admin);
            run_now(ledger_add(tx, kind, origin, Some(key), removed, at, limits))?;
            let plan = replan(Some(&old), new, Vec::new());
            run_now(record_change(tx, key, Trigger::Admin, None, at, &plan))?;
            return Ok(Ok(HoldStatus::Applied));
        }
    };
    io::update_state(&tx.conn, &plan.new, ms(at))?;
    run_now(record_change(tx, key, Trigger::Admin, None, at, &plan))?;
    run_now(ledger_add(tx, LedgerKind::Disable, ChangeOrigin::Admin, Some(key), 1, at, limits))?;
    Ok(Ok(HoldStatus::Applied))
}

// ---- rule changes -------------------------------------------------------------

/// What re-applying `rules` would change, by a merge of two scans in key
/// order (members with their stored AMS lists; the kept memberships).
pub(crate) fn dry_run_rules(conn: &Connection, rules: &RuleSet) -> Result<ReapplySummary> {
    let mut kept_stmt = conn.prepare("SELECT member_key, community_key, begin FROM memberships ORDER BY member_key")?;
    let mut kept_rows = kept_stmt.query([])?;
    let mut next_kept = move || -> Result<Option<(String, String, String)>> {
        Ok(match kept_rows.next()? {
            Some(r) => Some((r.get(0)?, r.get(1)?, r.get(2)?)),
            None => None,
        })
    };
    let mut pending = next_kept()?;
    let mut sum = ReapplySummary::default();
    let mut members = conn.prepare("SELECT key, ams_memberships FROM members ORDER BY key")?;
    let mut rows = members.query([])?;
    while let Some(r) = rows.next()? {
        let key: String = r.get(0)?;
        let json: String = r.get(1)?;
        sum.members += 1;
        let mut kept = HashSet::new();
        while let Some((k, c, b)) = pending.take() {
            match k.as_str().cmp(key.as_str()) {
                std::cmp::Ordering::Greater => {
                    pending = Some((k, c, b));
                    break;
                }
                std::cmp::Ordering::Equal => {
                    kept.insert((c, b));
                }
                std::cmp::Ordering::Less => {}
            }
            pending = next_kept()?;
        }
        let all: Vec<Membership> = from_json("AMS memberships", &json)?;
        let wanted: HashSet<(String, String)> = all
            .iter()
            .filter(|m| rules.includes(&m.community))
            .map(|m| (m.community.key.to_string(), io::date_text(m.begin)))
            .collect();
        if wanted != kept {
            sum.changed += 1;
            sum.memberships_added += wanted.difference(&kept).count() as u64;
            sum.memberships_removed += kept.difference(&wanted).count() as u64;
        }
    }
    Ok(sum)
}

/// See [`SafetyStore::hold_rule_change_if_over`].
pub(crate) fn hold_rule_change_if_over(
    tx: &mut SqliteTx,
    limits: &Thresholds,
    rules: &RuleSet,
    dry_run: &ReapplySummary,
    at: DateTime<Utc>,
) -> Result<Option<i64>> {
    let u = run_now(usage(tx, limits, at, false, true))?;
    let Verdict::Hold(reason) = limits.check_removals(&u, dry_run.memberships_removed) else { return Ok(None) };
    let before = super::cache::read_rules(&tx.conn)?;
    let id: i64 = tx
        .conn
        .prepare_cached(
            "INSERT INTO approvals (kind, status, reason, trigger, created_at, updated_at, rules, rules_before, summary)
             VALUES ('rule_change', 'pending', ?1, 'admin', ?2, ?2, ?3, ?4, ?5) RETURNING id",
        )?
        .query_row(params![reason, ms(at), to_json(rules), to_json(&before), to_json(dry_run)], |r| r.get(0))?;
    tracing::warn!(approval = id, reason, "community rule change held for approval");
    Ok(Some(id))
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
