//! [`MemberStore`] over a backend: the refresh commit is `ops/refresh.rs`,
//! the rule re-apply `ops/reapply.rs`.

use amsync_core::community::Membership;
use amsync_core::rules::RuleSet;
use amsync_core::{MemberKey, Trigger};
use chrono::{DateTime, Utc};

use super::Layered;
use crate::api::MemberStore;
use crate::backend::Backend;
use crate::error::Result;
use crate::ops::reapply;
use crate::ops::refresh::CommitRefresh;
use crate::types::*;

#[async_trait::async_trait]
impl<B: Backend> MemberStore for Layered<B> {
    async fn commit_refresh(&self, commit: RefreshCommit) -> Result<CommitOutcome> {
        self.backend.write(CommitRefresh::new(commit, self.limits())).await
    }

    async fn get_member(&self, key: &MemberKey) -> Result<Option<StoredMember>> {
        self.backend.get_member(key).await
    }

    async fn ams_memberships(&self, key: &MemberKey) -> Result<Option<Vec<Membership>>> {
        self.backend.ams_memberships(key).await
    }

    async fn search_members(&self, query: &MemberQuery) -> Result<Page<MemberSummary>> {
        self.backend.search_members(query).await
    }

    async fn member_history(&self, key: &MemberKey, limit: usize, before_id: Option<i64>) -> Result<Vec<HistoryEntry>> {
        self.backend.member_history(key, limit, before_id).await
    }

    async fn active_member_keys(&self) -> Result<Vec<MemberKey>> {
        self.backend.active_member_keys().await
    }

    async fn member_count(&self) -> Result<u64> {
        self.backend.member_count().await
    }

    async fn reapply_rules(
        &self,
        rules: &RuleSet,
        trigger: Trigger,
        run_id: Option<RunId>,
        at: DateTime<Utc>,
    ) -> Result<ReapplySummary> {
        let total = reapply::reapply(&self.backend, rules, trigger, run_id, at, self.limits()).await?;
        tracing::info!(members = total.members, changed = total.changed, "re-applied the community rules");
        Ok(total)
    }

    async fn changes_after(&self, after: i64, limit: usize) -> Result<Vec<FeedItem>> {
        self.backend.changes_after(after, limit).await
    }
}
