//! The [`DataStore`] impl: export on a reader; erase, tombstones and
//! pruning on the writer.

use amsync_core::member::check_len;
use amsync_core::MemberKey;
use chrono::{DateTime, Utc};

use super::codec::ms;
use super::{erase, export, retention, SqliteStore};
use crate::data_protection::*;
use crate::error::{Result, StoreError};

/// Most tombstones one listing returns.
const MAX_PAGE: usize = 1000;

#[async_trait::async_trait]
impl DataStore for SqliteStore {
    async fn export_member(&self, key: &MemberKey) -> Result<Option<MemberExport>> {
        let key = key.clone();
        self.read_op(move |c| export::export(c, &key)).await
    }

    async fn erase_member(&self, e: &EraseRequest) -> Result<EraseReport> {
        if let Some(reason) = &e.reason {
            check_len(Some(reason), MAX_ERASE_REASON).map_err(|m| StoreError::Invalid(format!("reason: {m}")))?;
        }
        let (key, actor, reason, at) = (e.key.clone(), e.actor.clone(), e.reason.clone(), ms(e.at));
        let (removed, tombstone, already_tombstoned) =
            self.write_op(move |ctx| erase::erase(ctx, &key, &actor, reason.as_deref(), at)).await?;
        Ok(EraseReport { removed, tombstone, already_tombstoned })
    }

    async fn tombstone(&self, key: &MemberKey) -> Result<Option<Tombstone>> {
        let key = key.as_str().to_owned();
        self.read_op(move |c| erase::tombstone(c, &key)).await
    }

    async fn list_tombstones(&self, limit: usize, after: Option<&MemberKey>) -> Result<Vec<Tombstone>> {
        let after = after.map(|k| k.as_str().to_owned()).unwrap_or_default();
        let limit = limit.clamp(1, MAX_PAGE);
        self.read_op(move |c| erase::list(c, limit, &after)).await
    }

    async fn lift_tombstone(&self, key: &MemberKey) -> Result<bool> {
        let key = key.as_str().to_owned();
        self.write_op(move |ctx| erase::lift(&ctx.conn, &key)).await
    }

    async fn prune(&self, policy: &RetentionPolicy, now: DateTime<Utc>) -> Result<PruneReport> {
        let report = retention::prune(self, policy, now).await?;
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
