//! Samples of active members for the engine's control calls and probes
//! (an admin's disable and enable is `ops/admin_status.rs`).

use amsync_core::MemberKey;
use rusqlite::{params, Connection};

use super::codec;
use crate::error::Result;

/// Up to `n` active members from a point `seed` picks in the table.
pub(crate) fn sample_active_members(conn: &Connection, n: usize, seed: u64) -> Result<Vec<MemberKey>> {
    let max: Option<i64> = conn.query_row("SELECT MAX(rowid) FROM members", [], |r| r.get(0))?;
    let Some(max) = max else { return Ok(Vec::new()) };
    let start = (seed % (max as u64 + 1)) as i64;
    let mut keys: Vec<String> = conn
        .prepare_cached("SELECT key FROM members WHERE rowid >= ?1 AND status = 'active' ORDER BY rowid LIMIT ?2")?
        .query_map(params![start, n as i64], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if keys.len() < n {
        let more: Vec<String> = conn
            .prepare_cached("SELECT key FROM members WHERE rowid < ?1 AND status = 'active' ORDER BY rowid LIMIT ?2")?
            .query_map(params![start, (n - keys.len()) as i64], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        keys.extend(more);
    }
    keys.into_iter().map(|k| codec::key("member", k)).collect()
}
