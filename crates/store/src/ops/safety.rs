//! The safety nets inside each refresh commit (see [`crate::safety_api`]):
//! the threshold ledger, and screening a plan, which holds a change past
//! the thresholds while the rest of the refresh applies.
//!
//! Everything that decides runs inside the commit it screens, so the count
//! of a window is exact however many refreshes commit at once. The hot
//! path pays one look at the member's open holds per changed or gone
//! member, and per unchanged member one more; the window is counted only
//! when a refresh would disable a member or remove memberships. The
//! limits are `amsync_core::safety`.

use std::collections::HashSet;

use amsync_core::community::Membership;
use amsync_core::diff::{replan, ChangeKind, RefreshPlan};
use amsync_core::record::MemberRecord;
use amsync_core::safety::{Thresholds, Verdict, WindowUsage};
use amsync_core::Trigger;
use chrono::{DateTime, Utc};

use crate::backend::{ChangeOrigin, LedgerKind, OpenHold, Tx, WriteOp};
use crate::error::Result;
use crate::safety_api::{HoldKind, HoldSignal};
use crate::types::RunId;

/// Ledger rows are kept this long at least (and twice the window).
const LEDGER_KEEP: chrono::Duration = chrono::Duration::days(2);

/// Where a screened change comes from.
pub(crate) struct Screen<'a> {
    pub limits: &'a Thresholds,
    pub key: &'a str,
    pub trigger: Trigger,
    pub run_id: Option<RunId>,
    pub at: DateTime<Utc>,
}

fn window(limits: &Thresholds) -> chrono::Duration {
    chrono::Duration::from_std(limits.window).unwrap_or(chrono::Duration::MAX / 4)
}

// ---- the ledger -----------------------------------------------------------

/// Records what the window counts, and prunes rows no window needs.
pub(crate) async fn ledger_add<T: Tx>(
    tx: &mut T,
    kind: LedgerKind,
    origin: ChangeOrigin,
    member: Option<&str>,
    n: u64,
    at: DateTime<Utc>,
    limits: &Thresholds,
) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    tx.ledger_insert(kind, origin, member, n, at).await?;
    let keep = window(limits).checked_mul(2).unwrap_or(chrono::Duration::MAX).max(LEDGER_KEEP);
    tx.ledger_prune(kind, at.checked_sub_signed(keep).unwrap_or(DateTime::<Utc>::MIN_UTC)).await
}

/// What the window holds at `at`. The baselines are computed only when
/// asked for (`active`, `memberships`).
pub(crate) async fn usage<T: Tx>(
    tx: &mut T,
    limits: &Thresholds,
    at: DateTime<Utc>,
    active: bool,
    memberships: bool,
) -> Result<WindowUsage> {
    let since = at.checked_sub_signed(window(limits)).unwrap_or(DateTime::<Utc>::MIN_UTC);
    let disables = tx.ledger_sums(LedgerKind::Disable, since).await?;
    let removals = tx.ledger_sums(LedgerKind::MembershipRemoval, since).await?;
    let mut u = WindowUsage {
        disables: disables.source,
        admin_disables: disables.admin,
        membership_removals: removals.source,
        admin_membership_removals: removals.admin,
        ..WindowUsage::default()
    };
    if active {
        u.active_at_start = tx.baseline_active(at, limits.window).await?;
    }
    if memberships {
        u.memberships_at_start = tx.baseline_memberships(at, limits.window).await?;
    }
    Ok(u)
}

/// A rule change re-applied (an admin's, made or approved): its removals
/// are recorded in the window, not counted against its limits.
pub(crate) async fn note_rule_removals<T: Tx>(
    tx: &mut T,
    limits: &Thresholds,
    removed: u64,
    at: DateTime<Utc>,
) -> Result<()> {
    ledger_add(tx, LedgerKind::MembershipRemoval, ChangeOrigin::Admin, None, removed, at, limits).await
}

// ---- held changes -----------------------------------------------------------

/// Closes a held change of `key` whose member moved on; a pending approval
/// left with nothing pending is dropped too.
pub(crate) async fn drop_hold<T: Tx>(tx: &mut T, key: &str, h: &OpenHold, note: &str, at: DateTime<Utc>) -> Result<()> {
    tx.set_hold_dropped(h.id, note, at).await?;
    let why = "every held change was dropped: the source answered otherwise meanwhile";
    tx.drop_approval_if_nothing_pending(h.approval_id, why, at).await?;
    tracing::info!(member = key, kind = h.kind.as_str(), note, "a held change was dropped");
    Ok(())
}

/// Holds a change in the pending approval of its run and kind.
async fn hold<T: Tx>(tx: &mut T, s: &Screen<'_>, kind: HoldKind, signal: &HoldSignal, reason: &str) -> Result<()> {
    let approval = tx.approval_for_hold(kind, s.run_id, s.trigger, reason, s.at).await?;
    tx.insert_held_change(approval, s.key, kind, signal, s.at).await?;
    tracing::warn!(member = s.key, kind = kind.as_str(), approval, reason, "change held for approval");
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
pub(crate) async fn screen_disable<T: Tx>(
    tx: &mut T,
    s: &Screen<'_>,
    open: &[OpenHold],
    signal: HoldSignal,
) -> Result<DisableFate> {
    if let Some(h) = open.iter().find(|h| h.kind == HoldKind::Disable) {
        if h.signal == signal {
            return Ok(DisableFate::Held);
        }
        drop_hold(tx, s.key, h, "the source's answer changed", s.at).await?;
    }
    let u = usage(tx, s.limits, s.at, true, false).await?;
    match s.limits.check_disable(&u) {
        Verdict::Apply => {
            ledger_add(tx, LedgerKind::Disable, ChangeOrigin::Source, Some(s.key), 1, s.at, s.limits).await?;
            Ok(DisableFate::Apply)
        }
        Verdict::Hold(reason) => {
            hold(tx, s, HoldKind::Disable, &signal, &reason).await?;
            Ok(DisableFate::Held)
        }
    }
}

/// A fetched member's plan through the thresholds. Returns the plan to
/// write, how many of its changes are held, and the memberships held back
/// (to keep in the stored AMS list, so the member document and a rule
/// re-apply still see them).
pub(crate) async fn screen_fetched<T: Tx>(
    tx: &mut T,
    s: &Screen<'_>,
    old: Option<&MemberRecord>,
    plan: RefreshPlan,
) -> Result<(RefreshPlan, u64, Vec<Membership>)> {
    let Some(old) = old else { return Ok((plan, 0, Vec::new())) };
    let open = tx.open_holds(s.key).await?;
    let mut new = plan.new.clone();
    let mut adjusted = false;
    let mut held = 0;
    if plan.kind == ChangeKind::Disabled {
        if screen_disable(tx, s, &open, HoldSignal::AmsStatus).await? == DisableFate::Held {
            // The rest of the refresh applies; the member stays as it was.
            new.status = old.status;
            new.disabled_reason = old.disabled_reason;
            new.merged_into = old.merged_into.clone();
            adjusted = true;
            held += 1;
        }
    } else {
        if let Some(h) = open.iter().find(|h| h.kind == HoldKind::Disable) {
            drop_hold(tx, s.key, h, "the source answers the member again", s.at).await?;
        }
        if plan.kind == ChangeKind::Enabled {
            ledger_add(tx, LedgerKind::Enable, ChangeOrigin::Source, Some(s.key), 1, s.at, s.limits).await?;
        }
    }
    let kept: HashSet<_> = new.memberships.iter().map(Membership::id).collect();
    let removed: Vec<Membership> = old.memberships.iter().filter(|m| !kept.contains(&m.id())).cloned().collect();
    let open_removal = open.iter().find(|h| h.kind == HoldKind::MembershipRemoval);
    let mut keep_back = Vec::new();
    if removed.is_empty() {
        if let Some(h) = open_removal {
            drop_hold(tx, s.key, h, "the source lists those memberships again", s.at).await?;
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
                    drop_hold(tx, s.key, h, "the source's answer changed", s.at).await?;
                }
                let u = usage(tx, s.limits, s.at, false, true).await?;
                match s.limits.check_removals(&u, removed.len() as u64) {
                    Verdict::Apply => {
                        let n = removed.len() as u64;
                        let (kind, origin) = (LedgerKind::MembershipRemoval, ChangeOrigin::Source);
                        ledger_add(tx, kind, origin, Some(s.key), n, s.at, s.limits).await?;
                        false
                    }
                    Verdict::Hold(reason) => {
                        let signal = HoldSignal::Removed { memberships: removed.clone() };
                        hold(tx, s, HoldKind::MembershipRemoval, &signal, &reason).await?;
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
pub(crate) async fn note_found<T: Tx>(tx: &mut T, key: &str, at: DateTime<Utc>) -> Result<u64> {
    let mut still = 0;
    for h in tx.open_holds(key).await? {
        if matches!(h.signal, HoldSignal::Gone { .. }) {
            drop_hold(tx, key, &h, "the source answers the member again", at).await?;
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

/// How much of the window is used at `at`, with both baselines: for
/// [`crate::SafetyStore::threshold_status`], counted where commits count
/// (on a backend's writer), so the figures shown are those decisions use.
pub(crate) struct WindowUsageAt {
    pub limits: Thresholds,
    pub at: DateTime<Utc>,
}

impl WriteOp for WindowUsageAt {
    type Output = WindowUsage;

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<WindowUsage> {
        usage(tx, &self.limits, self.at, true, true).await
    }
}
