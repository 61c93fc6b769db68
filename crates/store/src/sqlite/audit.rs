//! The audit log in SQL: its append (`AuditTx`) and listing (`AuditReads`).

use rusqlite::{params, Connection};

use super::codec::{from_ms, ms};
use super::{SqliteBackend, SqliteTx};
use crate::audit::{AuditEntry, AuditFilter, NewAuditEntry};
use crate::backend::{AuditReads, AuditTx};
use crate::error::Result;

/// Most entries one listing returns.
const MAX_PAGE: usize = 1000;

fn list(conn: &Connection, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
    let limit = f.limit.clamp(1, MAX_PAGE) as i64;
    let mut stmt = conn.prepare_cached(
        "SELECT id, at, actor, action, target, detail, status, request_id FROM audit_log
         WHERE (?1 IS NULL OR actor = ?1) AND id < ?2 ORDER BY id DESC LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![f.actor, f.before.unwrap_or(i64::MAX), limit], |r| {
        Ok(AuditEntry {
            id: r.get(0)?,
            at: from_ms(r.get(1)?),
            actor: r.get(2)?,
            action: r.get(3)?,
            target: r.get(4)?,
            detail: r.get(5)?,
            status: r.get(6)?,
            request_id: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

impl AuditReads for SqliteBackend {
    async fn list_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let filter = filter.clone();
        self.read_op(move |c| list(c, &filter)).await
    }
}

impl AuditTx for SqliteTx {
    async fn insert_audit(&mut self, e: &NewAuditEntry) -> Result<i64> {
        Ok(self
            .conn
            .prepare_cached(
                "INSERT INTO audit_log (at, actor, action, target, detail, status, request_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
            )?
            .query_row(params![ms(e.at), e.actor, e.action, e.target, e.detail, e.status, e.request_id], |r| {
                r.get(0)
            })?)
    }
}
