//! [`DataStore`] over a backend: the erase and the pruning are
//! `ops/erase.rs` and `ops/retention.rs`.

use amsync_core::member::check_len;
use amsync_core::MemberKey;
use chrono::{DateTime, Utc};

use super::Layered;
use crate::backend::Backend;
use crate::data_protection::*;
use crate::error::{Result, StoreError};
use crate::ops::erase::{EraseMember, LiftTombstone};
use crate::ops::retention;

/// Most tombstones one listing returns.
const MAX_PAGE: usize = 1000;

#[async_trait::async_trait]
impl<B: Backend> DataStore for Layered<B> {
    async fn export_member(&self, key: &MemberKey) -> Result<Option<MemberExport>> {
        self.backend.export_member(key).await
    }

    async fn erase_member(&self, erase: &EraseRequest) -> Result<EraseReport> {
        if let Some(reason) = &erase.reason {
            check_len(Some(reason), MAX_ERASE_REASON).map_err(|m| StoreError::Invalid(format!("reason: {m}")))?;
        }
        self.backend.write(EraseMember { erase: erase.clone() }).await
    }

    async fn tombstone(&self, key: &MemberKey) -> Result<Option<Tombstone>> {
        self.backend.tombstone(key).await
    }

    async fn list_tombstones(&self, limit: usize, after: Option<&MemberKey>) -> Result<Vec<Tombstone>> {
        self.backend.list_tombstones(limit.clamp(1, MAX_PAGE), after).await
    }

    async fn lift_tombstone(&self, key: &MemberKey) -> Result<bool> {
        self.backend.write(LiftTombstone { key: key.as_str().to_owned() }).await
    }

    async fn prune(&self, policy: &RetentionPolicy, now: DateTime<Utc>) -> Result<PruneReport> {
        let report = retention::prune(&self.backend, policy, now).await?;
        if report.total() > 0 {
            tracing::info!(
                history = report.history,
                change_feed = report.change_feed,
                runs = report.runs,
                sessions = report.sessions,
                mobile_tokens = report.mobile_tokens,
                used_token_ids = report.used_token_ids,
                disabled_members = report.disabled_members,
                approvals = report.approvals,
                "pruned data past its retention"
            );
        }
        Ok(report)
    }
}
