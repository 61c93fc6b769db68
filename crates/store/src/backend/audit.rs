//! The audit log.

use std::future::Future;

use crate::audit::{AuditEntry, AuditFilter, NewAuditEntry};
use crate::error::Result;

/// Single operations on the audit log inside a transaction.
pub trait AuditTx: Send {
    /// Appends an entry; returns its id (ids grow with every entry).
    fn insert_audit(&mut self, entry: &NewAuditEntry) -> impl Future<Output = Result<i64>> + Send;
}

/// Reads of the audit log.
pub trait AuditReads: Send + Sync {
    /// Newest first.
    fn list_audit(&self, filter: &AuditFilter) -> impl Future<Output = Result<Vec<AuditEntry>>> + Send;
}
