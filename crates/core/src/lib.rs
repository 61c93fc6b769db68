//! The pure domain core of amsync.
//!
//! Everything here is plain data and pure functions: members and their
//! details, communities and memberships, security groups, community rules,
//! access decisions, field-level diffs, the Refresh Queue's scheduling rules
//! (and its dead-letter decision), how a run ends, and the watermark rules;
//! and [`secret::SecretCell`], the shared slot of a secret that a SIGHUP
//! reload replaces (a lock, no I/O).
//!
//! **Architecture invariant:** this crate does no I/O. It depends on no async
//! runtime, no database driver and no HTTP client; time comes in as an
//! argument (`now`, `day`), never from the system clock. That is what makes
//! the rules table-testable and the access decisions fast.

pub mod access;
pub mod community;
pub mod diff;
pub mod error;
pub mod event;
pub mod group;
pub mod hash;
pub mod keys;
pub mod log_text;
pub mod member;
pub mod payload;
pub mod queue;
pub mod record;
pub mod rules;
pub mod run;
pub mod safety;
pub mod secret;
pub mod session;
pub mod trigger;
pub mod watermark;

pub use access::{decide, AccessPolicy, Decision, Principal, Resource};
pub use community::{Community, Membership};
pub use error::DataError;
pub use event::{Event, EventStatus};
pub use group::{GroupSource, SecurityGroupRef};
pub use keys::{CommunityKey, EventKey, GroupKey, KeyError, MemberKey};
pub use log_text::escaped;
pub use member::{Address, AmsStatus, Demographic, MemberDetails, Phone, SocialLink};
pub use payload::{Failure, FailureKind, PayloadFormat, RawPayload};
pub use record::MemberRecord;
pub use trigger::Trigger;
