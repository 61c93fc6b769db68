//! Errors of the store.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(String),
    #[error("migration {version} failed: {reason}")]
    Migration { version: i64, reason: String },
    #[error("the database schema is version {found}, newer than this binary knows ({known}); upgrade amsync")]
    SchemaTooNew { found: i64, known: i64 },
    #[error("the database has {pending} pending migration(s) and auto_migrate is off; run `amsync migrate`")]
    MigrationsPending { pending: i64 },
    #[error("{0} not found")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("the store is shut down")]
    Closed,
    /// A kind of database this version has no backend for (the message
    /// says which, and what to use instead).
    #[error("{0}")]
    Unavailable(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
