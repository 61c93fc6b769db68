//! [`PgTx`]: one pooled connection inside one serializable transaction,
//! implementing every `…Tx` trait of [`crate::backend`] (each aspect's file
//! of this folder has its impl).
//!
//! Statements are prepared once per connection (the pool's statement
//! cache). A failed statement whose SQLSTATE says the transaction lost a
//! race (serialization failure, deadlock) marks the transaction for
//! another run of its op ([`PgTx::must_retry`]); the op only sees the error.
//!
//! What a refresh plans with (the community rules, the built-in and local
//! groups' keys) is read once per transaction and kept only for it: a
//! cache across transactions would miss another node's change.

use std::collections::HashSet;

use amsync_core::rules::RuleSet;
use deadpool_postgres::Object;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::codec::{from_pg, is_retryable};
use crate::error::{Result, StoreError};
use crate::json::from_json;

/// A parameter list.
pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// What planning a refresh reads of the settings, once per transaction.
#[derive(Debug, Default)]
pub(crate) struct PlanCache {
    pub rules: RuleSet,
    pub local_folded: HashSet<String>,
}

pub(crate) struct PgTx {
    /// Taken only by `drop` (see there).
    client: Option<Object>,
    /// A statement failed because this transaction lost a race.
    retry: bool,
    /// Still open (neither committed nor rolled back).
    open: bool,
    pub(crate) plan: Option<PlanCache>,
}

impl PgTx {
    pub(crate) async fn begin(client: Object) -> Result<PgTx> {
        client.batch_execute("BEGIN ISOLATION LEVEL SERIALIZABLE").await.map_err(from_pg)?;
        Ok(PgTx { client: Some(client), retry: false, open: true, plan: None })
    }

    fn client(&self) -> &Object {
        self.client.as_ref().expect("the connection is held until drop")
    }

    /// A read in one snapshot (a consistent view across its queries).
    pub(crate) async fn snapshot(client: Object) -> Result<PgTx> {
        client.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await.map_err(from_pg)?;
        Ok(PgTx { client: Some(client), retry: false, open: true, plan: None })
    }

    /// Statements each in its own transaction (a read of one query).
    pub(crate) fn autocommit(client: Object) -> PgTx {
        PgTx { client: Some(client), retry: false, open: false, plan: None }
    }

    pub(crate) async fn commit(&mut self) -> Result<()> {
        if !self.open {
            return Ok(());
        }
        let r = self.client().batch_execute("COMMIT").await;
        // After COMMIT the transaction is over whatever it answered (a
        // failed commit rolled back).
        self.open = false;
        r.map_err(|e| self.note(e))
    }

    /// Rolls back; a connection that cannot even do that is closed by the
    /// pool when it comes back (its next check fails).
    pub(crate) async fn rollback(&mut self) {
        if self.open {
            if let Err(e) = self.client().batch_execute("ROLLBACK").await {
                tracing::warn!(error = %super::codec::describe(&e), "a PostgreSQL rollback failed");
                return;
            }
            self.open = false;
        }
    }

    /// Whether the op failed because its transaction lost a race, so
    /// running it again may succeed.
    pub(crate) fn must_retry(&self) -> bool {
        self.retry
    }

    fn note(&mut self, e: tokio_postgres::Error) -> StoreError {
        if is_retryable(&e) {
            self.retry = true;
        }
        from_pg(e)
    }

    async fn statement(&mut self, sql: &str) -> Result<tokio_postgres::Statement> {
        match self.client().prepare_cached(sql).await {
            Ok(s) => Ok(s),
            Err(e) => Err(self.note(e)),
        }
    }

    /// Runs a statement; returns the rows it changed.
    pub(crate) async fn exec(&mut self, sql: &str, params: Params<'_>) -> Result<u64> {
        let stmt = self.statement(sql).await?;
        let r = self.client().execute(&stmt, params).await;
        r.map_err(|e| self.note(e))
    }

    pub(crate) async fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>> {
        let stmt = self.statement(sql).await?;
        let r = self.client().query(&stmt, params).await;
        r.map_err(|e| self.note(e))
    }

    pub(crate) async fn query_opt(&mut self, sql: &str, params: Params<'_>) -> Result<Option<Row>> {
        let stmt = self.statement(sql).await?;
        let r = self.client().query_opt(&stmt, params).await;
        r.map_err(|e| self.note(e))
    }

    pub(crate) async fn query_one(&mut self, sql: &str, params: Params<'_>) -> Result<Row> {
        let stmt = self.statement(sql).await?;
        let r = self.client().query_one(&stmt, params).await;
        r.map_err(|e| self.note(e))
    }

    /// The settings a refresh plans with, read at the first call of this
    /// transaction.
    pub(crate) async fn plan_cache(&mut self) -> Result<&PlanCache> {
        if self.plan.is_none() {
            let rules = match self.query_opt("SELECT value FROM settings WHERE name = $1", &[&RULES_SETTING]).await? {
                Some(row) => from_json("community rules", &row.try_get::<_, String>(0).map_err(from_pg)?)?,
                None => RuleSet::default(),
            };
            let rows = self.query("SELECT key_folded FROM security_groups WHERE source <> 'ams'", &[]).await?;
            let local_folded =
                rows.iter().map(|r| r.try_get::<_, String>(0)).collect::<Result<_, _>>().map_err(from_pg)?;
            self.plan = Some(PlanCache { rules, local_folded });
        }
        Ok(self.plan.as_ref().expect("just loaded"))
    }
}

impl Drop for PgTx {
    fn drop(&mut self) {
        // An op's future dropped midway (its caller went away) leaves the
        // transaction open on a pooled connection: discard the connection
        // rather than hand it on inside a transaction.
        if let (true, Some(client)) = (self.open, self.client.take()) {
            drop(Object::take(client));
        }
    }
}

/// The setting that holds the community rules (as in SQLite's `settings`).
pub(crate) const RULES_SETTING: &str = "community_rules";
