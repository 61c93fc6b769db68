//! The audit log of admin actions (product.md job 9, `GET /api/v1/audit`):
//! who did what to which target, when, with the request id and the answer's
//! status. Entries are appended, never changed; they never hold a secret
//! (no tokens, passwords or request bodies: a short sentence at most).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// The actor of the admin token (API calls with the bearer token, and
/// dashboard sessions signed in with it). A signed-in SuperAdmin is named
/// by its member key instead.
pub const ADMIN_TOKEN_ACTOR: &str = "admin token";

/// One admin action to record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAuditEntry {
    pub at: DateTime<Utc>,
    /// [`ADMIN_TOKEN_ACTOR`] or a SuperAdmin's member key.
    pub actor: String,
    /// What was done: `"POST /api/v1/queue/requeue"`, `"dashboard: requeue"`.
    pub action: String,
    /// What it was done to: a path, a member key, a run id.
    pub target: Option<String>,
    /// A short sentence the handler adds (`"3 entries requeued"`).
    pub detail: Option<String>,
    /// The HTTP status of the answer.
    pub status: u16,
    /// The `x-request-id` of the call, to find it in the logs.
    pub request_id: Option<String>,
}

/// A recorded admin action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
    pub status: u16,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this actor's entries.
    pub actor: Option<String>,
    pub limit: usize,
    /// Entries with an id lower than this (paging backwards in time).
    pub before: Option<i64>,
}

/// The audit log.
#[async_trait::async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends an entry; returns its id.
    async fn record_audit(&self, entry: &NewAuditEntry) -> Result<i64>;

    /// Newest first.
    async fn list_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>>;
}
