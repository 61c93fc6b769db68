//! Embedded schema migrations, tracked in `schema_migrations`.
//!
//! Migrations are applied in one `BEGIN IMMEDIATE` transaction, so two
//! processes starting at once serialize on SQLite's write lock and the
//! second finds nothing left to do. A database carrying a version this
//! binary does not know is refused ([`StoreError::SchemaTooNew`]).

use chrono::Utc;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::error::{Result, StoreError};

/// One embedded migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    sql: &'static str,
}

/// Every migration this binary knows, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "initial", sql: include_str!("../../migrations/0001_initial.sql") },
    Migration { version: 2, name: "access", sql: include_str!("../../migrations/0002_access.sql") },
    Migration { version: 3, name: "auth", sql: include_str!("../../migrations/0003_auth.sql") },
    Migration { version: 4, name: "audit", sql: include_str!("../../migrations/0004_audit.sql") },
    Migration { version: 5, name: "safety", sql: include_str!("../../migrations/0005_safety.sql") },
    Migration { version: 6, name: "data_protection", sql: include_str!("../../migrations/0006_data_protection.sql") },
    Migration {
        version: 7,
        name: "claim_in_key_order",
        sql: include_str!("../../migrations/0007_claim_in_key_order.sql"),
    },
    Migration {
        version: 8,
        name: "queue_state_index_off_the_hot_path",
        sql: include_str!("../../migrations/0008_queue_state_index_off_the_hot_path.sql"),
    },
    Migration {
        version: 9,
        name: "run_listing_lease",
        sql: include_str!("../../migrations/0009_run_listing_lease.sql"),
    },
    Migration {
        version: 10,
        name: "node_task_restarts",
        sql: include_str!("../../migrations/0010_node_task_restarts.sql"),
    },
    Migration {
        version: 11,
        name: "ledger_by_admin_and_erase_indexes",
        sql: include_str!("../../migrations/0011_ledger_by_admin_and_erase_indexes.sql"),
    },
    Migration {
        version: 12,
        name: "payload_media_types",
        sql: include_str!("../../migrations/0012_payload_media_types.sql"),
    },
];

/// The newest schema version this binary knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Backend-neutral, so it lives beside the store handle.
pub use crate::handle::SchemaStatus;

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at INTEGER NOT NULL
)";

fn applied_versions(conn: &Connection) -> Result<Vec<i64>> {
    let exists: Option<i64> = conn
        .query_row("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'", [], |r| r.get(0))
        .optional()?;
    if exists.is_none() {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare("SELECT version FROM schema_migrations ORDER BY version")?;
    let rows = stmt.query_map([], |r| r.get::<_, i64>(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<i64>>>()?)
}

/// Reads the schema status without changing anything.
pub fn status(conn: &Connection) -> Result<SchemaStatus> {
    let applied = applied_versions(conn)?;
    let current = applied.iter().copied().max().unwrap_or(0);
    let pending = MIGRATIONS.iter().map(|m| m.version).filter(|v| !applied.contains(v)).collect();
    Ok(SchemaStatus { current, latest: latest_version(), pending })
}

/// Applies every pending migration; returns the versions applied.
pub fn apply(conn: &mut Connection) -> Result<Vec<i64>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(CREATE_TABLE)?;
    let st = status(&tx)?;
    if st.current > st.latest {
        return Err(StoreError::SchemaTooNew { found: st.current, known: st.latest });
    }
    let mut done = Vec::new();
    for m in MIGRATIONS.iter().filter(|m| st.pending.contains(&m.version)) {
        tx.execute_batch(m.sql).map_err(|e| StoreError::Migration { version: m.version, reason: e.to_string() })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            rusqlite::params![m.version, m.name, Utc::now().timestamp_millis()],
        )?;
        tracing::info!(version = m.version, name = m.name, "applied a database migration");
        done.push(m.version);
    }
    tx.commit()?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_once_and_reports_current() {
        let mut conn = Connection::open_in_memory().unwrap();
        let all: Vec<i64> = MIGRATIONS.iter().map(|m| m.version).collect();
        assert!(all.windows(2).all(|w| w[0] < w[1]), "versions increase");
        assert_eq!(status(&conn).unwrap().pending, all);
        assert_eq!(apply(&mut conn).unwrap(), all);
        assert!(apply(&mut conn).unwrap().is_empty());
        let st = status(&conn).unwrap();
        assert!(st.is_current());
        st.check().unwrap();
    }

    #[test]
    fn runs_an_older_version_left_running_are_orphaned_at_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(CREATE_TABLE).unwrap();
        for m in MIGRATIONS.iter().filter(|m| m.version < 9) {
            conn.execute_batch(m.sql).unwrap();
            conn.execute("INSERT INTO schema_migrations VALUES (?1, ?2, 0)", rusqlite::params![m.version, m.name])
                .unwrap();
        }
        conn.execute_batch(
            "INSERT INTO runs (id, kind, started_at, outcome, params) VALUES (1, 'full', 1000, 'running', '{}');
             INSERT INTO runs (id, kind, started_at, outcome, params, listing_done) VALUES (2, 'full', 2000, 'running', '{}', 1);
             INSERT INTO runs (id, kind, started_at, outcome, params, listing_done) VALUES (3, 'full', 3000, 'succeeded', '{}', 1);",
        )
        .unwrap();
        apply(&mut conn).unwrap();
        let leases: Vec<Option<i64>> = conn
            .prepare("SELECT lease_until FROM runs ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(leases, vec![Some(1000), None, None], "only a listing left running is anybody's to adopt");
    }

    /// Answers stored by earlier versions keep reading: their `json` and
    /// `xml` become media types, bodies and times stay as they were.
    #[test]
    fn stored_payloads_name_their_media_type_after_migration_12() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(CREATE_TABLE).unwrap();
        for m in MIGRATIONS.iter().filter(|m| m.version < 12) {
            conn.execute_batch(m.sql).unwrap();
            conn.execute("INSERT INTO schema_migrations VALUES (?1, ?2, 0)", rusqlite::params![m.version, m.name])
                .unwrap();
        }
        conn.execute_batch(
            "INSERT INTO member_payloads VALUES ('M1', 1, 2, 3, 'json', 'json', 'json', X'7B7D', X'5B5D', NULL);
             INSERT INTO member_payloads VALUES ('M2', 4, NULL, 6, 'xml', NULL, 'xml', X'3C612F3E', NULL, X'3C622F3E');
             INSERT INTO member_payloads VALUES ('M3', 7, 8, 9, 'application/soap+xml', 'xml', 'text/x-sql-row+json', X'00', X'01', X'02');",
        )
        .unwrap();
        assert_eq!(apply(&mut conn).unwrap(), vec![12]);
        type Row = (String, Option<i64>, Option<String>, Option<String>, Option<String>, Option<Vec<u8>>);
        let rows: Vec<Row> = conn
            .prepare(
                "SELECT member_key, communities_at, details_encoding, communities_encoding, groups_encoding, details
                 FROM member_payloads ORDER BY member_key",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let text = |s: &str| Some(s.to_string());
        assert_eq!(
            rows,
            vec![
                (
                    "M1".into(),
                    Some(2),
                    text("application/json"),
                    text("application/json"),
                    text("application/json"),
                    Some(b"{}".to_vec())
                ),
                ("M2".into(), None, text("application/xml"), None, text("application/xml"), Some(b"<a/>".to_vec())),
                (
                    "M3".into(),
                    Some(8),
                    text("application/soap+xml"),
                    text("application/xml"),
                    text("text/x-sql-row+json"),
                    Some(vec![0])
                ),
            ]
        );
    }

    #[test]
    fn refuses_a_newer_schema() {
        let mut conn = Connection::open_in_memory().unwrap();
        apply(&mut conn).unwrap();
        conn.execute("INSERT INTO schema_migrations VALUES (999, 'future', 0)", []).unwrap();
        assert!(matches!(status(&conn).unwrap().check(), Err(StoreError::SchemaTooNew { found: 999, .. })));
        assert!(matches!(apply(&mut conn), Err(StoreError::SchemaTooNew { .. })));
    }
}
