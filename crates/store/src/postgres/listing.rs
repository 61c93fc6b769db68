//! Owned runs in PostgreSQL: the listing's lease, its checkpoint and the
//! adoption of a run whose owner died (see [`crate::listing_api`]): single
//! operations (`ListingTx`) and reads, as `sqlite/listing.rs`; the
//! decisions are `ops/listing.rs`. Every write is conditional on the owner;
//! a take-over is one compare-and-set `UPDATE`, so of several nodes
//! exactly one wins.

use amsync_core::{MemberKey, Trigger};
use chrono::{DateTime, Utc};

use super::codec::{self, from_json, get, opt_ts, to_json, ts};
use super::runs::get_run;
use super::{PgBackend, PgTx};
use crate::backend::{ListingHold, ListingReads, ListingTx};
use crate::error::Result;
use crate::listing_api::{ListingCheckpoint, OrphanedRun, RunLease};
use crate::types::RunId;

/// Whether owner `$2` holds the listing of run `$1`.
const HELD: &str = "id = $1 AND owner IS NOT DISTINCT FROM $2 AND outcome = 'running' AND NOT listing_done";

impl ListingReads for PgBackend {
    async fn orphaned_runs(&self, now: DateTime<Utc>) -> Result<Vec<OrphanedRun>> {
        let mut tx = self.snapshot().await?;
        let found = tx
            .query(
                "SELECT id, checkpoint::text FROM runs
                 WHERE outcome = 'running' AND NOT listing_done AND lease_until < $1 ORDER BY id",
                &[&ts(now)],
            )
            .await?;
        let mut out = Vec::with_capacity(found.len());
        for r in &found {
            let Some(run) = get_run(&mut tx, get(r, 0)?).await? else { continue };
            let checkpoint: Option<String> = get(r, 1)?;
            let checkpoint = checkpoint.map(|text| from_json("listing checkpoint", &text)).transpose()?;
            out.push(OrphanedRun { run, checkpoint });
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn active_keys_not_refreshed_since(&self, since: DateTime<Utc>) -> Result<Vec<MemberKey>> {
        let mut tx = self.autocommit().await?;
        let rows = tx
            .query(
                "SELECT m.key FROM members m LEFT JOIN member_refresh r ON r.member_key = m.key
                 WHERE m.status = 'active' AND (r.last_refreshed_at IS NULL OR r.last_refreshed_at < $1)
                 ORDER BY m.key",
                &[&ts(since)],
            )
            .await?;
        rows.iter().map(|r| codec::key("member", get(r, 0)?)).collect()
    }
}

impl ListingTx for PgTx {
    async fn insert_owned_run(
        &mut self,
        kind: Trigger,
        at: DateTime<Utc>,
        watermark_before: Option<DateTime<Utc>>,
        params: &serde_json::Value,
        lease: &RunLease,
    ) -> Result<RunId> {
        let row = self
            .query_one(
                "INSERT INTO runs (kind, started_at, outcome, watermark_before, params, owner, lease_until)
                 VALUES ($1, $2, 'running', $3, $4::text::jsonb, $5, $6) RETURNING id",
                &[&kind.as_str(), &ts(at), &opt_ts(watermark_before), &to_json(params), &lease.owner, &ts(lease.until)],
            )
            .await?;
        get(&row, 0)
    }

    async fn listing_hold(&mut self, id: RunId) -> Result<Option<ListingHold>> {
        let row = self
            .query_opt(
                "SELECT outcome = 'running' AND NOT listing_done, owner, lease_until FROM runs WHERE id = $1",
                &[&id],
            )
            .await?;
        row.map(|r| Ok(ListingHold { listing_open: get(&r, 0)?, owner: get(&r, 1)?, lease_until: get(&r, 2)? }))
            .transpose()
    }

    async fn extend_lease(&mut self, id: RunId, lease: &RunLease) -> Result<bool> {
        let n = self
            .exec(&format!("UPDATE runs SET lease_until = $3 WHERE {HELD}"), &[&id, &lease.owner, &ts(lease.until)])
            .await?;
        Ok(n == 1)
    }

    async fn put_checkpoint(&mut self, id: RunId, owner: &str, checkpoint: &ListingCheckpoint) -> Result<bool> {
        let n = self
            .exec(
                &format!("UPDATE runs SET checkpoint = $3::text::jsonb WHERE {HELD}"),
                &[&id, &owner, &to_json(checkpoint)],
            )
            .await?;
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
        // A compare-and-set on the lease the adopter saw: of several nodes
        // adopting at once exactly one wins.
        let n = self
            .exec(
                &format!(
                    "UPDATE runs SET owner = $3, lease_until = $4, resumed_at = $5, resumes = resumes + 1,
                        resume_note = $6
                     WHERE {HELD} AND lease_until IS NOT DISTINCT FROM $7"
                ),
                &[&id, &from_owner, &lease.owner, &ts(lease.until), &ts(at), &note, &opt_ts(seen_until)],
            )
            .await?;
        Ok(n == 1)
    }

    async fn put_resume_note(&mut self, id: RunId, owner: &str, note: &str) -> Result<bool> {
        let n = self.exec(&format!("UPDATE runs SET resume_note = $3 WHERE {HELD}"), &[&id, &owner, &note]).await?;
        Ok(n == 1)
    }
}
