//! An admin's disable and enable of a member (`disabled_reason = admin`
//! sticks through refreshes and sign-ins), and samples of active members
//! for the engine's control calls and probes.

use amsync_core::diff::{plan_admin, ChangeKind};
use amsync_core::record::DisabledReason;
use amsync_core::safety::Thresholds;
use amsync_core::{MemberKey, Trigger};
use rusqlite::{params, Connection};

use super::codec;
use super::member_io as io;
use super::refresh::record_change;
use super::safety::{drop_hold, ledger_add, open_holds, ChangeOrigin, DISABLE, ENABLE};
use crate::error::{Result, StoreError};
use crate::safety_api::*;

// ---- an admin's disable -------------------------------------------------------

/// See [`SafetyStore::admin_set_status`].
pub(crate) fn admin_set_status(
    conn: &Connection,
    limits: &Thresholds,
    key: &str,
    disable: bool,
    at: i64,
) -> Result<AdminStatusChange> {
    let member: MemberKey = codec::key("member", key.to_string())?;
    let old =
        io::load_record(conn, key)?.map(|l| l.record).ok_or_else(|| StoreError::NotFound(format!("member {key}")))?;
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
        io::update_state(conn, &plan.new, at)?;
        record_change(conn, key, Trigger::Admin, None, at, &plan)?;
        // Recorded for the audit and the baselines; an admin's own change
        // never counts against the limits the source's changes are held by.
        match plan.kind {
            ChangeKind::Disabled => ledger_add(conn, DISABLE, ChangeOrigin::Admin, Some(key), 1, at, limits)?,
            ChangeKind::Enabled => ledger_add(conn, ENABLE, ChangeOrigin::Admin, Some(key), 1, at, limits)?,
            _ => {}
        }
    }
    if disable {
        for h in open_holds(conn, key)?.iter().filter(|h| h.kind == HoldKind::Disable) {
            drop_hold(conn, h, "an admin disabled the member", at)?;
        }
    } else if changed {
        // Enabled again, the member follows its source: refresh it now.
        super::queue::enqueue_one(conn, key, Trigger::Admin, None, at, at)?;
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
