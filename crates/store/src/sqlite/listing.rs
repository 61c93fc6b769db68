//! Owned runs: the listing's lease, its checkpoint and the adoption of a
//! run whose owner died (see [`crate::listing_api`]).
//!
//! Every write is conditional on the owner (`owner IS ?`), so a process
//! that lost the run to an adopter changes nothing: the adopter's writes
//! are the only ones that count from its adoption on. An adoption is a
//! compare-and-set on the owner and the lease end the adopter read;
//! whether it may adopt is decided in `ops/listing.rs`.

use amsync_core::{MemberKey, Trigger};
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};

use super::codec::{self, from_json, ms, opt_from_ms, to_json};
use super::runs::get_run;
use super::{SqliteBackend, SqliteTx};
use crate::backend::{ListingHold, ListingReads, ListingTx};
use crate::error::Result;
use crate::listing_api::{ListingCheckpoint, OrphanedRun, RunLease};
use crate::types::RunId;

/// Whether `owner` holds the listing of run `id`.
const HELD: &str = "id = ?1 AND owner IS ?2 AND outcome = 'running' AND listing_done = 0";

impl ListingReads for SqliteBackend {
    async fn orphaned_runs(&self, now: DateTime<Utc>) -> Result<Vec<OrphanedRun>> {
        self.read_op(move |c| {
            let found: Vec<(i64, Option<String>)> = c
                .prepare_cached(
                    "SELECT id, checkpoint FROM runs
                     WHERE outcome = 'running' AND listing_done = 0 AND lease_until < ?1
                     ORDER BY id",
                )?
                .query_map([ms(now)], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut out = Vec::with_capacity(found.len());
            for (id, checkpoint) in found {
                let Some(run) = get_run(c, id)? else { continue };
                let checkpoint = checkpoint.map(|text| from_json("listing checkpoint", &text)).transpose()?;
                out.push(OrphanedRun { run, checkpoint });
            }
            Ok(out)
        })
        .await
    }

    async fn active_keys_not_refreshed_since(&self, since: DateTime<Utc>) -> Result<Vec<MemberKey>> {
        self.read_op(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT m.key FROM members m LEFT JOIN member_refresh r ON r.member_key = m.key
                 WHERE m.status = 'active' AND (r.last_refreshed_at IS NULL OR r.last_refreshed_at < ?1)
                 ORDER BY m.key",
            )?;
            let rows = stmt.query_map([ms(since)], |r| r.get::<_, String>(0))?;
            let mut out = Vec::new();
            for row in rows {
                out.push(codec::key("member", row?)?);
            }
            Ok(out)
        })
        .await
    }
}

impl ListingTx for SqliteTx {
    async fn insert_owned_run(
        &mut self,
        kind: Trigger,
        at: DateTime<Utc>,
        watermark_before: Option<DateTime<Utc>>,
        params: &serde_json::Value,
        lease: &RunLease,
    ) -> Result<RunId> {
        Ok(self
            .conn
            .prepare_cached(
                "INSERT INTO runs (kind, started_at, outcome, watermark_before, params, owner, lease_until)
                 VALUES (?1, ?2, 'running', ?3, ?4, ?5, ?6) RETURNING id",
            )?
            .query_row(
                params![kind.as_str(), ms(at), watermark_before.map(ms), to_json(params), lease.owner, ms(lease.until)],
                |r| r.get(0),
            )?)
    }

    async fn listing_hold(&mut self, id: RunId) -> Result<Option<ListingHold>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT outcome = 'running' AND listing_done = 0, owner, lease_until FROM runs WHERE id = ?1",
            )?
            .query_row([id], |r| {
                Ok(ListingHold { listing_open: r.get(0)?, owner: r.get(1)?, lease_until: opt_from_ms(r.get(2)?) })
            })
            .optional()?)
    }

    async fn extend_lease(&mut self, id: RunId, lease: &RunLease) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(&format!("UPDATE runs SET lease_until = ?3 WHERE {HELD}"))?
            .execute(params![id, lease.owner, ms(lease.until)])?;
        Ok(n == 1)
    }

    async fn put_checkpoint(&mut self, id: RunId, owner: &str, checkpoint: &ListingCheckpoint) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(&format!("UPDATE runs SET checkpoint = ?3 WHERE {HELD}"))?
            .execute(params![id, owner, to_json(checkpoint)])?;
        Ok(n == 1)
    }

    async fn take_over_listing(
        &mut self,
        id: RunId,
        from_owner: Option<&str>,
        seen_until: Option<DateTime<Utc>>,
        lease: &RunLease,
        at: DateTime<Utc>,
        note: &str,
    ) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(&format!(
                "UPDATE runs SET owner = ?3, lease_until = ?4, resumed_at = ?5, resumes = resumes + 1,
                    resume_note = ?6
                 WHERE {HELD} AND lease_until IS ?7"
            ))?
            .execute(params![id, from_owner, lease.owner, ms(lease.until), ms(at), note, seen_until.map(ms)])?;
        Ok(n == 1)
    }

    async fn put_resume_note(&mut self, id: RunId, owner: &str, note: &str) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(&format!("UPDATE runs SET resume_note = ?3 WHERE {HELD}"))?
            .execute(params![id, owner, note])?;
        Ok(n == 1)
    }
}
