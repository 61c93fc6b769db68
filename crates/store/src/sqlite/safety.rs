//! The safety nets in SQL (see [`crate::safety_api`]): the threshold
//! ledger (`SafetyTx`) and the held changes a commit opens and drops
//! (`HeldTx`). Single operations only: the screening that decides with
//! them is `ops/safety.rs` (and `ops/held.rs` for an admin's decision);
//! the SQL of deciding and reading approvals is `held.rs`.
//!
//! The hot path pays one probe of a small partial index
//! (`held_changes_open`) per changed or gone member, and per unchanged
//! member one more. The baselines (members active and memberships held at
//! the window's start) cost a count over a table, so the writer's cache
//! keeps them for [`BASELINE_TTL_MS`].

use std::time::Duration;

use amsync_core::rules::RuleSet;
use amsync_core::safety::{active_at_window_start, memberships_at_window_start};
use amsync_core::Trigger;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::codec::{count, from_json, ms, to_json};
use super::{held, SqliteTx};
use crate::backend::{ApprovalState, ChangeOrigin, HeldTx, LedgerKind, LedgerSums, OpenHold, PendingHeld, SafetyTx};
use crate::error::{Result, StoreError};
use crate::safety_api::*;
use crate::types::{ReapplySummary, RunId};

/// How long a computed baseline is reused. A baseline moves only with
/// members created and the window sliding, so seconds of staleness are
/// harmless; a disable or removal leaves it as it is by construction.
pub(crate) const BASELINE_TTL_MS: i64 = 5_000;

fn window_ms(window: Duration) -> i64 {
    i64::try_from(window.as_millis()).unwrap_or(i64::MAX / 4)
}

pub(crate) fn hold_kind(v: &str) -> Result<HoldKind> {
    HoldKind::parse(v).ok_or_else(|| StoreError::Database(format!("stored hold kind {v:?} is not known")))
}

pub(crate) fn hold_status(v: &str) -> Result<HoldStatus> {
    HoldStatus::parse(v).ok_or_else(|| StoreError::Database(format!("stored hold status {v:?} is not known")))
}

fn ledger_sums(conn: &Connection, kind: LedgerKind, since: i64) -> Result<LedgerSums> {
    let (source, admin): (i64, i64) = conn
        .prepare_cached(
            "SELECT COALESCE(SUM(CASE WHEN by_admin = 0 THEN n END), 0), COALESCE(SUM(CASE WHEN by_admin = 1 THEN n END), 0)
             FROM threshold_ledger WHERE kind = ?1 AND at > ?2",
        )?
        .query_row(params![kind.as_str(), since], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(LedgerSums { source: count(source), admin: count(admin) })
}

/// Drops a pending approval of held changes none of which is pending any
/// more (a rule change holds no changes and is left alone). Returns
/// whether it was dropped.
pub(crate) fn drop_approval_left_with_nothing_pending(
    conn: &Connection,
    approval_id: i64,
    note: &str,
    at: i64,
) -> Result<bool> {
    let dropped = conn
        .prepare_cached(
            "UPDATE approvals SET status = 'dropped', updated_at = ?2, decided_at = ?2, note = ?3
             WHERE id = ?1 AND status = 'pending' AND kind <> 'rule_change'
               AND NOT EXISTS (SELECT 1 FROM held_changes WHERE approval_id = ?1 AND status = 'pending')",
        )?
        .execute(params![approval_id, at, note])?;
    Ok(dropped > 0)
}

impl SafetyTx for SqliteTx {
    async fn ledger_insert(
        &mut self,
        kind: LedgerKind,
        origin: ChangeOrigin,
        member: Option<&str>,
        n: u64,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let by_admin = origin == ChangeOrigin::Admin;
        self.conn
            .prepare_cached(
                "INSERT INTO threshold_ledger (kind, at, member_key, n, by_admin) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![kind.as_str(), ms(at), member, n as i64, by_admin])?;
        Ok(())
    }

    async fn ledger_prune(&mut self, kind: LedgerKind, before: DateTime<Utc>) -> Result<()> {
        self.conn
            .prepare_cached("DELETE FROM threshold_ledger WHERE kind = ?1 AND at < ?2")?
            .execute(params![kind.as_str(), ms(before)])?;
        Ok(())
    }

    async fn ledger_sums(&mut self, kind: LedgerKind, since: DateTime<Utc>) -> Result<LedgerSums> {
        ledger_sums(&self.conn, kind, ms(since))
    }

    async fn baseline_active(&mut self, at: DateTime<Utc>, window: Duration) -> Result<u64> {
        let (at, w) = (ms(at), window_ms(window));
        if let Some(v) = self.cache.baseline_active(at, w) {
            return Ok(v);
        }
        let since = at.saturating_sub(w);
        let now: i64 = self
            .conn
            .prepare_cached("SELECT COUNT(*) FROM members WHERE status = 'active'")?
            .query_row([], |r| r.get(0))?;
        let disabled = ledger_sums(&self.conn, LedgerKind::Disable, since)?.all();
        let enabled = ledger_sums(&self.conn, LedgerKind::Enable, since)?.all();
        let v = active_at_window_start(count(now), disabled, enabled);
        self.cache.set_baseline_active(at, w, v);
        Ok(v)
    }

    async fn baseline_memberships(&mut self, at: DateTime<Utc>, window: Duration) -> Result<u64> {
        let (at, w) = (ms(at), window_ms(window));
        if let Some(v) = self.cache.baseline_memberships(at, w) {
            return Ok(v);
        }
        let now: i64 = self.conn.prepare_cached("SELECT COUNT(*) FROM memberships")?.query_row([], |r| r.get(0))?;
        let removed = ledger_sums(&self.conn, LedgerKind::MembershipRemoval, at.saturating_sub(w))?.all();
        let v = memberships_at_window_start(count(now), removed);
        self.cache.set_baseline_memberships(at, w, v);
        Ok(v)
    }
}

impl HeldTx for SqliteTx {
    async fn open_holds(&mut self, key: &str) -> Result<Vec<OpenHold>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, approval_id, kind, signal FROM held_changes
             WHERE member_key = ?1 AND status IN ('pending', 'rejected')",
        )?;
        let rows = stmt.query_map([key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, approval_id, kind, signal): (i64, i64, String, String) = row?;
            out.push(OpenHold { id, approval_id, kind: hold_kind(&kind)?, signal: from_json("held change", &signal)? });
        }
        Ok(out)
    }

    async fn set_hold_dropped(&mut self, id: i64, note: &str, at: DateTime<Utc>) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE held_changes SET status = 'dropped', decided_at = ?2, note = ?3 WHERE id = ?1")?
            .execute(params![id, ms(at), note])?;
        Ok(())
    }

    async fn drop_approval_if_nothing_pending(
        &mut self,
        id: ApprovalId,
        note: &str,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        drop_approval_left_with_nothing_pending(&self.conn, id, note, ms(at))
    }

    async fn approval_for_hold(
        &mut self,
        kind: HoldKind,
        run_id: Option<RunId>,
        trigger: Trigger,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<ApprovalId> {
        // One writer: finding and then inserting cannot race.
        let found: Option<i64> = self
            .conn
            .prepare_cached(
                "SELECT id FROM approvals WHERE status = 'pending' AND kind = ?1 AND run_id IS ?2
                 ORDER BY id DESC LIMIT 1",
            )?
            .query_row(params![kind.as_str(), run_id], |r| r.get(0))
            .optional()?;
        let at = ms(at);
        match found {
            Some(id) => {
                self.conn
                    .prepare_cached("UPDATE approvals SET updated_at = ?2 WHERE id = ?1")?
                    .execute(params![id, at])?;
                Ok(id)
            }
            None => Ok(self
                .conn
                .prepare_cached(
                    "INSERT INTO approvals (kind, status, reason, run_id, trigger, created_at, updated_at)
                     VALUES (?1, 'pending', ?2, ?3, ?4, ?5, ?5) RETURNING id",
                )?
                .query_row(params![kind.as_str(), reason, run_id, trigger.as_str(), at], |r| r.get(0))?),
        }
    }

    async fn insert_held_change(
        &mut self,
        approval: ApprovalId,
        key: &str,
        kind: HoldKind,
        signal: &HoldSignal,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO held_changes (approval_id, member_key, kind, status, signal, created_at)
                 VALUES (?1, ?2, ?3, 'pending', ?4, ?5)",
            )?
            .execute(params![approval, key, kind.as_str(), to_json(signal), ms(at)])?;
        Ok(())
    }

    async fn approval_state(&mut self, id: ApprovalId) -> Result<Option<ApprovalState>> {
        held::approval_state(&self.conn, id)
    }

    async fn pending_held_changes(&mut self, id: ApprovalId) -> Result<Vec<PendingHeld>> {
        held::pending_held_changes(&self.conn, id)
    }

    async fn set_held_change_status(
        &mut self,
        id: i64,
        status: HoldStatus,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        held::set_held_change_status(&self.conn, id, status, note, ms(at))
    }

    async fn close_approval(
        &mut self,
        id: ApprovalId,
        status: HoldStatus,
        actor: &str,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        held::close_approval(&self.conn, id, status, actor, note, ms(at))
    }

    async fn insert_rule_change_approval(
        &mut self,
        reason: &str,
        rules: &RuleSet,
        rules_before: &RuleSet,
        summary: &ReapplySummary,
        at: DateTime<Utc>,
    ) -> Result<ApprovalId> {
        held::insert_rule_change_approval(&self.conn, reason, rules, rules_before, summary, ms(at))
    }
}
