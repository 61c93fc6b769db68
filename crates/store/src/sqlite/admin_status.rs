//! An admin's disable and enable of a member (`disabled_reason = admin`
//! sticks through refreshes and sign-ins), and samples of active members
//! for the engine's control calls and probes.
//!
//! seam: phase 2 — the disable is a whole operation still written here (it
//! reaches `ops/` for the history, the ledger, the holds and the queue); it
//! moves to `ops/admin_status.rs`.

use amsync_core::diff::{plan_admin, ChangeKind};
use amsync_core::record::DisabledReason;
use amsync_core::safety::Thresholds;
use amsync_core::{MemberKey, Trigger};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};

use super::codec::{self, ms};
use super::member_io as io;
use super::tx::run_now;
use super::SqliteTx;
use crate::backend::{ChangeOrigin, HeldTx, LedgerKind};
use crate::error::{Result, StoreError};
use crate::ops::queue::enqueue_one;
use crate::ops::refresh::record_change;
use crate::ops::safety::{drop_hold, ledger_add};
use crate::safety_api::*;

// ---- an admin's disable -------------------------------------------------------

/// See [`SafetyStore::admin_set_status`].
pub(crate) fn admin_set_status(
    tx: &mut SqliteTx,
    limits: &Thresholds,
    key: &str,
    disable: bool,
    at: DateTime<Utc>,
) -> Result<AdminStatusChange> {
    let member: MemberKey = codec::key("member", key.to_string())?;
    let old = io::load_record(&tx.conn, key)?
        .map(|l| l.record)
        .ok_or_else(|| StoreError::NotFound(format!("member {key}")))?;
    if !disable && !old.is_active() && old.disabled_reason != Some(DisabledReason::Admin) {
        let reason = old.disabled_reason.map_or("unknown", DisabledReason::as_str);
        return Err(StoreError::Conflict(format!(
            "member {key} was disabled by its source ({reason}), not by an admin; it is enabled again when the AMS \
             says it is active"
        )));
    }
    let plan = plan_admin(&old, disable);
    let changed = !plan.is_unchanged();
    if changed {
        io::update_state(&tx.conn, &plan.new, ms(at))?;
        run_now(record_change(tx, key, Trigger::Admin, None, at, &plan))?;
        // Recorded for the audit and the baselines; an admin's own change
        // never counts against the limits the source's changes are held by.
        let kind = match plan.kind {
            ChangeKind::Disabled => Some(LedgerKind::Disable),
            ChangeKind::Enabled => Some(LedgerKind::Enable),
            _ => None,
        };
        if let Some(kind) = kind {
            run_now(ledger_add(tx, kind, ChangeOrigin::Admin, Some(key), 1, at, limits))?;
        }
    }
    if disable {
        let open = run_now(tx.open_holds(key))?;
        for h in open.iter().filter(|h| h.kind == HoldKind::Disable) {
            run_now(drop_hold(tx, key, h, "an admin disabled the member", at))?;
        }
    } else if changed {
        // Enabled again, the member follows its source: refresh it now.
        run_now(enqueue_one(tx, key, Trigger::Admin, None, at, at))?;
    }
    Ok(AdminStatusChange { key: member, changed, status: plan.new.status, disabled_reason: plan.new.disabled_reason })
}

/// Up to `n` active members from a point `seed` picks in the table.
pub(crate) fn sample_active_members(conn: &Connection, n: usize, seed: u64) -> Result<Vec<MemberKey>> {
    let max: Option<i64> = conn.query_row("SELECT MAX(rowid) FROM members", [], |r| r.get(0))?;
    let Some(max) = max else { return Ok(Vec::new()) };
    let start = (seed % (max as u64 + 1)) as i64;
    let mut keys: Vec<String> = conn
        .prepare_cached("SELECT key FROM members WHERE rowid >= ?1 AND status = 'active' ORDER BY rowid LIMIT ?2")?
        .query_map(params![start, n as i64], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if keys.len() < n {
        let more: Vec<String> = conn
            .prepare_cached("SELECT key FROM members WHERE rowid < ?1 AND status = 'active' ORDER BY rowid LIMIT ?2")?
            .query_map(params![start, (n - keys.len()) as i64], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        keys.extend(more);
    }
    keys.into_iter().map(|k| codec::key("member", k)).collect()
}
