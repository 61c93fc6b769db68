//! The safety nets on SQLite (see [`crate::safety_api`]): the threshold
//! ledger and the screening of each refresh commit, which holds a change
//! past the thresholds (deciding and reading held changes is `held.rs`).
//!
//! Everything that decides runs on the writer, inside the commit it
//! screens, so the count of a window is exact however many refreshes commit
//! at once. The hot path pays one probe of a small partial index
//! (`held_changes_open`) per changed or gone member, and per unchanged
//! member one more; the window is counted only when a refresh would disable
//! a member or remove memberships. The baselines (members active and
//! memberships held at the window's start) cost a count over a table, so
//! they are kept for [`BASELINE_TTL_MS`].

use std::collections::HashSet;

use amsync_core::community::Membership;
use amsync_core::diff::{replan, ChangeKind, RefreshPlan};
use amsync_core::record::MemberRecord;
use amsync_core::safety::{Thresholds, Verdict, WindowUsage};
use amsync_core::Trigger;
use rusqlite::{params, Connection, OptionalExtension};

use super::cache::Cache;
use super::codec::{count, from_json, to_json};
use crate::error::{Result, StoreError};
use crate::safety_api::*;

/// How long a computed baseline is reused. A baseline moves only with
/// members created and the window sliding, so seconds of staleness are
/// harmless; a disable or removal leaves it as it is by construction.
pub(crate) const BASELINE_TTL_MS: i64 = 5_000;

/// Ledger rows are kept this long at least (and twice the window).
const LEDGER_KEEP_MS: i64 = 2 * 86_400_000;

pub(crate) const DISABLE: &str = "disable";
pub(crate) const ENABLE: &str = "enable";
pub(crate) const REMOVAL: &str = "membership_removal";

/// Whose change a ledger row records. The source's changes count against
/// the window's limits; a change an admin made or approved (an admin's
/// disable or enable, a released hold, a rule change) is recorded for the
/// audit and for the baselines only, so approving one large change does
/// not hold the source's ordinary changes for the rest of the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChangeOrigin {
    Source,
    Admin,
}

/// Where a screened change comes from.
pub(crate) struct HoldCtx<'a> {
    pub limits: &'a Thresholds,
    pub key: &'a str,
    pub trigger: Trigger,
    pub run_id: Option<i64>,
    pub at: i64,
}

fn window_ms(limits: &Thresholds) -> i64 {
    i64::try_from(limits.window.as_millis()).unwrap_or(i64::MAX / 4)
}

// ---- the ledger -----------------------------------------------------------

/// Records what the window counts, and prunes rows no window needs.
pub(crate) fn ledger_add(
    conn: &Connection,
    kind: &str,
    origin: ChangeOrigin,
    member: Option<&str>,
    n: u64,
    at: i64,
    limits: &Thresholds,
) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    let by_admin = origin == ChangeOrigin::Admin;
    conn.prepare_cached(
        "INSERT INTO threshold_ledger (kind, at, member_key, n, by_admin) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![kind, at, member, n as i64, by_admin])?;
    let keep = window_ms(limits).saturating_mul(2).max(LEDGER_KEEP_MS);
    conn.prepare_cached("DELETE FROM threshold_ledger WHERE kind = ?1 AND at < ?2")?
        .execute(params![kind, at.saturating_sub(keep)])?;
    Ok(())
}

/// What the window holds of one kind since `since`: the source's changes
/// (what the limits count) and an admin's (see [`ChangeOrigin`]).
struct LedgerSums {
    source: u64,
    admin: u64,
}

impl LedgerSums {
    fn all(&self) -> u64 {
        self.source + self.admin
    }
}

fn ledger_sums(conn: &Connection, kind: &str, since: i64) -> Result<LedgerSums> {
    let (source, admin): (i64, i64) = conn
        .prepare_cached(
            "SELECT COALESCE(SUM(CASE WHEN by_admin = 0 THEN n END), 0), COALESCE(SUM(CASE WHEN by_admin = 1 THEN n END), 0)
             FROM threshold_ledger WHERE kind = ?1 AND at > ?2",
        )?
        .query_row(params![kind, since], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(LedgerSums { source: count(source), admin: count(admin) })
}

/// What the window holds at `at`. The baselines are computed only when
/// asked for (`active`, `memberships`), and reused for a few seconds.
pub(crate) fn usage(
    conn: &Connection,
    cache: &mut Cache,
    limits: &Thresholds,
    at: i64,
    active: bool,
    memberships: bool,
) -> Result<WindowUsage> {
    let w = window_ms(limits);
    let since = at.saturating_sub(w);
    let disables = ledger_sums(conn, DISABLE, since)?;
    let removals = ledger_sums(conn, REMOVAL, since)?;
    let mut u = WindowUsage {
        disables: disables.source,
        admin_disables: disables.admin,
        membership_removals: removals.source,
        admin_membership_removals: removals.admin,
        ..WindowUsage::default()
    };
    if active {
        u.active_at_start = match cache.baseline_active(at, w) {
            Some(v) => v,
            None => {
                let now: i64 = conn
                    .prepare_cached("SELECT COUNT(*) FROM members WHERE status = 'active'")?
                    .query_row([], |r| r.get(0))?;
                // Every change applied within the window moved the count,
                // whoever made it.
                let enabled = ledger_sums(conn, ENABLE, since)?.all();
                let v = (count(now) + disables.all()).saturating_sub(enabled);
                cache.set_baseline_active(at, w, v);
                v
            }
        };
    }
    if memberships {
        u.memberships_at_start = match cache.baseline_memberships(at, w) {
            Some(v) => v,
            None => {
                let now: i64 = conn.prepare_cached("SELECT COUNT(*) FROM memberships")?.query_row([], |r| r.get(0))?;
                let v = count(now) + removals.all();
                cache.set_baseline_memberships(at, w, v);
                v
            }
        };
    }
    Ok(u)
}

// ---- held changes -----------------------------------------------------------

/// A pending or rejected held change of one member.
pub(crate) struct OpenHold {
    pub id: i64,
    pub approval_id: i64,
    pub kind: HoldKind,
    pub signal: HoldSignal,
}

pub(crate) fn hold_kind(v: &str) -> Result<HoldKind> {
    HoldKind::parse(v).ok_or_else(|| StoreError::Database(format!("stored hold kind {v:?} is not known")))
}

pub(crate) fn hold_status(v: &str) -> Result<HoldStatus> {
    HoldStatus::parse(v).ok_or_else(|| StoreError::Database(format!("stored hold status {v:?} is not known")))
}

pub(crate) fn open_holds(conn: &Connection, key: &str) -> Result<Vec<OpenHold>> {
    let mut stmt = conn.prepare_cached(
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

/// Closes a held change whose member moved on; a pending approval left
/// with nothing pending is dropped too.
pub(crate) fn drop_hold(conn: &Connection, h: &OpenHold, note: &str, at: i64) -> Result<()> {
    conn.prepare_cached("UPDATE held_changes SET status = 'dropped', decided_at = ?2, note = ?3 WHERE id = ?1")?
        .execute(params![h.id, at, note])?;
    drop_approval_left_with_nothing_pending(
        conn,
        h.approval_id,
        "every held change was dropped: the source answered otherwise meanwhile",
        at,
    )?;
    tracing::info!(member = %key_of(conn, h.id)?, kind = h.kind.as_str(), note, "a held change was dropped");
    Ok(())
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

fn key_of(conn: &Connection, held_id: i64) -> Result<String> {
    Ok(conn.prepare_cached("SELECT member_key FROM held_changes WHERE id = ?1")?.query_row([held_id], |r| r.get(0))?)
}

/// Holds a change in the pending approval of its run and kind (made when
/// there is none).
fn hold(conn: &Connection, ctx: &HoldCtx<'_>, kind: HoldKind, signal: &HoldSignal, reason: &str) -> Result<()> {
    let found: Option<i64> = conn
        .prepare_cached(
            "SELECT id FROM approvals WHERE status = 'pending' AND kind = ?1 AND run_id IS ?2 ORDER BY id DESC LIMIT 1",
        )?
        .query_row(params![kind.as_str(), ctx.run_id], |r| r.get(0))
        .optional()?;
    let approval = match found {
        Some(id) => {
            conn.prepare_cached("UPDATE approvals SET updated_at = ?2 WHERE id = ?1")?.execute(params![id, ctx.at])?;
            id
        }
        None => conn
            .prepare_cached(
                "INSERT INTO approvals (kind, status, reason, run_id, trigger, created_at, updated_at)
                 VALUES (?1, 'pending', ?2, ?3, ?4, ?5, ?5) RETURNING id",
            )?
            .query_row(params![kind.as_str(), reason, ctx.run_id, ctx.trigger.as_str(), ctx.at], |r| r.get(0))?,
    };
    conn.prepare_cached(
        "INSERT INTO held_changes (approval_id, member_key, kind, status, signal, created_at)
         VALUES (?1, ?2, ?3, 'pending', ?4, ?5)",
    )?
    .execute(params![approval, ctx.key, kind.as_str(), to_json(signal), ctx.at])?;
    tracing::warn!(member = ctx.key, kind = kind.as_str(), approval, reason, "change held for approval");
    Ok(())
}

// ---- the commit path --------------------------------------------------------

/// What became of a disable the source asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DisableFate {
    Apply,
    /// Held now, or still held from an earlier refresh with the same answer.
    Held,
}

/// Decides a disable by its source: the same answer as an open hold stays
/// held (pending or rejected alike); another answer drops that hold and is
/// judged against the window.
pub(crate) fn screen_disable(
    conn: &Connection,
    cache: &mut Cache,
    ctx: &HoldCtx<'_>,
    open: &[OpenHold],
    signal: HoldSignal,
) -> Result<DisableFate> {
    if let Some(h) = open.iter().find(|h| h.kind == HoldKind::Disable) {
        if h.signal == signal {
            return Ok(DisableFate::Held);
        }
        drop_hold(conn, h, "the source's answer changed", ctx.at)?;
    }
    let u = usage(conn, cache, ctx.limits, ctx.at, true, false)?;
    match ctx.limits.check_disable(&u) {
        Verdict::Apply => {
            ledger_add(conn, DISABLE, ChangeOrigin::Source, Some(ctx.key), 1, ctx.at, ctx.limits)?;
            Ok(DisableFate::Apply)
        }
        Verdict::Hold(reason) => {
            hold(conn, ctx, HoldKind::Disable, &signal, &reason)?;
            Ok(DisableFate::Held)
        }
    }
}

/// A fetched member's plan through the thresholds. Returns the plan to
/// write, how many of its changes are held, and the memberships held back
/// (to keep in the stored AMS list, so the member document and a rule
/// re-apply still see them).
pub(crate) fn screen_fetched(
    conn: &Connection,
    cache: &mut Cache,
    ctx: &HoldCtx<'_>,
    old: Option<&MemberRecord>,
    plan: RefreshPlan,
) -> Result<(RefreshPlan, u64, Vec<Membership>)> {
    let Some(old) = old else { return Ok((plan, 0, Vec::new())) };
    let open = open_holds(conn, ctx.key)?;
    let mut new = plan.new.clone();
    let mut adjusted = false;
    let mut held = 0;
    if plan.kind == ChangeKind::Disabled {
        if screen_disable(conn, cache, ctx, &open, HoldSignal::AmsStatus)? == DisableFate::Held {
            // The rest of the refresh applies; the member stays as it was.
            new.status = old.status;
            new.disabled_reason = old.disabled_reason;
            new.merged_into = old.merged_into.clone();
            adjusted = true;
            held += 1;
        }
    } else {
        if let Some(h) = open.iter().find(|h| h.kind == HoldKind::Disable) {
            drop_hold(conn, h, "the source answers the member again", ctx.at)?;
        }
        if plan.kind == ChangeKind::Enabled {
            ledger_add(conn, ENABLE, ChangeOrigin::Source, Some(ctx.key), 1, ctx.at, ctx.limits)?;
        }
    }
    let kept: HashSet<_> = new.memberships.iter().map(Membership::id).collect();
    let removed: Vec<Membership> = old.memberships.iter().filter(|m| !kept.contains(&m.id())).cloned().collect();
    let open_removal = open.iter().find(|h| h.kind == HoldKind::MembershipRemoval);
    let mut keep_back = Vec::new();
    if removed.is_empty() {
        if let Some(h) = open_removal {
            drop_hold(conn, h, "the source lists those memberships again", ctx.at)?;
        }
    } else {
        let same = open_removal.filter(|h| match &h.signal {
            HoldSignal::Removed { memberships } => same_ids(memberships, &removed),
            _ => false,
        });
        let hold_them = match (same, open_removal) {
            (Some(_), _) => true,
            (None, other) => {
                if let Some(h) = other {
                    drop_hold(conn, h, "the source's answer changed", ctx.at)?;
                }
                let u = usage(conn, cache, ctx.limits, ctx.at, false, true)?;
                match ctx.limits.check_removals(&u, removed.len() as u64) {
                    Verdict::Apply => {
                        let n = removed.len() as u64;
                        ledger_add(conn, REMOVAL, ChangeOrigin::Source, Some(ctx.key), n, ctx.at, ctx.limits)?;
                        false
                    }
                    Verdict::Hold(reason) => {
                        let signal = HoldSignal::Removed { memberships: removed.clone() };
                        hold(conn, ctx, HoldKind::MembershipRemoval, &signal, &reason)?;
                        true
                    }
                }
            }
        };
        if hold_them {
            new.memberships.extend(removed.iter().cloned());
            sort_memberships(&mut new.memberships);
            keep_back = removed;
            adjusted = true;
            held += 1;
        }
    }
    if !adjusted {
        return Ok((plan, held, keep_back));
    }
    Ok((replan(Some(old), new, plan.group_errors), held, keep_back))
}

/// An unchanged refresh: the AMS answers the member, so a held 404/410 of
/// it no longer stands. Returns how many of its changes stay held (the same
/// answer as when they were held).
pub(crate) fn note_found(conn: &Connection, key: &str, at: i64) -> Result<u64> {
    let mut still = 0;
    for h in open_holds(conn, key)? {
        if matches!(h.signal, HoldSignal::Gone { .. }) {
            drop_hold(conn, &h, "the source answers the member again", at)?;
        } else {
            still += 1;
        }
    }
    Ok(still)
}

fn sort_memberships(list: &mut [Membership]) {
    list.sort_by(|a, b| a.id().cmp(&b.id()));
}

fn same_ids(a: &[Membership], b: &[Membership]) -> bool {
    let ids = |l: &[Membership]| l.iter().map(|m| (m.community.key.to_string(), m.begin)).collect::<HashSet<_>>();
    ids(a) == ids(b)
}

/// A rule change re-applied (an admin's, made or approved): its removals
/// are recorded in the window, not counted against its limits.
pub(crate) fn note_rule_removals(conn: &Connection, limits: &Thresholds, removed: u64, at: i64) -> Result<()> {
    ledger_add(conn, REMOVAL, ChangeOrigin::Admin, None, removed, at, limits)
}
