//! [`AccessStore`] over a backend.

use amsync_core::access::ContentId;
use amsync_core::{GroupKey, MemberKey};
use chrono::{DateTime, Utc};

use super::Layered;
use crate::access_api::*;
use crate::backend::Backend;
use crate::error::Result;
use crate::ops::access::PutContentItem;

#[async_trait::async_trait]
impl<B: Backend> AccessStore for Layered<B> {
    async fn content_item(&self, id: &ContentId) -> Result<Option<ContentItem>> {
        self.backend.content_item(id).await
    }

    async fn put_content_item(
        &self,
        id: &ContentId,
        name: Option<&str>,
        groups: &[GroupKey],
        at: DateTime<Utc>,
    ) -> Result<(ContentItem, bool)> {
        let op = PutContentItem { id: id.clone(), name: name.map(str::to_owned), groups: groups.to_vec(), at };
        self.backend.write(op).await
    }

    async fn access_version(&self) -> Result<i64> {
        self.backend.access_version().await
    }

    async fn access_config(&self) -> Result<AccessConfig> {
        self.backend.access_config().await
    }

    async fn member_for_access(&self, key: &MemberKey) -> Result<AccessFacts> {
        self.backend.member_for_access(key).await
    }
}
