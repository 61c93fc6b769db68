//! Runs a dead process left behind: a request the API accepted survives a
//! crash.
//!
//! Every run the engine starts is owned by this process under a lease
//! (`listing.rs`). A process that dies (kill -9, a lost node) stops renewing
//! it; once the lease has run out, any node that looks (every node's upkeep
//! does, at start and at every heartbeat; `amsync refresh` does at its
//! start) adopts the run, one node winning each, writes on the run what
//! happens to it (the dashboard and the API show it), and carries it on:
//!
//! - a member poll or an events sync resumes its listing after the last
//!   saved page (or restarts it from the first page when none was saved, or
//!   when the AMS refuses the saved cursor), then ends like any listing;
//! - a rule re-apply starts again (it is idempotent, from stored payloads);
//! - a run of given keys (manual, webhook…) ends its listing: the keys it
//!   enqueued are refreshed by the queue, whose entries outlive any process.
//!
//! While the source is paused, no listing is resumed (it would call the
//! AMS); the run waits, visibly running, until the source resumes.
//!
//! `Recovery` carries runs on through the tasks that own their kind (the
//! periodic poll, the events poll, the rule runs); the upkeep times its look.

use std::sync::Arc;

use amsync_core::Trigger;
use amsync_store::{ListingCheckpoint, OrphanedRun, Run, RunOutcome};
use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::error::SyncError;
use crate::events::EventsPoll;
use crate::poll::{MemberListing, PeriodicPoll};
use crate::rules::RuleRuns;
use crate::shared::Shared;

/// A time as the notes on runs write it.
pub(crate) fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// How an adopted run goes on.
#[derive(Debug, Clone)]
enum Carry {
    Members(MemberListing),
    Events {
        since: Option<DateTime<Utc>>,
    },
    Rules,
    /// A run of given keys: its listing ends, with an error when its keys
    /// were not all enqueued.
    CloseKeys {
        error: Option<String>,
    },
    /// Nothing can carry it on; it fails with this error.
    Fail(String),
}

/// A run this process took over from one that died.
#[derive(Debug, Clone)]
pub struct AdoptedRun {
    pub run: Run,
    /// The note written on the run.
    pub note: String,
    checkpoint: Option<ListingCheckpoint>,
    carry: Carry,
}

fn carry(run: &Run) -> Carry {
    let listing = |since, moves_watermark| {
        Carry::Members(MemberListing {
            run_id: run.id,
            trigger: run.kind,
            since,
            moves_watermark,
            started_at: run.started_at,
        })
    };
    match run.kind {
        Trigger::Periodic => listing(run.watermark_before, true),
        Trigger::Full => listing(None, true),
        Trigger::Events => Carry::Events { since: run.watermark_before },
        Trigger::Rules => Carry::Rules,
        Trigger::Manual if run.params["mode"] == "changed_since" => {
            match run.params["since"].as_str().map(DateTime::parse_from_rfc3339) {
                Some(Ok(t)) => listing(Some(t.with_timezone(&Utc)), false),
                _ => Carry::Fail(format!("its `since` parameter cannot be read ({})", run.params["since"])),
            }
        }
        _ => Carry::CloseKeys {
            error: (run.counts.listed == 0)
                .then(|| "its process stopped before the run's keys were all enqueued; refresh them again".to_string()),
        },
    }
}

/// What happened, for the run's page.
fn note(orphan: &OrphanedRun, carry: &Carry, me: &str, now: DateTime<Utc>) -> String {
    let run = &orphan.run;
    let gone = format!(
        "the process running it ({}) stopped renewing its lease{}",
        run.owner.as_deref().unwrap_or("an older version"),
        run.lease_until.map(|t| format!(" (last until {})", when(t))).unwrap_or_default()
    );
    let now = when(now);
    let saved = orphan.checkpoint.as_ref().filter(|c| c.pages > 0);
    match (carry, saved) {
        (Carry::Members(_) | Carry::Events { .. }, Some(c)) if c.ended => {
            format!("ended at {now} by {me}, its listing complete ({} pages): {gone}", c.pages)
        }
        (Carry::Members(_) | Carry::Events { .. }, Some(c)) => {
            format!("resumed after page {} at {now} by {me}: {gone}", c.pages)
        }
        (Carry::Members(_) | Carry::Events { .. }, None) => {
            format!("restarted from the first page at {now} by {me}: {gone} before it saved a page")
        }
        (Carry::Rules, _) => {
            format!("restarted at {now} by {me}, re-applying the stored rules to every member: {gone}")
        }
        (Carry::CloseKeys { .. }, _) => format!("closed at {now} by {me}: {gone} before its listing ended"),
        (Carry::Fail(why), _) => format!("failed at {now}: {gone}, and it cannot be resumed: {why}"),
    }
}

/// Takes over runs dead processes left (see the module).
pub(crate) struct Recovery {
    shared: Shared,
    members: Arc<PeriodicPoll>,
    events: Arc<EventsPoll>,
    rules: RuleRuns,
}

impl Recovery {
    pub fn new(shared: Shared, members: Arc<PeriodicPoll>, events: Arc<EventsPoll>, rules: RuleRuns) -> Recovery {
        Recovery { shared, members, events, rules }
    }

    /// Takes over every run whose owner's lease ran out (each won by one
    /// process), recording on the run what happens to it. Member and events
    /// listings are left alone while the source is paused.
    pub async fn adopt(&self) -> Result<Vec<AdoptedRun>, SyncError> {
        let s = &self.shared;
        let now = s.now();
        let mut adopted = Vec::new();
        for orphan in s.store.orphaned_runs(now).await? {
            let carry = carry(&orphan.run);
            if s.signals.is_paused() && matches!(carry, Carry::Members(_) | Carry::Events { .. }) {
                continue;
            }
            let note = note(&orphan, &carry, &s.owner, now);
            let run = &orphan.run;
            if !s.store.adopt_run(run.id, run.owner.as_deref(), &s.run_lease(), now, &note).await? {
                continue; // another process was quicker
            }
            tracing::warn!(run_id = run.id, kind = %run.kind, previous_owner = ?run.owner, note, "took over a run its process left");
            metrics::counter!("amsync_runs_resumed_total", "kind" => run.kind.as_str()).increment(1);
            adopted.push(AdoptedRun { run: orphan.run, note, checkpoint: orphan.checkpoint, carry });
        }
        Ok(adopted)
    }

    /// Carries an adopted run on to the end of its listing (its refreshes
    /// are then the queue's, as for any run).
    pub async fn resume(&self, adopted: AdoptedRun) -> Result<(), SyncError> {
        let s = &self.shared;
        let run_id = adopted.run.id;
        let checkpoint = adopted.checkpoint.unwrap_or_default();
        match adopted.carry {
            Carry::Members(plan) => {
                let report = s.holding_lease(run_id, self.members.list(&plan, checkpoint)).await?;
                if let Some(e) = report.error {
                    tracing::warn!(run_id, error = %amsync_core::escaped(&e), "the resumed member listing did not end well");
                }
            }
            Carry::Events { since } => {
                let started_at = adopted.run.started_at;
                s.holding_lease(run_id, self.events.list(run_id, since, started_at, checkpoint)).await?;
            }
            Carry::Rules => {
                let rules = s.store.community_rules().await?;
                s.holding_lease(run_id, self.rules.reapply_in(run_id, &rules)).await?;
            }
            Carry::CloseKeys { error } => s.store.finish_listing(run_id, s.now(), None, error).await?,
            Carry::Fail(why) => s.store.finish_run(run_id, s.now(), RunOutcome::Failed, Some(why)).await?,
        }
        Ok(())
    }

    /// Adopts the runs dead processes left and carries each on in a task of
    /// its own, until `shutdown` (a run cut short then is adopted again by
    /// the next process that looks).
    pub async fn resume_interrupted_runs(self: &Arc<Self>, shutdown: &CancellationToken) {
        let adopted = match self.adopt().await {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, "looking for runs left by a stopped process failed");
                return;
            }
        };
        for run in adopted {
            let (recovery, shutdown) = (self.clone(), shutdown.clone());
            tokio::spawn(async move {
                let run_id = run.run.id;
                tokio::select! {
                    _ = shutdown.cancelled() => {}
                    r = recovery.resume(run) => if let Err(e) = r {
                        tracing::error!(run_id, error = %amsync_core::escaped(&e), "carrying on a run left by a stopped process failed");
                    }
                }
            });
        }
    }
}
