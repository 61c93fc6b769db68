//! Content items: what a site protects, and the groups that may see it.

use amsync_core::access::ContentId;
use amsync_core::member::{check_len, MAX_SHORT_TEXT};
use amsync_core::GroupKey;
use chrono::{DateTime, Utc};

use super::groups::resolve_groups;
use crate::access_api::ContentItem;
use crate::backend::{Tx, WriteOp};
use crate::error::{Result, StoreError};

/// [`crate::AccessStore::put_content_item`]: the item and its groups
/// (each a registered group, in its registered spelling), and whether it
/// is new; access policies are marked stale.
pub(crate) struct PutContentItem {
    pub id: ContentId,
    pub name: Option<String>,
    pub groups: Vec<GroupKey>,
    pub at: DateTime<Utc>,
}

impl WriteOp for PutContentItem {
    type Output = (ContentItem, bool);

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<(ContentItem, bool)> {
        if let Some(n) = &self.name {
            check_len(Some(n), MAX_SHORT_TEXT).map_err(|m| StoreError::Invalid(format!("name: {m}")))?;
        }
        let groups = resolve_groups(tx, &self.groups).await?;
        let existed = tx.content_item_now(&self.id).await?.is_some();
        tx.put_content_row(&self.id, self.name.as_deref(), self.at).await?;
        tx.replace_content_groups(&self.id, &groups).await?;
        tx.bump_access_version().await?;
        let item = tx
            .content_item_now(&self.id)
            .await?
            .ok_or_else(|| StoreError::Database("the content item vanished".into()))?;
        Ok((item, !existed))
    }
}
