//! One Member Refresh: the three parts fetched concurrently and turned into
//! one commit. A part that fails leaves the member exactly as it was.
//!
//! The safety nets act here too: each details answer feeds the quarantine's
//! window; while the source is quarantined a failure gives its attempt back
//! and a 404/410 is not applied (see `safety.rs` for the control call
//! behind a suspicious 404).

use amsync_ams::{DetailsAnswer, SourceError};
use amsync_core::diff::FetchedMember;
use amsync_core::{FailureKind, MemberKey, Trigger};
use amsync_store::{Claim, CommitOutcome, Disposition, PartHashes, RawParts, RefreshCommit, RefreshOutcome, RunId};

use crate::error::SyncError;
use crate::safety::held_gone_failure;
use crate::shared::Shared;
use crate::worker::Throughput;

/// What the fetch phase found, before the queue decides a failure's fate.
// Fetched is the common case and moves on into the commit; boxing it would
// cost an allocation per refresh.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Fetch {
    Fetched { member: FetchedMember, hashes: PartHashes, raw: RawParts },
    Gone { status: u16, merged_into: Option<MemberKey> },
    Failed(SourceError),
}

/// Member Refresh, for the workers' claims and for a refresh outside the
/// queue. Stateless: the workers own what is counted of it.
#[derive(Clone)]
pub(crate) struct MemberRefresh {
    shared: Shared,
}

impl MemberRefresh {
    pub fn new(shared: Shared) -> MemberRefresh {
        MemberRefresh { shared }
    }

    /// Calls GetMemberDetails, GetMemberCommunities and
    /// GetMemberSecurityGroups at once. A 404/410 on the details decides the
    /// outcome whatever the other two answered.
    pub async fn fetch(&self, key: &MemberKey) -> Fetch {
        let source = &self.shared.source;
        let (details, communities, groups) =
            tokio::join!(source.member_details(key), source.member_communities(key), source.member_groups(key));
        let details = match details {
            Err(e) => return Fetch::Failed(e),
            Ok(d) => d,
        };
        self.shared.signals.quarantine().note_details(matches!(details.value, DetailsAnswer::Gone { status: 404, .. }));
        let found = match details.value {
            DetailsAnswer::Gone { status, merged_into } => return Fetch::Gone { status, merged_into },
            DetailsAnswer::Found(found) => found,
        };
        let communities = match communities {
            Err(e) => return Fetch::Failed(e),
            Ok(c) => c,
        };
        let groups = match groups {
            Err(e) => return Fetch::Failed(e),
            Ok(g) => g,
        };
        let member = FetchedMember { details: found, memberships: communities.value, groups: groups.value };
        let hashes = PartHashes::of(&member);
        let raw = RawParts { details: details.raw, communities: communities.raw, groups: groups.raw };
        Fetch::Fetched { member, hashes, raw }
    }

    /// Turns a fetch into a commit for a claimed entry, deciding a failure's
    /// fate by the queue's rules.
    pub async fn outcome_for_claim(&self, claim: &Claim, fetch: Fetch) -> RefreshOutcome {
        match fetch {
            Fetch::Fetched { member, hashes, raw } => RefreshOutcome::Fetched { member, hashes, raw },
            Fetch::Gone { status, merged_into } => match self.shared.gone_verdict(&claim.key, status).await {
                Ok(()) => RefreshOutcome::Gone { status, merged_into },
                Err(why) => {
                    // Not applied, and not an attempt used: back to the queue.
                    tracing::warn!(key = %claim.key, status, reason = %amsync_core::escaped(&why), "a 404/410 was not applied");
                    let now = self.shared.now();
                    let due = if self.shared.signals.is_quarantined() {
                        now
                    } else {
                        crate::schedule::later(now, self.shared.backoff(claim.attempts, None))
                    };
                    let failure = held_gone_failure(status, &why);
                    RefreshOutcome::Failed { failure, disposition: Disposition::Release { due } }
                }
            },
            Fetch::Failed(e) => {
                let failure = e.to_failure();
                let disposition = self.disposition(claim.attempts, &e).await;
                RefreshOutcome::Failed { failure, disposition }
            }
        }
    }

    /// The fate of a failed attempt: while the source is quarantined, the
    /// attempt is given back (attempts stop counting); bad credentials pause
    /// the source and give the attempt back; otherwise retry with backoff
    /// until the attempts are used up (permanent refusals get at most three).
    pub async fn disposition(&self, attempts: u32, e: &SourceError) -> Disposition {
        let now = self.shared.now();
        if self.shared.signals.is_quarantined() {
            return Disposition::Release { due: now };
        }
        match e.kind() {
            FailureKind::Unauthorized => {
                if let Err(err) = self.shared.pause(&format!("unauthorized: {e}")).await {
                    tracing::error!(error = %err, "could not record the pause");
                }
                Disposition::Release { due: now + chrono::Duration::seconds(1) }
            }
            kind => {
                if self.shared.settings.retry.exhausted(attempts, kind) {
                    Disposition::Dead
                } else {
                    let delay = self.shared.backoff(attempts, e.retry_after());
                    Disposition::Retry { due: crate::schedule::later(now, delay) }
                }
            }
        }
    }

    /// Refreshes one member right now, outside the queue (sign-in of a member
    /// unknown locally or disabled), counted in `throughput` once committed.
    /// Returns the commit outcome, or the source's error when a part failed
    /// (nothing is then written but the error bookkeeping).
    pub async fn now(
        &self,
        key: &MemberKey,
        trigger: Trigger,
        run_id: Option<RunId>,
        throughput: &Throughput,
    ) -> Result<CommitOutcome, SyncError> {
        let fetch = self.fetch(key).await;
        let (outcome, error) = match fetch {
            Fetch::Fetched { member, hashes, raw } => (RefreshOutcome::Fetched { member, hashes, raw }, None),
            Fetch::Gone { status, merged_into } => match self.shared.gone_verdict(key, status).await {
                Ok(()) => (RefreshOutcome::Gone { status, merged_into }, None),
                Err(why) => {
                    let failure = held_gone_failure(status, &why);
                    let disposition = Disposition::Retry { due: self.shared.now() };
                    (RefreshOutcome::Failed { failure, disposition }, Some(SyncError::Paused(why)))
                }
            },
            Fetch::Failed(e) => {
                if e.kind() == FailureKind::Unauthorized && !self.shared.signals.is_quarantined() {
                    self.shared.pause(&format!("unauthorized: {e}")).await?;
                }
                // Not queued: record the failure on the member, and queue a
                // retry so the member still converges.
                let due = self.shared.now();
                let failure = e.to_failure();
                (RefreshOutcome::Failed { failure, disposition: Disposition::Retry { due } }, Some(e.into()))
            }
        };
        let store = &self.shared.store;
        let commit = RefreshCommit { claim: None, key: key.clone(), trigger, run_id, at: self.shared.now(), outcome };
        let result = store.commit_refresh(commit).await?;
        throughput.record(self.shared.now(), 1);
        match error {
            Some(e) => {
                store.enqueue(std::slice::from_ref(key), trigger, run_id, self.shared.now()).await?;
                self.shared.signals.wake_workers();
                Err(e)
            }
            None => Ok(result),
        }
    }
}

#[cfg(test)]
mod tests {
    use amsync_ams::memory::GoneMember;
    use amsync_core::record::{DisabledReason, MemberStatus};
    use amsync_core::Trigger;
    use amsync_store::{MemberStore, QueueStore};

    use crate::testing::{key, members, TestEngine};

    /// A 410 naming a merge target disables the member, remembers the
    /// target, and refreshes the target too (trigger `merge`).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn gone_with_merge_target_disables_and_refreshes_the_target() {
        let t = TestEngine::start(members(20), 4).await;
        t.full_refresh().await;
        t.ams.change(|d| {
            let at = chrono::Utc::now();
            d.members.retain(|m| m.key().as_str() != "M000012");
            d.gone.push(GoneMember {
                key: key("M000012"),
                status: 410,
                merged_into: Some(key("M000013")),
                changed_at: at,
            });
        });
        t.ams.reset_calls();
        t.refresh_keys(&["M000012"]).await;
        let merged = t.store.get_member(&key("M000012")).await.unwrap().unwrap().record;
        assert_eq!(merged.status, MemberStatus::Disabled);
        assert_eq!(merged.disabled_reason, Some(DisabledReason::MergedInto));
        assert_eq!(merged.merged_into, Some(key("M000013")));
        t.until("the target's refresh", async || !t.store.is_pending(&key("M000013")).await.unwrap()).await;
        let target = t.store.get_member(&key("M000013")).await.unwrap().unwrap();
        assert_eq!(target.last_trigger, Some(Trigger::Merge));
        assert_eq!(t.ams.calls_for(amsync_core::error::Part::Details, &key("M000013")), 1);
        t.stop().await;
    }
}
