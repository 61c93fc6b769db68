//! Re-applying community rules to every member from the stored full
//! membership lists, in PostgreSQL: batches of [`BATCH`] members in key
//! order, each its own transaction, so refresh commits interleave (as
//! `sqlite/reapply.rs`).
//!
//! seam: phase 2 — the wanted set is a rule for core and the batch an op
//! of `ops/reapply.rs`; this file then drops to its statements.

use std::collections::HashSet;

use amsync_core::community::Membership;
use amsync_core::diff::plan_rules;
use amsync_core::member::MemberDetails;
use amsync_core::record::{MemberRecord, MemberStatus};
use amsync_core::rules::RuleSet;
use amsync_core::safety::Thresholds;
use amsync_core::{MemberKey, Trigger};
use chrono::{DateTime, NaiveDate, Utc};

use super::codec::{self, from_json, get, ts};
use super::runs::add_counts;
use super::{PgBackend, PgOp, PgTx};
use crate::backend::{MemberTx, MemberWritesPhase2};
use crate::error::Result;
use crate::ops::refresh::record_change;
use crate::ops::safety::note_rule_removals;
use crate::types::{ReapplySummary, RunCounts, RunId};

/// Members per transaction.
pub(crate) const BATCH: usize = 1000;

struct Batch {
    rules: RuleSet,
    trigger: Trigger,
    run_id: Option<RunId>,
    at: DateTime<Utc>,
    after: String,
    limits: Thresholds,
}

impl PgOp for Batch {
    type Output = (ReapplySummary, Option<String>);

    async fn run(&mut self, tx: &mut PgTx) -> Result<(ReapplySummary, Option<String>)> {
        let rows = tx
            .query(
                "SELECT key, ams_memberships::text FROM members WHERE key > $1 ORDER BY key LIMIT $2",
                &[&self.after, &(BATCH as i64)],
            )
            .await?;
        let mut sum = ReapplySummary::default();
        let mut last = None;
        for r in &rows {
            let key: String = get(r, 0)?;
            last = Some(key.clone());
            sum.members += 1;
            let all: Vec<Membership> = from_json("AMS memberships", &get::<String>(r, 1)?)?;
            let kept_rows =
                tx.query("SELECT community_key, begin FROM memberships WHERE member_key = $1", &[&key]).await?;
            let kept: HashSet<(String, NaiveDate)> =
                kept_rows.iter().map(|k| Ok((get(k, 0)?, get(k, 1)?))).collect::<Result<_>>()?;
            let id = |m: &Membership| (m.community.key.to_string(), m.begin);
            let wanted: HashSet<_> = all.iter().filter(|m| self.rules.includes(&m.community)).map(id).collect();
            if wanted == kept {
                continue;
            }
            let member_key: MemberKey = codec::key("member", key.clone())?;
            // Only memberships differ between the old and new state.
            let old = MemberRecord {
                details: MemberDetails::empty(member_key),
                status: MemberStatus::Active,
                disabled_reason: None,
                merged_into: None,
                memberships: all.iter().filter(|m| kept.contains(&id(m))).cloned().collect(),
                ams_groups: Vec::new(),
                local_groups: Vec::new(),
            };
            let plan = plan_rules(&old, &all, &self.rules);
            tx.replace_memberships(&key, &plan.new.memberships, true).await?;
            tx.exec("UPDATE members SET updated_at = $2 WHERE key = $1", &[&key, &ts(self.at)]).await?;
            record_change(tx, &key, self.trigger, self.run_id, self.at, &plan).await?;
            sum.changed += 1;
            sum.memberships_added += wanted.difference(&kept).count() as u64;
            sum.memberships_removed += kept.difference(&wanted).count() as u64;
        }
        if let Some(run) = self.run_id {
            let counts = RunCounts {
                refreshed: sum.members,
                changed: sum.changed,
                unchanged: sum.members - sum.changed,
                ..Default::default()
            };
            add_counts(tx, run, &counts).await?;
        }
        // A rule change's removals count in the thresholds' window.
        note_rule_removals(tx, &self.limits, sum.memberships_removed, self.at).await?;
        Ok((sum, last))
    }
}

impl MemberWritesPhase2 for PgBackend {
    async fn reapply_rules(
        &self,
        rules: &RuleSet,
        trigger: Trigger,
        run_id: Option<RunId>,
        at: DateTime<Utc>,
        limits: Thresholds,
    ) -> Result<ReapplySummary> {
        let mut total = ReapplySummary::default();
        let mut after = String::new();
        loop {
            let op = Batch { rules: rules.clone(), trigger, run_id, at, after: std::mem::take(&mut after), limits };
            let (sum, last) = self.run(op).await?;
            total.members += sum.members;
            total.changed += sum.changed;
            total.memberships_added += sum.memberships_added;
            total.memberships_removed += sum.memberships_removed;
            match last {
                Some(k) if sum.members as usize == BATCH => after = k,
                _ => break,
            }
        }
        Ok(total)
    }
}
