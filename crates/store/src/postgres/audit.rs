//! The audit log in PostgreSQL: its append (`AuditTx`) and listing
//! (`AuditReads`), as `sqlite/audit.rs`.

use super::codec::{get, ts};
use super::{PgBackend, PgTx};
use crate::audit::{AuditEntry, AuditFilter, NewAuditEntry};
use crate::backend::{AuditReads, AuditTx};
use crate::error::Result;

/// Most entries one listing returns (as SQLite's).
const MAX_PAGE: usize = 1000;

impl AuditReads for PgBackend {
    async fn list_audit(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let limit = f.limit.clamp(1, MAX_PAGE) as i64;
        let mut tx = self.autocommit().await?;
        let rows = tx
            .query(
                "SELECT id, at, actor, action, target, detail, status, request_id FROM audit_log
                 WHERE ($1::text IS NULL OR actor = $1) AND id < $2 ORDER BY id DESC LIMIT $3",
                &[&f.actor, &f.before.unwrap_or(i64::MAX), &limit],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let status: i32 = get(r, 6)?;
                Ok(AuditEntry {
                    id: get(r, 0)?,
                    at: get(r, 1)?,
                    actor: get(r, 2)?,
                    action: get(r, 3)?,
                    target: get(r, 4)?,
                    detail: get(r, 5)?,
                    status: u16::try_from(status).unwrap_or(0),
                    request_id: get(r, 7)?,
                })
            })
            .collect()
    }
}

impl AuditTx for PgTx {
    async fn insert_audit(&mut self, e: &NewAuditEntry) -> Result<i64> {
        let row = self
            .query_one(
                "INSERT INTO audit_log (at, actor, action, target, detail, status, request_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                &[&ts(e.at), &e.actor, &e.action, &e.target, &e.detail, &i32::from(e.status), &e.request_id],
            )
            .await?;
        get(&row, 0)
    }
}
