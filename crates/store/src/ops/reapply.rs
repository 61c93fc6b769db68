//! Re-applying community rules to every member from the stored full
//! membership lists, without calling the AMS; and its dry run. The rule
//! (which memberships the rules want kept) is
//! `amsync_core::diff::{reapply_delta, plan_reapply}`.
//!
//! The work is split into writes of [`BATCH`] members in key order, so
//! refresh commits interleave with it instead of waiting for one long
//! transaction. Only members whose kept memberships change are written;
//! payloads and the stored AMS lists are never touched.

use amsync_core::diff::{plan_reapply, reapply_delta};
use amsync_core::rules::RuleSet;
use amsync_core::safety::Thresholds;
use amsync_core::Trigger;
use chrono::{DateTime, Utc};

use super::refresh::record_change;
use super::safety::note_rule_removals;
use crate::backend::{Backend, Tx, WriteOp};
use crate::error::Result;
use crate::types::{ReapplySummary, RunCounts, RunId};

/// Members per write.
pub(crate) const BATCH: usize = 1000;

/// One batch: members with a key after `after`. Returns the summary of the
/// batch and the last key it read (`None` when there was none left).
struct ReapplyBatch {
    rules: RuleSet,
    trigger: Trigger,
    run_id: Option<RunId>,
    at: DateTime<Utc>,
    after: String,
    limits: Thresholds,
}

impl WriteOp for ReapplyBatch {
    type Output = (ReapplySummary, Option<String>);

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<(ReapplySummary, Option<String>)> {
        let (trigger, run_id, at) = (self.trigger, self.run_id, self.at);
        let rows = tx.ams_memberships_after(&self.after, BATCH).await?;
        let last = rows.last().map(|(k, _)| k.as_str().to_owned());
        let mut sum = ReapplySummary::default();
        for (key, all) in rows {
            sum.members += 1;
            let k = key.as_str().to_owned();
            let kept = tx.kept_membership_ids(&k).await?;
            let Some((plan, delta)) = plan_reapply(key, &all, &kept, &self.rules) else { continue };
            tx.replace_memberships(&k, &plan.new.memberships, true).await?;
            tx.touch_member(&k, at).await?;
            record_change(tx, &k, trigger, run_id, at, &plan).await?;
            sum.changed += 1;
            sum.memberships_added += delta.added;
            sum.memberships_removed += delta.removed;
        }
        if let Some(run) = run_id {
            let counts = RunCounts {
                refreshed: sum.members,
                changed: sum.changed,
                unchanged: sum.members - sum.changed,
                ..Default::default()
            };
            tx.add_run_counts(run, &counts).await?;
        }
        // A rule change's removals count in the thresholds' window.
        note_rule_removals(tx, &self.limits, sum.memberships_removed, at).await?;
        Ok((sum, last))
    }
}

/// [`crate::MemberStore::reapply_rules`]: every member, one batch per write.
pub(crate) async fn reapply<B: Backend>(
    backend: &B,
    rules: &RuleSet,
    trigger: Trigger,
    run_id: Option<RunId>,
    at: DateTime<Utc>,
    limits: Thresholds,
) -> Result<ReapplySummary> {
    let mut total = ReapplySummary::default();
    let mut after = String::new();
    loop {
        let batch = ReapplyBatch { rules: rules.clone(), trigger, run_id, at, after, limits };
        let (sum, last) = backend.write(batch).await?;
        total.members += sum.members;
        total.changed += sum.changed;
        total.memberships_added += sum.memberships_added;
        total.memberships_removed += sum.memberships_removed;
        match last {
            Some(k) if sum.members as usize == BATCH => after = k,
            _ => return Ok(total),
        }
    }
}

/// [`crate::SafetyStore::dry_run_rules`]: what re-applying `rules` would
/// change, counted over one snapshot of every member.
pub(crate) async fn dry_run<B: Backend>(backend: &B, rules: &RuleSet) -> Result<ReapplySummary> {
    let rules = rules.clone();
    backend
        .fold_membership_sets(ReapplySummary::default(), move |sum, _key, all, kept| {
            sum.members += 1;
            if let Some(delta) = reapply_delta(&rules, all, kept) {
                sum.changed += 1;
                sum.memberships_added += delta.added;
                sum.memberships_removed += delta.removed;
            }
        })
        .await
}
