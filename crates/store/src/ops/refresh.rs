//! Committing one Member Refresh (product.md job 3), written once for every
//! backend: fence → tombstone → screen → apply → history, change feed and
//! revocation → bookkeeping → the queue entry's fate → run counts.
//!
//! The decisions come from `amsync_core::diff` (the plan) and the safety
//! nets (`safety.rs`, which may hold a disable or removals while the rest
//! applies); this op writes as little as it can: an unchanged refresh
//! (equal hashes of all three parts, and no AMS-side disable to undo)
//! writes only the refresh bookkeeping and settles its queue entry; a
//! changed one rewrites the member row and only the child rows whose
//! content differs, and stores only the payloads of the parts whose hash
//! changed. A key an admin erased (a tombstone) gets nothing written.

use std::collections::HashSet;

use amsync_core::community::Membership;
use amsync_core::diff::{plan_fetched, plan_gone, ChangeKind, FetchedMember, RefreshPlan};
use amsync_core::record::{DisabledReason, MemberRecord};
use amsync_core::safety::Thresholds;
use amsync_core::{MemberKey, Trigger};
use chrono::{DateTime, Utc};

use super::queue::{self, enqueue_one};
use super::runs::count_refresh;
use super::safety::{self, DisableFate, Screen};
use crate::backend::{MemberRowText, Running, Tx, WriteOp};
use crate::error::Result;
use crate::safety_api::HoldSignal;
use crate::types::*;

/// [`crate::MemberStore::commit_refresh`]: one refresh, with what was
/// computed from it before it reached the backend.
pub(crate) struct CommitRefresh {
    pub commit: RefreshCommit,
    /// The encoded row of a fetched member ([`CommitRefresh::new`]).
    pub text: Option<MemberRowText>,
    /// The thresholds the commit is screened against.
    pub limits: Thresholds,
}

impl CommitRefresh {
    /// Encodes what it can before the write (JSON of the row's lists, the
    /// search text): a backend's writer is the one thread every commit
    /// waits for.
    pub fn new(commit: RefreshCommit, limits: Thresholds) -> CommitRefresh {
        let text = match &commit.outcome {
            RefreshOutcome::Fetched { member, .. } => Some(MemberRowText::of(&member.details, &member.memberships)),
            _ => None,
        };
        CommitRefresh { commit, text, limits }
    }
}

impl WriteOp for CommitRefresh {
    type Output = CommitOutcome;

    // Takes the commit by reference: a write may run twice.
    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<CommitOutcome> {
        commit(tx, &self.commit, self.text.as_ref(), &self.limits).await
    }
}

fn unchanged() -> CommitOutcome {
    CommitOutcome::Applied { kind: ChangeKind::Changed, fields: 0, group_errors: Vec::new() }
}

async fn commit<T: Tx>(
    tx: &mut T,
    c: &RefreshCommit,
    text: Option<&MemberRowText>,
    limits: &Thresholds,
) -> Result<CommitOutcome> {
    let entry = match c.claim {
        Some(token) => match tx.running_entry(token).await? {
            Some(e) => Some(e),
            None => return Ok(CommitOutcome::Fenced),
        },
        None => None,
    };
    let (at, key) = (c.at, c.key.as_str());
    if tx.is_tombstoned(key).await? {
        // An erased key: nothing about it is written, not even a failure;
        // the entry settles so it is not retried.
        count_refresh(tx, c.run_id, &RunCounts { refreshed: 1, unchanged: 1, ..Default::default() }).await?;
        if let Some(e) = &entry {
            queue::settle(tx, e, at).await?;
        }
        return Ok(CommitOutcome::Tombstoned);
    }
    let screen = Screen { limits, key, trigger: c.trigger, run_id: c.run_id, at };
    let mut held = 0;
    match &c.outcome {
        RefreshOutcome::Fetched { member, hashes, raw } => {
            let fallback;
            let text = match text {
                Some(t) => t,
                None => {
                    fallback = MemberRowText::of(&member.details, &member.memberships);
                    &fallback
                }
            };
            let fetch = Fetch { member, hashes: *hashes, raw, text };
            let out = apply_fetched(tx, &screen, fetch, &mut held).await?;
            finish_success(tx, c.run_id, entry.as_ref(), &out, held, at).await?;
            Ok(out)
        }
        RefreshOutcome::Gone { status, merged_into } => {
            let out = apply_gone(tx, &screen, *status, merged_into.as_ref(), &mut held).await?;
            if let Some(target) = merged_into {
                // Enqueued before the entry settles, so the run waits for it too.
                enqueue_one(tx, target.as_str(), Trigger::Merge, c.run_id, at, at).await?;
            }
            finish_success(tx, c.run_id, entry.as_ref(), &out, held, at).await?;
            Ok(out)
        }
        RefreshOutcome::Failed { failure, disposition } => {
            tx.note_failure(key, failure, at).await?;
            let mut counts = RunCounts::default();
            if !matches!(disposition, Disposition::Release { .. }) {
                counts.failed = 1;
            }
            if matches!(disposition, Disposition::Dead) && entry.is_some() {
                counts.dead = 1;
            }
            count_refresh(tx, c.run_id, &counts).await?;
            if let Some(e) = &entry {
                match disposition {
                    Disposition::Retry { due } => queue::retry(tx, e, *due, failure, at).await?,
                    Disposition::Dead => queue::bury(tx, e, failure, at).await?,
                    Disposition::Release { due } => queue::give_back(tx, e, *due, Some(failure), at).await?,
                }
            }
            Ok(CommitOutcome::FailureRecorded)
        }
    }
}

/// Counts the outcome on its run, then settles the queue entry (which may
/// end the run, so the counters must be in first). `held` changes of the
/// refresh wait for an approval; a refresh that changed nothing else counts
/// as held, not unchanged.
async fn finish_success<T: Tx>(
    tx: &mut T,
    run_id: Option<RunId>,
    entry: Option<&Running>,
    out: &CommitOutcome,
    held: u64,
    at: DateTime<Utc>,
) -> Result<()> {
    let mut counts = RunCounts { refreshed: 1, held, ..Default::default() };
    if let CommitOutcome::Applied { kind, fields, .. } = out {
        match kind {
            ChangeKind::Created => counts.created = 1,
            ChangeKind::Disabled => counts.disabled = 1,
            ChangeKind::Changed if *fields == 0 && held > 0 => {}
            ChangeKind::Changed if *fields == 0 => counts.unchanged = 1,
            ChangeKind::Changed | ChangeKind::Enabled | ChangeKind::Erased => counts.changed = 1,
        }
    }
    count_refresh(tx, run_id, &counts).await?;
    if let Some(e) = entry {
        queue::settle(tx, e, at).await?;
    }
    Ok(())
}

/// Which parts' content hashes differ from the stored ones.
struct Changed {
    details: bool,
    memberships: bool,
    groups: bool,
}

/// A fetched member and what was computed from it before the write.
struct Fetch<'a> {
    member: &'a FetchedMember,
    hashes: PartHashes,
    raw: &'a RawParts,
    text: &'a MemberRowText,
}

async fn apply_fetched<T: Tx>(tx: &mut T, s: &Screen<'_>, fetch: Fetch<'_>, held: &mut u64) -> Result<CommitOutcome> {
    let Screen { key, trigger, run_id, at, .. } = *s;
    let Fetch { member, hashes, raw, text } = fetch;
    let stored = tx.fingerprint(key).await?;
    let parts = match &stored {
        Some(fp) => {
            // A disable for a reason the AMS no longer gives (a 404, a merge)
            // is undone by an answer, even an unchanged one.
            let undo_disable =
                !matches!(fp.disabled_reason, None | Some(DisabledReason::AmsStatus) | Some(DisabledReason::Admin));
            if fp.hashes == hashes && !undo_disable {
                *held += safety::note_found(tx, key, at).await?;
                tx.note_refreshed(key, at, trigger).await?;
                return Ok(unchanged());
            }
            Changed {
                details: fp.hashes.details != hashes.details,
                memberships: fp.hashes.memberships != hashes.memberships,
                groups: fp.hashes.groups != hashes.groups,
            }
        }
        None => Changed { details: true, memberships: true, groups: true },
    };
    let old = match stored {
        Some(_) => tx.load_record(key).await?,
        None => None,
    };
    if parts.memberships {
        upsert_communities(tx, &member.memberships, at).await?;
    }
    let plan = {
        let inputs = tx.plan_inputs().await?;
        // The core plans from an owned member; the commit stays intact in
        // case its write runs again.
        plan_fetched(old.as_ref(), member.clone(), inputs.rules, inputs.local_groups_folded)
    };
    let (plan, n, kept_back) = safety::screen_fetched(tx, s, old.as_ref(), plan).await?;
    *held += n;
    let with_kept;
    let text = if kept_back.is_empty() {
        text
    } else {
        // Held removals stay in the stored AMS list too, so the member
        // document and a rule re-apply still see them.
        let mut all = member.memberships.clone();
        all.extend(kept_back);
        all.sort_by(|a, b| a.id().cmp(&b.id()));
        with_kept = MemberRowText::of(&member.details, &all);
        &with_kept
    };
    write_plan(tx, key, old.as_ref(), &plan, &hashes, text, at).await?;
    let pick = |changed: bool, p| if changed { Some(p) } else { None };
    let payloads =
        [pick(parts.details, &raw.details), pick(parts.memberships, &raw.communities), pick(parts.groups, &raw.groups)];
    if payloads.iter().any(Option::is_some) {
        tx.upsert_payloads(key, payloads, at).await?;
    }
    record_change(tx, key, trigger, run_id, at, &plan).await?;
    tx.note_refreshed(key, at, trigger).await?;
    Ok(CommitOutcome::Applied { kind: plan.kind, fields: plan.changes.len(), group_errors: plan.group_errors })
}

/// Writes the member row and the child rows whose content differs.
/// (`plan.new.details` is the fetched details, so `text` describes it.)
async fn write_plan<T: Tx>(
    tx: &mut T,
    key: &str,
    old: Option<&MemberRecord>,
    plan: &RefreshPlan,
    hashes: &PartHashes,
    text: &MemberRowText,
    at: DateTime<Utc>,
) -> Result<()> {
    let new = &plan.new;
    tx.upsert_member_row(new, hashes, text, at).await?;
    let clear = old.is_some();
    if old.map(|o| &o.memberships) != Some(&new.memberships) {
        tx.replace_memberships(key, &new.memberships, clear).await?;
    }
    if old.map(|o| &o.ams_groups) != Some(&new.ams_groups) {
        tx.replace_ams_groups(key, &new.ams_groups, clear).await?;
        register_groups(tx, new, at).await?;
    }
    Ok(())
}

/// History and change feed, when the plan changes anything; a member the
/// plan leaves disabled loses every session and mobile token in the same
/// transaction.
pub(crate) async fn record_change<T: Tx>(
    tx: &mut T,
    key: &str,
    trigger: Trigger,
    run_id: Option<RunId>,
    at: DateTime<Utc>,
    plan: &RefreshPlan,
) -> Result<()> {
    if plan.kind != ChangeKind::Created && plan.changes.is_empty() {
        return Ok(());
    }
    tx.insert_history(key, at, trigger, plan.kind, run_id, &plan.changes).await?;
    tx.append_to_feed(key, plan.kind, at).await?;
    if !plan.new.is_active() {
        let revoked = tx.revoke_member_auth(key).await?;
        if revoked.sessions + revoked.tokens > 0 {
            tracing::info!(
                member = key,
                sessions = revoked.sessions,
                tokens = revoked.tokens,
                "sign-ins of a disabled member revoked"
            );
        }
    }
    Ok(())
}

/// Registers the AMS groups no refresh has registered yet.
async fn register_groups<T: Tx>(tx: &mut T, rec: &MemberRecord, at: DateTime<Utc>) -> Result<()> {
    for g in &rec.ams_groups {
        if tx.register_ams_group(g, at).await? {
            tracing::info!(group = g.key.as_str(), "registered a new AMS security group");
        }
    }
    Ok(())
}

/// Writes every community the AMS listed (excluded ones too) that is new or
/// whose attributes changed; a written one changes what access policies are
/// built from (a new community, or new types the rules match on).
async fn upsert_communities<T: Tx>(tx: &mut T, list: &[Membership], at: DateTime<Utc>) -> Result<()> {
    let mut seen = HashSet::new();
    for m in list {
        let c = &m.community;
        if !seen.insert(c.key.as_str()) {
            continue;
        }
        if tx.upsert_community(c, at).await? {
            tx.bump_access_version().await?;
        }
    }
    Ok(())
}

async fn apply_gone<T: Tx>(
    tx: &mut T,
    s: &Screen<'_>,
    status: u16,
    merged_into: Option<&MemberKey>,
    held: &mut u64,
) -> Result<CommitOutcome> {
    let Screen { key, trigger, run_id, at, .. } = *s;
    let old = tx.load_record(key).await?;
    let Some(plan) = plan_gone(old.as_ref(), merged_into.cloned()) else {
        return Ok(CommitOutcome::UnknownGone);
    };
    if plan.kind == ChangeKind::Disabled {
        let open = tx.open_holds(key).await?;
        let signal = HoldSignal::Gone { status, merged_into: merged_into.cloned() };
        if safety::screen_disable(tx, s, &open, signal).await? == DisableFate::Held {
            *held += 1;
            tx.note_refreshed(key, at, trigger).await?;
            return Ok(unchanged());
        }
    }
    if !plan.changes.is_empty() {
        tx.update_member_state(&plan.new, at).await?;
        record_change(tx, key, trigger, run_id, at, &plan).await?;
    }
    tx.note_refreshed(key, at, trigger).await?;
    Ok(CommitOutcome::Applied { kind: plan.kind, fields: plan.changes.len(), group_errors: Vec::new() })
}
