//! The audit log's one write: appending an entry.

use crate::audit::NewAuditEntry;
use crate::backend::{Tx, WriteOp};
use crate::error::Result;

/// [`crate::AuditStore::record_audit`].
pub(crate) struct RecordAudit {
    pub entry: NewAuditEntry,
}

impl WriteOp for RecordAudit {
    type Output = i64;

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<i64> {
        tx.insert_audit(&self.entry).await
    }
}
