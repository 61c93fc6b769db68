//! The store's multi-step writes, written once for every backend: each is
//! generic over [`Tx`](crate::backend::Tx) (the single operations a backend
//! implements) and takes its rules from `amsync_core`. A backend runs them
//! with [`Backend::write`](crate::backend::Backend::write).
//!
//! **Architecture invariant:** nothing here knows a database: no driver
//! crate, no SQL, no cache; `seam_tests.rs` reads the sources
//! of this folder and fails on a driver's name.
//!
//! - `access.rs`: content items;
//! - `admin_status.rs`: an admin's disable or enable of a member;
//! - `auth.rs`: sign-in, sessions, tokens;
//! - `communities.rs`: the groups granted a community;
//! - `erase.rs`: erasing a member (every row about it, the tombstone);
//! - `groups.rs`: designations, local groups and their members;
//! - `held.rs`: an admin's decision on an approval (applying re-validates
//!   each held change), holding a rule change past the threshold;
//! - `listing.rs`: owned runs (lease, checkpoint, adoption);
//! - `queue.rs`: the Refresh Queue's lifecycle (enqueue, claim, renew,
//!   rescue, release, requeue, settle, retry, bury, give back);
//! - `reapply.rs`: re-applying the community rules in batches, and its dry
//!   run;
//! - `refresh.rs`: committing one Member Refresh (fence, tombstone, the
//!   threshold screen, apply, history, change feed, revocation on disable,
//!   bookkeeping, the queue entry's fate, run counts);
//! - `retention.rs`: pruning by age, in bounded batches;
//! - `runs.rs`: starting and ending runs (a run ends when its listing is
//!   over and its last entry settles: `maybe_finish`);
//! - `safety.rs`: screening a plan against the thresholds, the ledger and
//!   the holds;
//! - `settings.rs`: seeding the settings, changing the community rules;
//! - `events.rs`, `sync_state.rs`, `audit.rs`: one write each, or a few.

pub(crate) mod access;
pub(crate) mod admin_status;
pub(crate) mod audit;
pub(crate) mod auth;
pub(crate) mod communities;
pub(crate) mod erase;
pub(crate) mod events;
pub(crate) mod groups;
pub(crate) mod held;
pub(crate) mod listing;
pub(crate) mod queue;
pub(crate) mod reapply;
pub(crate) mod refresh;
pub(crate) mod retention;
pub(crate) mod runs;
pub(crate) mod safety;
pub(crate) mod settings;
pub(crate) mod sync_state;
