//! A member's erase and its tombstone in PostgreSQL: single operations, as
//! `sqlite/erase.rs` (whose module doc says what goes and what stays). PostgreSQL's deleted
//! row versions are reclaimed by vacuum, not overwritten at once as
//! SQLite's `secure_delete` does: see ARCHITECTURE.md. The erase itself
//! is `ops/erase.rs`; here are its deletes (`EraseTx`), the tombstone
//! reads, and the pruning's batches (`retention.rs`).

use chrono::{DateTime, Utc};

use super::codec::{self, get, ts};
use super::{retention, PgTx};
use crate::backend::{EraseTx, MemberDataDeleted, Prunable};
use crate::data_protection::Tombstone;
use crate::error::Result;
use crate::safety_api::ApprovalId;
use crate::types::RunId;

pub(crate) async fn tombstone(tx: &mut PgTx, key: &str) -> Result<Option<Tombstone>> {
    let row = tx
        .query_opt("SELECT member_key, erased_at, actor, reason FROM tombstones WHERE member_key = $1", &[&key])
        .await?;
    row.map(|r| {
        Ok(Tombstone {
            key: codec::key("tombstone", get(&r, 0)?)?,
            erased_at: get(&r, 1)?,
            actor: get(&r, 2)?,
            reason: get(&r, 3)?,
        })
    })
    .transpose()
}

pub(crate) async fn list(tx: &mut PgTx, limit: usize, after: &str) -> Result<Vec<Tombstone>> {
    let rows = tx
        .query(
            "SELECT member_key, erased_at, actor, reason FROM tombstones WHERE member_key > $1
             ORDER BY member_key LIMIT $2",
            &[&after, &(limit as i64)],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Tombstone {
                key: codec::key("tombstone", get(r, 0)?)?,
                erased_at: get(r, 1)?,
                actor: get(r, 2)?,
                reason: get(r, 3)?,
            })
        })
        .collect()
}

async fn delete(tx: &mut PgTx, sql: &str, key: &str) -> Result<u64> {
    tx.exec(sql, &[&key]).await
}

impl EraseTx for PgTx {
    async fn is_tombstoned(&mut self, key: &str) -> Result<bool> {
        let row = self.query_one("SELECT EXISTS (SELECT 1 FROM tombstones WHERE member_key = $1)", &[&key]).await?;
        get(&row, 0)
    }

    async fn tombstone_of(&mut self, key: &str) -> Result<Option<Tombstone>> {
        tombstone(self, key).await
    }

    async fn insert_tombstone(
        &mut self,
        key: &str,
        actor: &str,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let inserted = self
            .exec(
                "INSERT INTO tombstones (member_key, erased_at, actor, reason) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (member_key) DO NOTHING",
                &[&key, &ts(at), &actor, &reason],
            )
            .await?;
        Ok(inserted > 0)
    }

    async fn delete_tombstone(&mut self, key: &str) -> Result<bool> {
        Ok(delete(self, "DELETE FROM tombstones WHERE member_key = $1", key).await? > 0)
    }

    async fn delete_member_row(&mut self, key: &str) -> Result<u64> {
        delete(self, "DELETE FROM members WHERE key = $1", key).await
    }

    async fn delete_feed_history(&mut self, key: &str) -> Result<u64> {
        // Never the newest entry (see the trait): PostgreSQL's sequence
        // never hands a number out twice, but the site may not have read
        // it, so it is kept as on SQLite.
        let below: i64 = get(&self.query_one("SELECT COALESCE(MAX(seq), 0)::bigint FROM change_feed", &[]).await?, 0)?;
        self.exec("DELETE FROM change_feed WHERE member_key = $1 AND seq < $2 AND kind <> 'erased'", &[&key, &below])
            .await
    }

    async fn delete_member_data(&mut self, key: &str) -> Result<MemberDataDeleted> {
        Ok(MemberDataDeleted {
            memberships: delete(self, "DELETE FROM memberships WHERE member_key = $1", key).await?,
            groups: delete(self, "DELETE FROM member_ams_groups WHERE member_key = $1", key).await?
                + delete(self, "DELETE FROM member_local_groups WHERE member_key = $1", key).await?,
            payloads: delete(self, "DELETE FROM member_payloads WHERE member_key = $1", key).await?,
            history: delete(self, "DELETE FROM member_history WHERE member_key = $1", key).await?,
            refresh: delete(self, "DELETE FROM member_refresh WHERE member_key = $1", key).await?,
            sessions: delete(self, "DELETE FROM sessions WHERE member = $1", key).await?,
            mobile_tokens: delete(self, "DELETE FROM mobile_tokens WHERE member = $1", key).await?,
            // The counts stay (an erase must not loosen the window); the key goes.
            threshold_ledger: delete(self, "UPDATE threshold_ledger SET member_key = NULL WHERE member_key = $1", key)
                .await?,
        })
    }

    async fn delete_queue_entries(&mut self, key: &str) -> Result<Vec<Option<RunId>>> {
        let rows = self.query("DELETE FROM refresh_queue WHERE member_key = $1 RETURNING run_id", &[&key]).await?;
        rows.iter().map(|r| get(r, 0)).collect()
    }

    async fn delete_held_changes(&mut self, key: &str) -> Result<Vec<ApprovalId>> {
        let rows = self.query("DELETE FROM held_changes WHERE member_key = $1 RETURNING approval_id", &[&key]).await?;
        rows.iter().map(|r| get(r, 0)).collect()
    }

    async fn forget_deleted_after_commit(&mut self) -> Result<()> {
        // Nothing a transaction can ask: PostgreSQL's deleted row versions
        // stay in the table's pages until (auto)vacuum reclaims them, and
        // VACUUM cannot run inside a transaction (ARCHITECTURE.md, store:
        // erasure on PostgreSQL).
        Ok(())
    }

    async fn prune_batch(&mut self, what: Prunable, cutoff: DateTime<Utc>, limit: usize) -> Result<u64> {
        retention::prune_batch(self, what, ts(cutoff), limit).await
    }

    async fn disabled_members_unchanged_since(&mut self, cutoff: DateTime<Utc>, limit: usize) -> Result<Vec<String>> {
        retention::disabled_members(self, ts(cutoff), limit).await
    }
}
