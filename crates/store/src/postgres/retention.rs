//! Pruning by age (`[retention]`) in PostgreSQL: one bounded batch of one
//! kind ([`Prunable`]) per call, in the caller's transaction, as
//! `sqlite/retention.rs` (whose module doc says what goes and how the
//! oldest rows are found). `ops/retention.rs` calls them again, each in a
//! new short transaction, until a batch comes back short.

use chrono::{DateTime, Utc};

use super::codec::get;
use super::PgTx;
use crate::backend::Prunable;
use crate::error::Result;

/// One batch of `what` (see [`crate::backend::EraseTx::prune_batch`]).
pub(crate) async fn prune_batch(tx: &mut PgTx, what: Prunable, cutoff: DateTime<Utc>, limit: usize) -> Result<u64> {
    let batch = limit as i64;
    match what {
        Prunable::History => prune_leading(tx, "member_history", "id", cutoff, batch, false).await,
        // The newest entry stays, whatever its age (a site may not have read it).
        Prunable::ChangeFeed => prune_leading(tx, "change_feed", "seq", cutoff, batch, true).await,
        // Finished runs only: a run still running has entries or a listing to end.
        Prunable::Runs => {
            tx.exec(
                "DELETE FROM runs WHERE id IN (SELECT id FROM runs
                   WHERE finished_at IS NOT NULL AND finished_at < $1 ORDER BY finished_at LIMIT $2)",
                &[&cutoff, &batch],
            )
            .await
        }
        Prunable::Approvals => approvals(tx, cutoff, batch).await,
        Prunable::Sessions { idle } => {
            let idle = chrono::Duration::from_std(idle).unwrap_or(chrono::Duration::MAX / 2);
            let idle_before = cutoff.checked_sub_signed(idle).unwrap_or(DateTime::<Utc>::MIN_UTC);
            tx.exec(
                "DELETE FROM sessions WHERE id_hash IN (SELECT id_hash FROM sessions
                   WHERE expires_at <= $1 OR last_seen_at < $2 LIMIT $3)",
                &[&cutoff, &idle_before, &batch],
            )
            .await
        }
        Prunable::MobileTokens => {
            tx.exec(
                "DELETE FROM mobile_tokens WHERE hash IN
                   (SELECT hash FROM mobile_tokens WHERE expires_at <= $1 LIMIT $2)",
                &[&cutoff, &batch],
            )
            .await
        }
        Prunable::UsedTokenIds => {
            tx.exec(
                "DELETE FROM sso_token_ids WHERE id IN (SELECT id FROM sso_token_ids WHERE expires_at <= $1 LIMIT $2)",
                &[&cutoff, &batch],
            )
            .await
        }
    }
}

/// Deletes the leading run of rows older than `cutoff` from a table whose
/// id grows with its time column; `keep_newest` spares the row with the
/// highest id.
async fn prune_leading(
    tx: &mut PgTx,
    table: &str,
    id: &str,
    cutoff: DateTime<Utc>,
    limit: i64,
    keep_newest: bool,
) -> Result<u64> {
    let rows = tx.query(&format!("SELECT {id}, at FROM {table} ORDER BY {id} LIMIT $1"), &[&limit]).await?;
    let mut last_old = None;
    for r in &rows {
        let at: DateTime<Utc> = get(r, 1)?;
        if at >= cutoff {
            break;
        }
        last_old = Some(get::<i64>(r, 0)?);
    }
    let Some(last_old) = last_old else { return Ok(0) };
    let bound = if keep_newest {
        let newest: i64 = get(&tx.query_one(&format!("SELECT MAX({id}) FROM {table}"), &[]).await?, 0)?;
        last_old.min(newest - 1)
    } else {
        last_old
    };
    tx.exec(&format!("DELETE FROM {table} WHERE {id} <= $1"), &[&bound]).await
}

/// Decided approvals (applied, dropped, or rejected with no rejection still
/// standing) decided before `cutoff`, with their held changes. A standing
/// rejection is what keeps the same change from being held again, so an
/// approval that has one stays, however old.
async fn approvals(tx: &mut PgTx, cutoff: DateTime<Utc>, limit: i64) -> Result<u64> {
    let ids: Vec<i64> = tx
        .query(
            "SELECT a.id FROM approvals a
              WHERE a.status IN ('applied', 'dropped', 'rejected') AND COALESCE(a.decided_at, a.updated_at) < $1
                AND NOT EXISTS (SELECT 1 FROM held_changes h
                                 WHERE h.approval_id = a.id AND h.status IN ('pending', 'rejected'))
              ORDER BY a.id LIMIT $2",
            &[&cutoff, &limit],
        )
        .await?
        .iter()
        .map(|r| get(r, 0))
        .collect::<Result<_>>()?;
    tx.exec("DELETE FROM held_changes WHERE approval_id = ANY($1)", &[&ids]).await?;
    tx.exec("DELETE FROM approvals WHERE id = ANY($1)", &[&ids]).await?;
    Ok(ids.len() as u64)
}

/// Keys of members disabled by their source (never by an admin) whose row
/// has not changed since `cutoff`, oldest first.
pub(crate) async fn disabled_members(tx: &mut PgTx, cutoff: DateTime<Utc>, limit: usize) -> Result<Vec<String>> {
    tx.query(
        "SELECT key FROM members WHERE status = 'disabled' AND updated_at < $1
           AND disabled_reason IS DISTINCT FROM 'admin' ORDER BY updated_at LIMIT $2",
        &[&cutoff, &(limit as i64)],
    )
    .await?
    .iter()
    .map(|r| get(r, 0))
    .collect()
}
