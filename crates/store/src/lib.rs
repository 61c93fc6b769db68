//! Where amsync keeps what it knows: members and their history, communities,
//! security groups, events, the Refresh Queue, runs and watermarks.
//!
//! Small capability traits ([`QueueStore`], [`MemberStore`], [`RunStore`],
//! [`SyncStateStore`], [`EventStore`], [`SettingsStore`], [`AuditStore`],
//! [`AuthStore`], [`SafetyStore`], [`DataStore`], [`ListingStore`], and for
//! access [`CommunityStore`], [`GroupStore`], [`AccessStore`]) rather than
//! one god trait; [`Store`] is all of them together.
//!
//! **The seam.** [`Layered`] implements every capability trait once, over a
//! [`backend::Backend`]: the multi-step writes are written once in `ops/`
//! (generic over [`backend::Tx`], the single database operations a backend
//! implements) with their rules from `amsync_core`; the reads are the
//! backend's own. One backend per database kind: [`sqlite`]
//! ([`sqlite::SqliteStore`] is `Layered<SqliteBackend>`) and [`postgres`]
//! ([`postgres::PgStore`], not selectable by `database.url` yet), both
//! passing the same conformance suite (`tests/conformance/`). See
//! [`backend`] for the contract and the picture.
//!
//! Beyond the capability traits, [`handle`] is what a node does with its
//! database: [`database`] picks the backend by the URL's scheme and gives a
//! [`Database`] (status, migrate, backup, open), whose open store is a
//! [`StoreHandle`] (readiness, online backup, close).
//!
//! **Architecture invariants:**
//! - every member refresh is applied atomically: its own transaction, or a
//!   savepoint inside a group commit; a failure leaves the member as it was;
//! - a refresh commits only while its claim's fencing token still holds;
//! - unchanged data (equal content hashes) writes no member, child or
//!   history row; refresh bookkeeping lives in its own table;
//! - the decisions (what changed, what the new state is) come from
//!   `amsync_core::diff`; the store only persists them;
//! - `ops/` knows no database and a backend decides nothing `ops/` decides
//!   (`seam_tests.rs`).

pub mod access_api;
pub mod api;
pub mod audit;
pub mod auth_api;
pub mod backend;
pub mod data_protection;
pub mod error;
pub mod handle;
mod json;
pub mod layered;
pub mod listing_api;
mod member_pages;
mod ops;
pub mod postgres;
pub mod safety_api;
#[cfg(test)]
mod seam_tests;
pub mod sqlite;
pub mod types;

pub use access_api::*;
pub use api::*;
pub use audit::*;
pub use auth_api::*;
pub use data_protection::*;
pub use error::StoreError;
pub use handle::{database, is_postgres_url, Database, OpenOptions, SchemaStatus, StoreHandle};
pub use layered::Layered;
pub use listing_api::*;
pub use safety_api::*;
pub use types::*;
