//! This node's access policy, built from the store once per access version.
//!
//! A decision reads the member and the store's access version in one
//! snapshot ([`amsync_store::AccessStore::member_for_access`]) and asks this
//! cache for a policy at least that new: the common case is a read lock and
//! an `Arc` clone. When the configuration changed (through the API, or a
//! refresh that brought a new community or event, on any node), the first
//! request to notice rebuilds the policy while the others wait for it, so a
//! change is rebuilt once, not once per request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use amsync_core::access::AccessPolicy;
use amsync_core::GroupKey;
use amsync_store::{Store, StoreError};

/// A policy and what principals are built with, as of one access version.
#[derive(Debug)]
pub struct CachedPolicy {
    pub version: i64,
    pub policy: AccessPolicy,
    /// AMS groups designated "counts as IsMember".
    pub is_member_groups: Vec<GroupKey>,
}

/// The cache; one per node, shared by every request.
#[derive(Debug, Default)]
pub struct AccessCache {
    current: RwLock<Option<Arc<CachedPolicy>>>,
    rebuild: tokio::sync::Mutex<()>,
    builds: AtomicU64,
}

impl AccessCache {
    pub fn new() -> AccessCache {
        AccessCache::default()
    }

    fn at_least(&self, version: i64) -> Option<Arc<CachedPolicy>> {
        let current = self.current.read().unwrap_or_else(|p| p.into_inner());
        current.as_ref().filter(|p| p.version >= version).cloned()
    }

    /// A policy built at `version` or later. Versions only grow, and a read
    /// started after another sees at least what it saw, so a newer policy
    /// than asked for is as good.
    pub async fn policy(&self, store: &dyn Store, version: i64) -> Result<Arc<CachedPolicy>, StoreError> {
        if let Some(p) = self.at_least(version) {
            return Ok(p);
        }
        let _one_at_a_time = self.rebuild.lock().await;
        if let Some(p) = self.at_least(version) {
            return Ok(p);
        }
        let config = store.access_config().await?;
        let built = Arc::new(CachedPolicy {
            version: config.version,
            policy: config.policy(),
            is_member_groups: config.is_member_groups,
        });
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(built.clone());
        self.builds.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(version = built.version, "access policy rebuilt");
        Ok(built)
    }

    /// How many times the policy was built (for tests and metrics).
    pub fn builds(&self) -> u64 {
        self.builds.load(Ordering::Relaxed)
    }
}
