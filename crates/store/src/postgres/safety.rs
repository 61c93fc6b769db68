//! The safety nets in PostgreSQL: the threshold ledger (`SafetyTx`) and the
//! held changes a commit opens and drops (`HeldTx`). Single operations
//! only: the screening that decides with them is `ops/safety.rs`.
//!
//! The baselines (members active and memberships held at the window's
//! start) are counted in the transaction that asks, never kept between
//! transactions: other nodes change them. Commits of several nodes that
//! screen against the same window read the same ledger rows; the
//! serializable transaction makes the second of two that both pass the
//! limit run again and see the first's rows, as SQLite's one writer does.

use std::time::Duration;

use amsync_core::rules::RuleSet;
use amsync_core::safety::{active_at_window_start, memberships_at_window_start};
use amsync_core::Trigger;
use chrono::{DateTime, Utc};

use super::codec::{count, from_json, get, to_json, ts};
use super::{held, PgTx};
use crate::backend::{ApprovalState, ChangeOrigin, HeldTx, LedgerKind, LedgerSums, OpenHold, PendingHeld, SafetyTx};
use crate::error::{Result, StoreError};
use crate::safety_api::*;
use crate::types::{ReapplySummary, RunId};

fn window(window: Duration) -> chrono::Duration {
    chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX)
}

fn since(at: DateTime<Utc>, w: Duration) -> DateTime<Utc> {
    at.checked_sub_signed(window(w)).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

pub(crate) fn hold_kind(v: &str) -> Result<HoldKind> {
    HoldKind::parse(v).ok_or_else(|| StoreError::Database(format!("stored hold kind {v:?} is not known")))
}

async fn ledger_sums(tx: &mut PgTx, kind: LedgerKind, since: DateTime<Utc>) -> Result<LedgerSums> {
    let row = tx
        .query_one(
            "SELECT COALESCE(SUM(n) FILTER (WHERE NOT by_admin), 0)::bigint,
                    COALESCE(SUM(n) FILTER (WHERE by_admin), 0)::bigint
             FROM threshold_ledger WHERE kind = $1 AND at > $2",
            &[&kind.as_str(), &ts(since)],
        )
        .await?;
    Ok(LedgerSums { source: count(get(&row, 0)?), admin: count(get(&row, 1)?) })
}

impl SafetyTx for PgTx {
    async fn ledger_insert(
        &mut self,
        kind: LedgerKind,
        origin: ChangeOrigin,
        member: Option<&str>,
        n: u64,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let by_admin = origin == ChangeOrigin::Admin;
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        self.exec(
            "INSERT INTO threshold_ledger (kind, at, member_key, n, by_admin) VALUES ($1, $2, $3, $4, $5)",
            &[&kind.as_str(), &ts(at), &member, &n, &by_admin],
        )
        .await?;
        Ok(())
    }

    async fn ledger_prune(&mut self, kind: LedgerKind, before: DateTime<Utc>) -> Result<()> {
        self.exec("DELETE FROM threshold_ledger WHERE kind = $1 AND at < $2", &[&kind.as_str(), &ts(before)]).await?;
        Ok(())
    }

    async fn ledger_sums(&mut self, kind: LedgerKind, since: DateTime<Utc>) -> Result<LedgerSums> {
        ledger_sums(self, kind, since).await
    }

    async fn baseline_active(&mut self, at: DateTime<Utc>, w: Duration) -> Result<u64> {
        let from = since(ts(at), w);
        let now: i64 = get(&self.query_one("SELECT COUNT(*) FROM members WHERE status = 'active'", &[]).await?, 0)?;
        let disabled = ledger_sums(self, LedgerKind::Disable, from).await?.all();
        let enabled = ledger_sums(self, LedgerKind::Enable, from).await?.all();
        Ok(active_at_window_start(count(now), disabled, enabled))
    }

    async fn baseline_memberships(&mut self, at: DateTime<Utc>, w: Duration) -> Result<u64> {
        let from = since(ts(at), w);
        let now: i64 = get(&self.query_one("SELECT COUNT(*) FROM memberships", &[]).await?, 0)?;
        let removed = ledger_sums(self, LedgerKind::MembershipRemoval, from).await?.all();
        Ok(memberships_at_window_start(count(now), removed))
    }
}

impl HeldTx for PgTx {
    async fn open_holds(&mut self, key: &str) -> Result<Vec<OpenHold>> {
        let rows = self
            .query(
                "SELECT id, approval_id, kind, signal::text FROM held_changes
                 WHERE member_key = $1 AND status IN ('pending', 'rejected')",
                &[&key],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(OpenHold {
                    id: get(r, 0)?,
                    approval_id: get(r, 1)?,
                    kind: hold_kind(&get::<String>(r, 2)?)?,
                    signal: from_json("held change", &get::<String>(r, 3)?)?,
                })
            })
            .collect()
    }

    async fn set_hold_dropped(&mut self, id: i64, note: &str, at: DateTime<Utc>) -> Result<()> {
        self.exec(
            "UPDATE held_changes SET status = 'dropped', decided_at = $2, note = $3 WHERE id = $1",
            &[&id, &ts(at), &note],
        )
        .await?;
        Ok(())
    }

    async fn drop_approval_if_nothing_pending(
        &mut self,
        id: ApprovalId,
        note: &str,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let dropped = self
            .exec(
                "UPDATE approvals SET status = 'dropped', updated_at = $2, decided_at = $2, note = $3
                 WHERE id = $1 AND status = 'pending' AND kind <> 'rule_change'
                   AND NOT EXISTS (SELECT 1 FROM held_changes WHERE approval_id = $1 AND status = 'pending')",
                &[&id, &ts(at), &note],
            )
            .await?;
        Ok(dropped > 0)
    }

    async fn approval_for_hold(
        &mut self,
        kind: HoldKind,
        run_id: Option<RunId>,
        trigger: Trigger,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<ApprovalId> {
        // Two nodes holding changes of one run at once both find none and
        // both insert: the serializable transaction fails the second, whose
        // op runs again and finds the first's approval.
        let at = ts(at);
        let found = self
            .query_opt(
                "SELECT id FROM approvals WHERE status = 'pending' AND kind = $1 AND run_id IS NOT DISTINCT FROM $2
                 ORDER BY id DESC LIMIT 1",
                &[&kind.as_str(), &run_id],
            )
            .await?;
        match found {
            Some(row) => {
                let id: i64 = get(&row, 0)?;
                self.exec("UPDATE approvals SET updated_at = $2 WHERE id = $1", &[&id, &at]).await?;
                Ok(id)
            }
            None => {
                let row = self
                    .query_one(
                        "INSERT INTO approvals (kind, status, reason, run_id, trigger, created_at, updated_at)
                         VALUES ($1, 'pending', $2, $3, $4, $5, $5) RETURNING id",
                        &[&kind.as_str(), &reason, &run_id, &trigger.as_str(), &at],
                    )
                    .await?;
                get(&row, 0)
            }
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
        self.exec(
            "INSERT INTO held_changes (approval_id, member_key, kind, status, signal, created_at)
             VALUES ($1, $2, $3, 'pending', $4::text::jsonb, $5)",
            &[&approval, &key, &kind.as_str(), &to_json(signal), &ts(at)],
        )
        .await?;
        Ok(())
    }

    async fn approval_state(&mut self, id: ApprovalId) -> Result<Option<ApprovalState>> {
        held::approval_state(self, id).await
    }

    async fn pending_held_changes(&mut self, id: ApprovalId) -> Result<Vec<PendingHeld>> {
        held::pending_held_changes(self, id).await
    }

    async fn set_held_change_status(
        &mut self,
        id: i64,
        status: HoldStatus,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        held::set_held_change_status(self, id, status, note, at).await
    }

    async fn close_approval(
        &mut self,
        id: ApprovalId,
        status: HoldStatus,
        actor: &str,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        held::close_approval(self, id, status, actor, note, at).await
    }

    async fn insert_rule_change_approval(
        &mut self,
        reason: &str,
        rules: &RuleSet,
        rules_before: &RuleSet,
        summary: &ReapplySummary,
        at: DateTime<Utc>,
    ) -> Result<ApprovalId> {
        held::insert_rule_change_approval(self, reason, rules, rules_before, summary, at).await
    }
}
