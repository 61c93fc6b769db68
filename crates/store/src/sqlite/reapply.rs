//! Re-applying community rules to every member from the stored full
//! membership lists (`members.ams_memberships`), without calling the AMS.
//!
//! The work is split into writer operations of [`BATCH`] members in key
//! order, so refresh commits interleave with it instead of waiting for one
//! long transaction. Only members whose kept memberships change are
//! written; payloads and `ams_memberships` are never touched.
//!
//! seam: phase 2 — the wanted set (`rules.includes` over the stored list)
//! is a rule for core, and the batch an op of `ops/reapply.rs`.

use std::collections::HashSet;

use amsync_core::community::Membership;
use amsync_core::diff::plan_rules;
use amsync_core::member::MemberDetails;
use amsync_core::record::{MemberRecord, MemberStatus};
use amsync_core::rules::RuleSet;
use amsync_core::{MemberKey, Trigger};
use chrono::{DateTime, Utc};
use rusqlite::params;

use super::codec::{self, from_json, ms};
use super::member_io as io;
use super::runs::add_counts;
use super::tx::run_now;
use super::SqliteTx;
use crate::error::Result;
use crate::ops::refresh::record_change;
use crate::types::{ReapplySummary, RunCounts};

/// Members per writer operation.
pub(crate) const BATCH: usize = 1000;

/// One batch: members with a key after `after`. Returns the summary of the
/// batch and the last key it read (`None` when there was none left).
pub(crate) fn batch(
    tx: &mut SqliteTx,
    rules: &RuleSet,
    trigger: Trigger,
    run_id: Option<i64>,
    at: DateTime<Utc>,
    after: &str,
) -> Result<(ReapplySummary, Option<String>)> {
    let rows: Vec<(String, String)> = tx
        .conn
        .prepare_cached("SELECT key, ams_memberships FROM members WHERE key > ?1 ORDER BY key LIMIT ?2")?
        .query_map(params![after, BATCH as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut sum = ReapplySummary::default();
    let last = rows.last().map(|(k, _)| k.clone());
    for (key, json) in rows {
        sum.members += 1;
        let all: Vec<Membership> = from_json("AMS memberships", &json)?;
        let kept = io::load_membership_ids(&tx.conn, &key)?;
        let id = |m: &Membership| (m.community.key.to_string(), m.begin);
        let wanted: HashSet<_> = all.iter().filter(|m| rules.includes(&m.community)).map(id).collect();
        if wanted == kept {
            continue;
        }
        let member_key: MemberKey = codec::key("member", key.clone())?;
        // Only memberships differ between the old and new state, so the
        // rest of the record can stay empty on both sides of the diff.
        let old = MemberRecord {
            details: MemberDetails::empty(member_key),
            status: MemberStatus::Active,
            disabled_reason: None,
            merged_into: None,
            memberships: all.iter().filter(|m| kept.contains(&id(m))).cloned().collect(),
            ams_groups: Vec::new(),
            local_groups: Vec::new(),
        };
        let plan = plan_rules(&old, &all, rules);
        io::replace_memberships(&tx.conn, &key, &plan.new.memberships, true)?;
        tx.conn.prepare_cached("UPDATE members SET updated_at = ?2 WHERE key = ?1")?.execute(params![key, ms(at)])?;
        run_now(record_change(tx, &key, trigger, run_id, at, &plan))?;
        sum.changed += 1;
        sum.memberships_added += wanted.difference(&kept).count() as u64;
        sum.memberships_removed += kept.difference(&wanted).count() as u64;
    }
    if let Some(run) = run_id {
        let counts = RunCounts {
            refreshed: sum.members,
            changed: sum.changed,
            unchanged: sum.members - sum.changed,
            ..Default::default()
        };
        add_counts(&tx.conn, run, &counts)?;
    }
    Ok((sum, last))
}
