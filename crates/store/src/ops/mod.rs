//! The store's multi-step writes, written once for every backend: each is
//! generic over [`Tx`](crate::backend::Tx) (the single operations a backend
//! implements) and takes its rules from `amsync_core`. A backend runs them
//! with [`Backend::write`](crate::backend::Backend::write).
//!
//! **Architecture invariant:** nothing here knows a database: no driver
//! crate, no SQL, no cache; `seam_tests.rs` reads the sources
//! of this folder and fails on a driver's name.
//!
//! - `refresh.rs`: committing one Member Refresh (fence, tombstone, the
//!   threshold screen, apply, history, change feed, revocation on disable,
//!   bookkeeping, the queue entry's fate, run counts);
//! - `safety.rs`: screening a plan against the thresholds, the ledger and
//!   the holds;
//! - `queue.rs`: the Refresh Queue's lifecycle (enqueue, claim, renew,
//!   rescue, release, requeue, settle, retry, bury, give back);
//! - `runs.rs`: starting and ending runs (a run ends when its listing is
//!   over and its last entry settles: `maybe_finish`);
//! - `listing.rs`: owned runs (lease, checkpoint, adoption);
//! - `groups.rs`: designations, local groups and their members;
//! - `access.rs`: content items;
//! - `auth.rs`: sign-in, sessions, tokens;
//! - `events.rs`, `sync_state.rs`, `audit.rs`: one write each, or a few.

pub(crate) mod access;
pub(crate) mod audit;
pub(crate) mod auth;
pub(crate) mod events;
pub(crate) mod groups;
pub(crate) mod listing;
pub(crate) mod queue;
pub(crate) mod refresh;
pub(crate) mod runs;
pub(crate) mod safety;
pub(crate) mod sync_state;
