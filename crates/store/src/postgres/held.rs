//! Held changes after the commit path held them, in PostgreSQL (as
//! `sqlite/held.rs`): an admin's decision (applying re-validates each
//! change against the member first), reading approvals, and rule changes
//! (the dry run and the hold).
//!
//! seam: phase 2 — deciding an approval and holding a rule change move to
//! `ops/held.rs` with their SQLite twins; this file then drops to the
//! statements they need.

use std::collections::HashSet;

use amsync_core::community::Membership;
use amsync_core::diff::{plan_gone, replan};
use amsync_core::member::AmsStatus;
use amsync_core::record::{DisabledReason, MemberStatus};
use amsync_core::rules::RuleSet;
use amsync_core::safety::{Thresholds, Verdict};
use amsync_core::Trigger;
use chrono::{DateTime, NaiveDate, Utc};
use tokio_postgres::Row;

use super::codec::{self, count, from_json, get, to_json, ts};
use super::members::load_record;
use super::safety::hold_kind;
use super::settings::{put_setting, read_rules};
use super::tx::RULES_SETTING;
use super::{PgOp, PgTx};
use crate::backend::{AccessTx, ChangeOrigin, LedgerKind, MemberTx};
use crate::error::{Result, StoreError};
use crate::ops::refresh::record_change;
use crate::ops::safety::{ledger_add, usage};
use crate::safety_api::*;
use crate::types::ReapplySummary;

fn hold_status(v: &str) -> Result<HoldStatus> {
    HoldStatus::parse(v).ok_or_else(|| StoreError::Database(format!("stored hold status {v:?} is not known")))
}

async fn close_approval(
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

/// See [`crate::SafetyStore::decide_approval`].
pub(crate) struct Decide {
    pub id: i64,
    pub decision: ApprovalDecision,
    pub actor: String,
    pub at: DateTime<Utc>,
    pub limits: Thresholds,
}

impl PgOp for Decide {
    type Output = DecisionReport;

    async fn run(&mut self, tx: &mut PgTx) -> Result<DecisionReport> {
        let (id, decision, actor, at) = (self.id, self.decision, self.actor.as_str(), self.at);
        let row = tx
            .query_opt("SELECT kind, status, rules::text, rules_before::text FROM approvals WHERE id = $1", &[&id])
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("approval {id}")))?;
        let (kind, status) = (hold_kind(&get::<String>(&row, 0)?)?, hold_status(&get::<String>(&row, 1)?)?);
        let (rules, before): (Option<String>, Option<String>) = (get(&row, 2)?, get(&row, 3)?);
        if status != HoldStatus::Pending {
            return Err(StoreError::Conflict(format!("approval {id} is {} already", status.as_str())));
        }
        let mut report =
            DecisionReport { id, status: HoldStatus::Pending, applied: 0, rejected: 0, dropped: 0, rules: None };
        if kind == HoldKind::RuleChange {
            return decide_rule_change(tx, id, decision, actor, at, rules, before, report).await;
        }
        let items = tx
            .query(
                "SELECT id, member_key, signal::text FROM held_changes
                 WHERE approval_id = $1 AND status = 'pending' ORDER BY id",
                &[&id],
            )
            .await?;
        for r in &items {
            let (item, key): (i64, String) = (get(r, 0)?, get(r, 1)?);
            let signal: HoldSignal = from_json("held change", &get::<String>(r, 2)?)?;
            let outcome = match decision {
                ApprovalDecision::Reject => Ok(HoldStatus::Rejected),
                ApprovalDecision::Apply => release(tx, &self.limits, &key, &signal, at).await?,
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
            tx.exec(
                "UPDATE held_changes SET status = $2, decided_at = $3, note = $4 WHERE id = $1",
                &[&item, &status.as_str(), &ts(at), &note],
            )
            .await?;
        }
        report.status = match decision {
            ApprovalDecision::Apply => HoldStatus::Applied,
            ApprovalDecision::Reject => HoldStatus::Rejected,
        };
        close_approval(tx, id, report.status, actor, None, at).await?;
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
}

#[allow(clippy::too_many_arguments)]
async fn decide_rule_change(
    tx: &mut PgTx,
    id: i64,
    decision: ApprovalDecision,
    actor: &str,
    at: DateTime<Utc>,
    rules: Option<String>,
    before: Option<String>,
    mut report: DecisionReport,
) -> Result<DecisionReport> {
    if decision == ApprovalDecision::Reject {
        report.status = HoldStatus::Rejected;
        report.rejected = 1;
        close_approval(tx, id, report.status, actor, None, at).await?;
        return Ok(report);
    }
    let rules: RuleSet = from_json("held rules", rules.as_deref().unwrap_or("{}"))?;
    let before: RuleSet = from_json("held rules", before.as_deref().unwrap_or("{}"))?;
    if read_rules(tx).await? != before {
        report.status = HoldStatus::Dropped;
        report.dropped = 1;
        let note = "the community rules changed since this change was held; nothing was applied (PUT the rules again)";
        close_approval(tx, id, report.status, actor, Some(note), at).await?;
        return Ok(report);
    }
    put_setting(tx, RULES_SETTING, &to_json(&rules), at).await?;
    tx.bump_access_version().await?;
    report.status = HoldStatus::Applied;
    report.applied = 1;
    report.rules = Some(rules);
    close_approval(tx, id, report.status, actor, None, at).await?;
    Ok(report)
}

/// Applies one held change if its member is still where the hold left it;
/// otherwise says why not.
async fn release(
    tx: &mut PgTx,
    limits: &Thresholds,
    key: &str,
    signal: &HoldSignal,
    at: DateTime<Utc>,
) -> Result<std::result::Result<HoldStatus, String>> {
    let Some(old) = load_record(tx, key).await?.map(|l| l.record) else {
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
            let row = tx.query_one("SELECT ams_memberships::text FROM members WHERE key = $1", &[&key]).await?;
            let mut all: Vec<Membership> = from_json("AMS memberships", &get::<String>(&row, 0)?)?;
            all.retain(|m| !held.contains(&id(m)));
            tx.exec(
                "UPDATE members SET ams_memberships = $2::text::jsonb, updated_at = $3 WHERE key = $1",
                &[&key, &to_json(&all), &ts(at)],
            )
            .await?;
            let mut new = old.clone();
            new.memberships.retain(|m| !held.contains(&id(m)));
            if new.memberships.len() == old.memberships.len() {
                return Ok(Err("the member no longer has those memberships".into()));
            }
            let removed = (old.memberships.len() - new.memberships.len()) as u64;
            tx.replace_memberships(key, &new.memberships, true).await?;
            // Approved: recorded, not counted against the limits.
            ledger_add(tx, LedgerKind::MembershipRemoval, ChangeOrigin::Admin, Some(key), removed, at, limits).await?;
            let plan = replan(Some(&old), new, Vec::new());
            record_change(tx, key, Trigger::Admin, None, at, &plan).await?;
            return Ok(Ok(HoldStatus::Applied));
        }
    };
    tx.update_member_state(&plan.new, at).await?;
    record_change(tx, key, Trigger::Admin, None, at, &plan).await?;
    ledger_add(tx, LedgerKind::Disable, ChangeOrigin::Admin, Some(key), 1, at, limits).await?;
    Ok(Ok(HoldStatus::Applied))
}

/// What re-applying `rules` would change (members with their stored AMS
/// lists against the kept memberships), read in one snapshot.
pub(crate) async fn dry_run_rules(tx: &mut PgTx, rules: &RuleSet) -> Result<ReapplySummary> {
    let kept_rows =
        tx.query("SELECT member_key, community_key, begin FROM memberships ORDER BY member_key", &[]).await?;
    let mut kept_by_member: std::collections::HashMap<String, HashSet<(String, NaiveDate)>> =
        std::collections::HashMap::new();
    for r in &kept_rows {
        kept_by_member.entry(get(r, 0)?).or_default().insert((get(r, 1)?, get(r, 2)?));
    }
    let mut sum = ReapplySummary::default();
    let empty = HashSet::new();
    for r in &tx.query("SELECT key, ams_memberships::text FROM members ORDER BY key", &[]).await? {
        let key: String = get(r, 0)?;
        sum.members += 1;
        let all: Vec<Membership> = from_json("AMS memberships", &get::<String>(r, 1)?)?;
        let wanted: HashSet<(String, NaiveDate)> = all
            .iter()
            .filter(|m| rules.includes(&m.community))
            .map(|m| (m.community.key.to_string(), m.begin))
            .collect();
        let kept = kept_by_member.get(&key).unwrap_or(&empty);
        if &wanted != kept {
            sum.changed += 1;
            sum.memberships_added += wanted.difference(kept).count() as u64;
            sum.memberships_removed += kept.difference(&wanted).count() as u64;
        }
    }
    Ok(sum)
}

/// See [`crate::SafetyStore::hold_rule_change_if_over`].
pub(crate) struct HoldRuleChange {
    pub limits: Thresholds,
    pub rules: RuleSet,
    pub dry_run: ReapplySummary,
    pub at: DateTime<Utc>,
}

impl PgOp for HoldRuleChange {
    type Output = Option<i64>;

    async fn run(&mut self, tx: &mut PgTx) -> Result<Option<i64>> {
        let u = usage(tx, &self.limits, self.at, false, true).await?;
        let Verdict::Hold(reason) = self.limits.check_removals(&u, self.dry_run.memberships_removed) else {
            return Ok(None);
        };
        let before = read_rules(tx).await?;
        let row = tx
            .query_one(
                "INSERT INTO approvals (kind, status, reason, trigger, created_at, updated_at, rules, rules_before, summary)
                 VALUES ('rule_change', 'pending', $1, 'admin', $2, $2, $3::text::jsonb, $4::text::jsonb, $5::text::jsonb)
                 RETURNING id",
                &[&reason, &ts(self.at), &to_json(&self.rules), &to_json(&before), &to_json(&self.dry_run)],
            )
            .await?;
        let id: i64 = get(&row, 0)?;
        tracing::warn!(approval = id, reason, "community rule change held for approval");
        Ok(Some(id))
    }
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
