//! [`AuditStore`] over a backend.

use super::Layered;
use crate::audit::*;
use crate::backend::Backend;
use crate::error::Result;
use crate::ops::audit::RecordAudit;

#[async_trait::async_trait]
impl<B: Backend> AuditStore for Layered<B> {
    async fn record_audit(&self, entry: &NewAuditEntry) -> Result<i64> {
        self.backend.write(RecordAudit { entry: entry.clone() }).await
    }

    async fn list_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        self.backend.list_audit(filter).await
    }
}
