//! An admin's disable and enable of a member, and samples of active
//! members, in PostgreSQL (as `sqlite/admin_status.rs`).
//!
//! seam: phase 2 — the disable moves to `ops/admin_status.rs` with its
//! SQLite twin.

use amsync_core::diff::{plan_admin, ChangeKind};
use amsync_core::record::DisabledReason;
use amsync_core::safety::Thresholds;
use amsync_core::{MemberKey, Trigger};
use chrono::{DateTime, Utc};

use super::codec::{self, get};
use super::members::load_record;
use super::{PgOp, PgTx};
use crate::backend::{ChangeOrigin, HeldTx, LedgerKind, MemberTx};
use crate::error::{Result, StoreError};
use crate::ops::queue::enqueue_one;
use crate::ops::refresh::record_change;
use crate::ops::safety::{drop_hold, ledger_add};
use crate::safety_api::*;

/// See [`crate::SafetyStore::admin_set_status`].
pub(crate) struct AdminSetStatus {
    pub limits: Thresholds,
    pub key: String,
    pub disable: bool,
    pub at: DateTime<Utc>,
}

impl PgOp for AdminSetStatus {
    type Output = AdminStatusChange;

    async fn run(&mut self, tx: &mut PgTx) -> Result<AdminStatusChange> {
        let (key, disable, at) = (self.key.as_str(), self.disable, self.at);
        let member: MemberKey = codec::key("member", key.to_string())?;
        let old = load_record(tx, key)
            .await?
            .map(|l| l.record)
            .ok_or_else(|| StoreError::NotFound(format!("member {key}")))?;
        if !disable && !old.is_active() && old.disabled_reason != Some(DisabledReason::Admin) {
            let reason = old.disabled_reason.map_or("unknown", DisabledReason::as_str);
            return Err(StoreError::Conflict(format!(
                "member {key} was disabled by its source ({reason}), not by an admin; it is enabled again when the \
                 AMS says it is active"
            )));
        }
        let plan = plan_admin(&old, disable);
        let changed = !plan.is_unchanged();
        if changed {
            tx.update_member_state(&plan.new, at).await?;
            record_change(tx, key, Trigger::Admin, None, at, &plan).await?;
            let kind = match plan.kind {
                ChangeKind::Disabled => Some(LedgerKind::Disable),
                ChangeKind::Enabled => Some(LedgerKind::Enable),
                _ => None,
            };
            if let Some(kind) = kind {
                ledger_add(tx, kind, ChangeOrigin::Admin, Some(key), 1, at, &self.limits).await?;
            }
        }
        if disable {
            let open = tx.open_holds(key).await?;
            for h in open.iter().filter(|h| h.kind == HoldKind::Disable) {
                drop_hold(tx, key, h, "an admin disabled the member", at).await?;
            }
        } else if changed {
            // Enabled again, the member follows its source: refresh it now.
            enqueue_one(tx, key, Trigger::Admin, None, at, at).await?;
        }
        Ok(AdminStatusChange {
            key: member,
            changed,
            status: plan.new.status,
            disabled_reason: plan.new.disabled_reason,
        })
    }
}

/// Up to `n` active members from a point `seed` picks in key order.
pub(crate) async fn sample_active_members(tx: &mut PgTx, n: usize, seed: u64) -> Result<Vec<MemberKey>> {
    let total: i64 = get(&tx.query_one("SELECT COUNT(*) FROM members WHERE status = 'active'", &[]).await?, 0)?;
    if total == 0 || n == 0 {
        return Ok(Vec::new());
    }
    let start = (seed % total as u64) as i64;
    let mut rows = tx
        .query(
            "SELECT key FROM members WHERE status = 'active' ORDER BY key OFFSET $1 LIMIT $2",
            &[&start, &(n as i64)],
        )
        .await?;
    if rows.len() < n {
        let more = (n - rows.len()).min(start as usize) as i64;
        rows.extend(tx.query("SELECT key FROM members WHERE status = 'active' ORDER BY key LIMIT $1", &[&more]).await?);
    }
    rows.iter().map(|r| codec::key("member", get(r, 0)?)).collect()
}
