//! Committing one Member Refresh (product.md job 3), on the writer, inside
//! the operation's savepoint.
//!
//! The decisions come from `amsync_core::diff`; this module only persists
//! them, and writes as little as it can: an unchanged refresh (equal hashes
//! of all three parts, and no AMS-side disable to undo) writes only the
//! `member_refresh` bookkeeping row and settles its queue entry; a changed
//! one rewrites the member row and only the child tables whose content
//! differs, and stores only the payloads of the parts whose hash changed.
//!
//! Before a plan is written, the safety nets screen it (`safety.rs`): a
//! disable or membership removals past the thresholds are held for an
//! admin's approval, and the rest of the refresh applies. A key an admin
//! erased (a tombstone) gets nothing written at all.

use std::collections::HashSet;

use amsync_core::community::Membership;
use amsync_core::diff::{plan_fetched, plan_gone, ChangeKind, FetchedMember, RefreshPlan};
use amsync_core::record::{DisabledReason, MemberRecord};
use amsync_core::safety::Thresholds;
use amsync_core::{MemberKey, Trigger};
use rusqlite::{params, Connection};

use super::access::bump_access_version;
use super::cache::Cache;
use super::codec::{ms, to_json};
use super::member_io as io;
use super::queue::{self, Running};
use super::runs::add_counts;
use super::safety::{self, DisableFate, HoldCtx};
use super::writer::WriterCtx;
use crate::error::Result;
use crate::safety_api::HoldSignal;
use crate::types::*;

/// What the caller computes before a commit reaches the writer.
pub(crate) struct Prepared {
    /// The text columns of a fetched member's row.
    pub text: Option<io::RowText>,
    /// The thresholds the commit is screened against.
    pub limits: Thresholds,
}

impl Prepared {
    pub fn of(c: &RefreshCommit, limits: Thresholds) -> Prepared {
        let text = match &c.outcome {
            RefreshOutcome::Fetched { member, .. } => Some(io::RowText::of(&member.details, &member.memberships)),
            _ => None,
        };
        Prepared { text, limits }
    }
}

/// Applies a refresh; see [`crate::api::MemberStore::commit_refresh`].
/// `prepared` must come from [`Prepared::of`] on the same commit. Takes the
/// commit by reference: a writer operation may run twice.
pub(crate) fn commit(ctx: &mut WriterCtx, c: &RefreshCommit, prepared: &Prepared) -> Result<CommitOutcome> {
    let WriterCtx { conn, cache, .. } = ctx;
    let entry = match c.claim {
        Some(token) => match queue::running_entry(conn, token)? {
            Some(e) => Some(e),
            None => return Ok(CommitOutcome::Fenced),
        },
        None => None,
    };
    let at = ms(c.at);
    let key = c.key.as_str();
    if super::erase::is_tombstoned(conn, key)? {
        // An erased key: nothing about it is written, not even a failure;
        // the entry settles so it is not retried.
        add_run_counts(conn, c.run_id, &RunCounts { refreshed: 1, unchanged: 1, ..Default::default() })?;
        if let Some(e) = &entry {
            queue::settle(conn, e, at)?;
        }
        return Ok(CommitOutcome::Tombstoned);
    }
    let hold = HoldCtx { limits: &prepared.limits, key, trigger: c.trigger, run_id: c.run_id, at };
    let mut held = 0;
    match &c.outcome {
        RefreshOutcome::Fetched { member, hashes, raw } => {
            let fallback;
            let text = match &prepared.text {
                Some(t) => t,
                None => {
                    fallback = io::RowText::of(&member.details, &member.memberships);
                    &fallback
                }
            };
            let fetch = Fetch { member, hashes: *hashes, raw, text };
            let out = apply_fetched(conn, cache, &hold, fetch, &mut held)?;
            finish_success(conn, &c.run_id, entry.as_ref(), &out, held, at)?;
            Ok(out)
        }
        RefreshOutcome::Gone { status, merged_into } => {
            let out = apply_gone(conn, cache, &hold, *status, merged_into.as_ref(), &mut held)?;
            if let Some(target) = merged_into {
                // Enqueued before the entry settles, so the run waits for it too.
                queue::enqueue_one(conn, target.as_str(), Trigger::Merge, c.run_id, at, at)?;
            }
            finish_success(conn, &c.run_id, entry.as_ref(), &out, held, at)?;
            Ok(out)
        }
        RefreshOutcome::Failed { failure, disposition } => {
            let failure_json = to_json(failure);
            io::note_failure(conn, key, &failure_json, at)?;
            let mut counts = RunCounts::default();
            if !matches!(disposition, Disposition::Release { .. }) {
                counts.failed = 1;
            }
            if matches!(disposition, Disposition::Dead) && entry.is_some() {
                counts.dead = 1;
            }
            add_run_counts(conn, c.run_id, &counts)?;
            if let Some(e) = &entry {
                match disposition {
                    Disposition::Retry { due } => queue::retry(conn, e, ms(*due), &failure_json, at)?,
                    Disposition::Dead => queue::bury(conn, e, &failure_json, at)?,
                    Disposition::Release { due } => queue::give_back(conn, e, ms(*due), Some(&failure_json), at)?,
                }
            }
            Ok(CommitOutcome::FailureRecorded)
        }
    }
}

fn add_run_counts(conn: &Connection, run_id: Option<i64>, counts: &RunCounts) -> Result<()> {
    if let Some(run) = run_id {
        if !add_counts(conn, run, counts)? {
            tracing::warn!(run, "a refresh named a run that does not exist; its counters were not kept");
        }
    }
    Ok(())
}

/// Counts the outcome on its run, then settles the queue entry (which may
/// finish the run, so the counters must be in first). `held` changes of the
/// refresh wait for an approval; a refresh that changed nothing else counts
/// as held, not unchanged.
fn finish_success(
    conn: &Connection,
    run_id: &Option<i64>,
    entry: Option<&Running>,
    out: &CommitOutcome,
    held: u64,
    at: i64,
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
    add_run_counts(conn, *run_id, &counts)?;
    if let Some(e) = entry {
        queue::settle(conn, e, at)?;
    }
    Ok(())
}

/// Which parts' content hashes differ from the stored ones.
struct Changed {
    details: bool,
    memberships: bool,
    groups: bool,
}

/// A fetched member and what was computed from it before the writer.
struct Fetch<'a> {
    member: &'a FetchedMember,
    hashes: PartHashes,
    raw: &'a RawParts,
    text: &'a io::RowText,
}

fn apply_fetched(
    conn: &Connection,
    cache: &mut Cache,
    hold: &HoldCtx<'_>,
    fetch: Fetch<'_>,
    held: &mut u64,
) -> Result<CommitOutcome> {
    let HoldCtx { key, trigger, run_id, at, .. } = *hold;
    let Fetch { member, hashes, raw, text } = fetch;
    let stored = io::fingerprint(conn, key)?;
    let parts = match &stored {
        Some(fp) => {
            let undo_disable =
                !matches!(fp.disabled_reason, None | Some(DisabledReason::AmsStatus) | Some(DisabledReason::Admin));
            if fp.hashes == hashes && !undo_disable {
                *held += safety::note_found(conn, key, at)?;
                io::note_refreshed(conn, key, at, trigger)?;
                return Ok(CommitOutcome::Applied { kind: ChangeKind::Changed, fields: 0, group_errors: Vec::new() });
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
        Some(_) => io::load_record(conn, key)?.map(|l| l.record),
        None => None,
    };
    if parts.memberships {
        upsert_communities(conn, cache, &member.memberships, at)?;
    }
    let plan = {
        let loaded = cache.loaded(conn)?;
        // The core plans from an owned member; the commit stays intact in
        // case its group runs again.
        plan_fetched(old.as_ref(), member.clone(), loaded.rules, loaded.local_folded)
    };
    let (plan, n, kept_back) = safety::screen_fetched(conn, cache, hold, old.as_ref(), plan)?;
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
        with_kept = io::RowText::of(&member.details, &all);
        &with_kept
    };
    write_plan(conn, cache, key, old.as_ref(), &plan, &hashes, text, at)?;
    let pick = |changed: bool, p| if changed { Some(p) } else { None };
    let payloads =
        [pick(parts.details, &raw.details), pick(parts.memberships, &raw.communities), pick(parts.groups, &raw.groups)];
    if payloads.iter().any(Option::is_some) {
        io::upsert_payloads(conn, key, payloads, at)?;
    }
    record_change(conn, key, trigger, run_id, at, &plan)?;
    io::note_refreshed(conn, key, at, trigger)?;
    Ok(CommitOutcome::Applied { kind: plan.kind, fields: plan.changes.len(), group_errors: plan.group_errors })
}

/// Writes the member row and the child tables whose content differs.
/// (`plan.new.details` is the fetched details, so `text` describes it.)
#[allow(clippy::too_many_arguments)]
fn write_plan(
    conn: &Connection,
    cache: &mut Cache,
    key: &str,
    old: Option<&MemberRecord>,
    plan: &RefreshPlan,
    hashes: &PartHashes,
    text: &io::RowText,
    at: i64,
) -> Result<()> {
    let new = &plan.new;
    io::upsert_member_row(conn, new, hashes, text, at)?;
    let clear = old.is_some();
    if old.map(|o| &o.memberships) != Some(&new.memberships) {
        io::replace_memberships(conn, key, &new.memberships, clear)?;
    }
    if old.map(|o| &o.ams_groups) != Some(&new.ams_groups) {
        io::replace_ams_groups(conn, key, &new.ams_groups, clear)?;
        register_groups(conn, cache, new, at)?;
    }
    Ok(())
}

/// History and change feed, when the plan changes anything.
pub(crate) fn record_change(
    conn: &Connection,
    key: &str,
    trigger: Trigger,
    run_id: Option<i64>,
    at: i64,
    plan: &RefreshPlan,
) -> Result<()> {
    if plan.kind != ChangeKind::Created && plan.changes.is_empty() {
        return Ok(());
    }
    io::insert_history(conn, key, at, trigger, plan.kind, run_id, &to_json(&plan.changes))?;
    io::insert_feed(conn, key, plan.kind, at)?;
    if !plan.new.is_active() {
        // A disabled member keeps no session or mobile token: revoked in
        // the same transaction as the disable.
        let revoked = super::auth::revoke_member(conn, key)?;
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
fn register_groups(conn: &Connection, cache: &mut Cache, rec: &MemberRecord, at: i64) -> Result<()> {
    for g in &rec.ams_groups {
        let folded = g.key.folded();
        if cache.group_known(conn, &folded)? {
            continue;
        }
        conn.prepare_cached(
            "INSERT INTO security_groups (key_folded, key, name, source, first_seen) VALUES (?1, ?2, ?3, 'ams', ?4)
             ON CONFLICT (key_folded) DO UPDATE SET first_seen = COALESCE(first_seen, excluded.first_seen),
                name = COALESCE(name, excluded.name)
             WHERE source = 'ams'",
        )?
        .execute(params![folded, g.key.as_str(), g.name, at])?;
        tracing::info!(group = g.key.as_str(), "registered a new AMS security group");
        cache.note_group(folded);
    }
    Ok(())
}

/// Upserts every community the AMS listed (excluded ones too), writing only
/// those whose attributes differ from what is stored.
fn upsert_communities(conn: &Connection, cache: &mut Cache, list: &[Membership], at: i64) -> Result<()> {
    let mut seen = HashSet::new();
    for m in list {
        let c = &m.community;
        if !seen.insert(c.key.as_str()) {
            continue;
        }
        if cache.community_current(c) {
            continue;
        }
        let written = conn
            .prepare_cached(
                "INSERT INTO communities (key, name, type, group_type, group_subtype, first_seen, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
             ON CONFLICT (key) DO UPDATE SET name = excluded.name, type = excluded.type,
                group_type = excluded.group_type, group_subtype = excluded.group_subtype,
                updated_at = excluded.updated_at
             WHERE name IS NOT excluded.name OR type IS NOT excluded.type OR group_type IS NOT excluded.group_type
                OR group_subtype IS NOT excluded.group_subtype",
            )?
            .execute(params![c.key.as_str(), c.name, c.community_type, c.group_type, c.group_subtype, at])?;
        if written > 0 {
            // A new community, or new types the rules match on.
            bump_access_version(conn)?;
        }
        cache.note_community(c);
    }
    Ok(())
}

fn apply_gone(
    conn: &Connection,
    cache: &mut Cache,
    hold: &HoldCtx<'_>,
    status: u16,
    merged_into: Option<&MemberKey>,
    held: &mut u64,
) -> Result<CommitOutcome> {
    let HoldCtx { key, trigger, run_id, at, .. } = *hold;
    let old = io::load_record(conn, key)?.map(|l| l.record);
    let Some(plan) = plan_gone(old.as_ref(), merged_into.cloned()) else {
        return Ok(CommitOutcome::UnknownGone);
    };
    if plan.kind == ChangeKind::Disabled {
        let open = safety::open_holds(conn, key)?;
        let signal = HoldSignal::Gone { status, merged_into: merged_into.cloned() };
        if safety::screen_disable(conn, cache, hold, &open, signal)? == DisableFate::Held {
            *held += 1;
            io::note_refreshed(conn, key, at, trigger)?;
            return Ok(CommitOutcome::Applied { kind: ChangeKind::Changed, fields: 0, group_errors: Vec::new() });
        }
    }
    if !plan.changes.is_empty() {
        io::update_state(conn, &plan.new, at)?;
        record_change(conn, key, trigger, run_id, at, &plan)?;
    }
    io::note_refreshed(conn, key, at, trigger)?;
    Ok(CommitOutcome::Applied { kind: plan.kind, fields: plan.changes.len(), group_errors: Vec::new() })
}
