//! Access decisions (product.md jobs 5-7): who may see a community's
//! discussion, library and microsite, a content item, an event; and why, in a
//! sentence an admin understands.
//!
//! - [`Resource`] is what is asked about, parsed from `kind:ID`;
//! - [`Principal`] is who asks: a signed-out visitor, or a member built from
//!   its record and the "counts as IsMember" designations;
//! - [`AccessPolicy`] is the site's configuration (known communities, grants,
//!   content items, events);
//! - [`decide`] applies the rules for a given day and returns a [`Decision`]
//!   whose [`Reason`] is written only when asked for.
//!
//! Pure and fast: membership terms are computed for the `day` passed in,
//! never stored, so a membership that begins tomorrow grants access tomorrow
//! without any refresh; and a decision allocates nothing.

pub mod bench;
mod decide;
mod groups;
mod policy;
mod principal;
mod reason;
mod resource;
mod summary;

pub use decide::{answer, decide};
pub use groups::GroupSet;
pub use policy::{AccessPolicy, AccessPolicyBuilder, EventAccess};
pub use principal::{MemberPrincipal, Principal};
pub use reason::{AccessAnswer, Decision, EventNote, Reason, Subject, Why};
pub use resource::{ContentId, Resource, ResourceError, ResourceKind};
pub use summary::{access_summary, explain_is_member, CommunityTerm};

// A policy is built once and shared by every request's decisions, and a
// principal may live in a session cache: both must cross threads.
const _: fn() = || {
    fn shared<T: Send + Sync>() {}
    shared::<AccessPolicy>();
    shared::<Principal>();
};
