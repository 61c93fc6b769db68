//! [`QueueStore`] over a backend: the lifecycle is `ops/queue.rs`.

use std::time::Duration;

use amsync_core::queue::QueueState;
use amsync_core::{MemberKey, Trigger};
use chrono::{DateTime, Utc};

use super::Layered;
use crate::api::QueueStore;
use crate::backend::Backend;
use crate::error::Result;
use crate::ops::queue::{ClaimDue, Enqueue, Release, Renew, RequeueDead, RequeueKeys, RescueExpired};
use crate::types::*;

/// Keys per write when requeuing many: big enough to amortize the commit,
/// small enough not to hold up refresh commits for long (an enqueue goes
/// by [`ENQUEUE_CHUNK`]).
const CHUNK: usize = 2000;

/// Keys per enqueue write: one read and at most three statements each
/// (`QueueTx::enqueue_batch`), so a full refresh of a million keys is two
/// hundred short transactions with bounded memory, none of them long.
const ENQUEUE_CHUNK: usize = 5000;

fn owned(keys: &[MemberKey]) -> Vec<String> {
    keys.iter().map(|k| k.as_str().to_owned()).collect()
}

#[async_trait::async_trait]
impl<B: Backend> QueueStore for Layered<B> {
    async fn enqueue(
        &self,
        keys: &[MemberKey],
        trigger: Trigger,
        run_id: Option<RunId>,
        due: DateTime<Utc>,
    ) -> Result<EnqueueResult> {
        let mut total = EnqueueResult::default();
        for chunk in keys.chunks(ENQUEUE_CHUNK) {
            let op = Enqueue { keys: owned(chunk), trigger, run_id, due, now: Utc::now() };
            let r = self.backend.write(op).await?;
            total.created += r.created;
            total.merged += r.merged;
        }
        Ok(total)
    }

    async fn claim(&self, limit: usize, node: &str, now: DateTime<Utc>, lease: Duration) -> Result<Vec<Claim>> {
        let op = ClaimDue { limit, node: node.to_owned(), now, lease_until: lease_until(now, lease) };
        self.backend.write(op).await
    }

    async fn renew(&self, tokens: &[ClaimToken], now: DateTime<Utc>, lease: Duration) -> Result<Vec<bool>> {
        self.backend.write(Renew { tokens: tokens.to_vec(), lease_until: lease_until(now, lease) }).await
    }

    async fn rescue_expired(&self, now: DateTime<Utc>) -> Result<u64> {
        self.backend.write(RescueExpired { now }).await
    }

    async fn release(&self, tokens: &[ClaimToken], due: DateTime<Utc>) -> Result<u64> {
        self.backend.write(Release { tokens: tokens.to_vec(), due, now: Utc::now() }).await
    }

    async fn requeue(&self, selector: &RequeueSelector, now: DateTime<Utc>) -> Result<u64> {
        match selector {
            RequeueSelector::AllDead => self.backend.write(RequeueDead { transient_only: false, now }).await,
            RequeueSelector::TransientDead => self.backend.write(RequeueDead { transient_only: true, now }).await,
            RequeueSelector::Keys(keys) => {
                let mut n = 0;
                for chunk in keys.chunks(CHUNK) {
                    n += self.backend.write(RequeueKeys { keys: owned(chunk), now }).await?;
                }
                Ok(n)
            }
        }
    }

    async fn queue_counts(&self) -> Result<QueueCounts> {
        self.backend.queue_counts().await
    }

    async fn list_queue(
        &self,
        state: Option<QueueState>,
        limit: usize,
        after_id: Option<i64>,
    ) -> Result<Vec<QueueEntry>> {
        self.backend.list_queue(state, limit, after_id).await
    }

    async fn is_pending(&self, key: &MemberKey) -> Result<bool> {
        self.backend.is_pending(key).await
    }
}
