//! Samples of active members for the engine's control calls and probes,
//! in PostgreSQL (an admin's disable and enable is `ops/admin_status.rs`).

use amsync_core::MemberKey;

use super::codec::{self, get};
use super::PgTx;
use crate::error::Result;

/// Up to `n` active members from a point `seed` picks in key order.
pub(crate) async fn sample_active_members(tx: &mut PgTx, n: usize, seed: u64) -> Result<Vec<MemberKey>> {
    let total: i64 = get(&tx.query_one("SELECT COUNT(*) FROM members WHERE status = 'active'", &[]).await?, 0)?;
    if total == 0 || n == 0 {
        return Ok(Vec::new());
    }
    let start = (seed % total as u64) as i64;
    let mut rows = tx
        .query(
            "SELECT key FROM members WHERE status = 'active' ORDER BY key OFFSET $1 LIMIT $2",
            &[&start, &(n as i64)],
        )
        .await?;
    if rows.len() < n {
        let more = (n - rows.len()).min(start as usize) as i64;
        rows.extend(tx.query("SELECT key FROM members WHERE status = 'active' ORDER BY key LIMIT $1", &[&more]).await?);
    }
    rows.iter().map(|r| codec::key("member", get(r, 0)?)).collect()
}
