//! The seam between what the store decides and where it keeps it: what a
//! database backend implements.
//!
//! A backend implements single database operations and reads, nothing
//! else: each method of a `…Tx` trait is one statement or one small query
//! inside a transaction and decides nothing; each method of a `…Reads`
//! trait is a read in one snapshot. Every multi-step write (a refresh
//! commit, the queue's lifecycle, a run's end) is written once in
//! [`crate::ops`], generic over [`Tx`], and every rule it applies comes from
//! `amsync_core`. [`crate::layered::Layered`] puts the two together into the
//! capability traits the rest of amsync uses (`Arc<dyn Store>`). River
//! writes its job lifecycle once above its drivers in the same way.
//!
//! ```text
//!   sync, web, cli ──► dyn Store (api.rs … listing_api.rs)
//!                          │
//!                      Layered<B>   writes: backend.write(op from ops/)
//!                          │        reads:  B's …Reads
//!            ┌─────────────┴─────────────┐
//!        ops/ (generic over T: Tx)    amsync_core (pure rules)
//!            │
//!   Backend::write(op) ── runs op.run(&mut tx) atomically
//!            │
//!   sqlite/: SqliteBackend + SqliteTx     postgres/: PgBackend + PgTx
//! ```
//!
//! **The contract a backend keeps:**
//! - [`Backend::write`] runs an op atomically: all its single operations
//!   commit together or none does, and the op sees its own writes. It may
//!   run the op more than once (after a rollback: a group commit run again
//!   with savepoints); an op is deterministic in the state it starts from.
//! - Writes are serialised so that the change feed's sequence is commit
//!   order (see [`FeedTx::append_to_feed`]).
//! - Caches are the backend's own business, hidden behind `…Tx` methods
//!   (a registered group, a community written with the same attributes, the
//!   thresholds' baselines): `ops/` never sees a cache. A cache must not
//!   outlive a rolled-back write.
//! - A backend logs its own concerns only (checkpoints, busy, migrations);
//!   business events are logged in `ops/` with the decision.
//!
//! Every write of the store is an op of `ops/` (phase 2 of the seam moved
//! the last whole operations out of the SQLite backend): a new backend
//! implements the `…Tx` and `…Reads` traits and its migrations, nothing
//! else. A new write is a new op; a statement it needs is a new `…Tx`
//! method, never a whole operation in a backend.

mod access;
mod audit;
mod auth;
mod communities;
mod data_protection;
mod events;
mod feed;
mod groups;
mod held;
mod listing;
mod members;
mod queue;
mod runs;
mod safety;
mod settings;
mod sync_state;

use std::future::Future;

pub use access::*;
pub use audit::*;
pub use auth::*;
pub use communities::*;
pub use data_protection::*;
pub use events::*;
pub use feed::*;
pub use groups::*;
pub use held::*;
pub use listing::*;
pub use members::*;
pub use queue::*;
pub use runs::*;
pub use safety::*;
pub use settings::*;
pub use sync_state::*;

use crate::error::Result;

/// Every single operation of every aspect, inside one transaction: what
/// `ops/` is generic over.
pub trait Tx:
    QueueTx
    + MemberTx
    + FeedTx
    + RunTx
    + SafetyTx
    + HeldTx
    + AuthTx
    + AccessTx
    + GroupTx
    + CommunityTx
    + SettingsTx
    + EraseTx
    + EventTx
    + SyncStateTx
    + AuditTx
    + ListingTx
{
}

impl<T> Tx for T where
    T: QueueTx
        + MemberTx
        + FeedTx
        + RunTx
        + SafetyTx
        + HeldTx
        + AuthTx
        + AccessTx
        + GroupTx
        + CommunityTx
        + SettingsTx
        + EraseTx
        + EventTx
        + SyncStateTx
        + AuditTx
        + ListingTx
{
}

/// A multi-step write a backend runs atomically (see the module doc).
///
/// `run` may be called more than once on the same value: a group commit
/// that is rolled back runs its ops again. So `run` takes `&mut self`, not
/// `self`, and must be deterministic in the database state it starts from.
/// What the op owns is dropped by the caller once the write has answered,
/// not by the backend's writer.
pub trait WriteOp: Send + 'static {
    type Output: Send + 'static;

    fn run<T: Tx>(&mut self, tx: &mut T) -> impl Future<Output = Result<Self::Output>> + Send;
}

/// A database backend: single operations inside [`Backend::write`], and
/// reads.
pub trait Backend:
    Send
    + Sync
    + 'static
    + QueueReads
    + MemberReads
    + FeedReads
    + RunReads
    + SafetyReads
    + HeldReads
    + AuthReads
    + AccessReads
    + GroupReads
    + CommunityReads
    + SettingsReads
    + DataReads
    + EventReads
    + SyncStateReads
    + AuditReads
    + ListingReads
{
    /// Runs `op` atomically: in its own transaction, or as one operation
    /// of a group commit (a savepoint when the group has to run again), and
    /// answers once it has committed.
    fn write<O: WriteOp>(&self, op: O) -> impl Future<Output = Result<O::Output>> + Send;
}
