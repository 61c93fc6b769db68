//! The audit log.

use std::future::Future;

use crate::audit::{AuditEntry, AuditFilter, NewAuditEntry};
use crate::error::Result;

/// Single operations on the audit log inside a transaction. (None yet:
/// see [`AuditWritesPhase2`]; phase 2 adds its statement here.)
pub trait AuditTx: Send {}

/// Reads of the audit log.
pub trait AuditReads: Send + Sync {
    /// Newest first.
    fn list_audit(&self, filter: &AuditFilter) -> impl Future<Output = Result<Vec<AuditEntry>>> + Send;
}

/// Audit writes still written inside the backend (see the module doc of
/// [`crate::backend`]).
pub trait AuditWritesPhase2: Send + Sync {
    // seam: phase 2
    fn record_audit(&self, entry: &NewAuditEntry) -> impl Future<Output = Result<i64>> + Send;
}
