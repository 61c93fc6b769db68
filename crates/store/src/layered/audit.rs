//! [`AuditStore`] over a backend.

use super::Layered;
use crate::audit::*;
use crate::backend::Backend;
use crate::error::Result;

#[async_trait::async_trait]
impl<B: Backend> AuditStore for Layered<B> {
    // seam: phase 2 — still the backend's (AuditWritesPhase2).
    async fn record_audit(&self, entry: &NewAuditEntry) -> Result<i64> {
        self.backend.record_audit(entry).await
    }

    async fn list_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        self.backend.list_audit(filter).await
    }
}
