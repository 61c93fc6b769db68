//! What the simulated AMS holds about a member, as tests compare it with
//! what amsync stored (`GET /_sim/members/{key}`, `GET /_sim/truth`).

use amsync_core::{MemberDetails, Membership, SecurityGroupRef};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberTruth {
    pub key: String,
    /// The AMS no longer has the record (deleted, or merged into another).
    pub deleted: bool,
    /// Set when the record was merged into another one.
    pub merged_into: Option<String>,
    pub changed_at: DateTime<Utc>,
    /// Bumped by every change.
    pub version: u32,
    /// GetMemberDetails as the contract shapes it (the last data for a
    /// deleted record).
    pub details: MemberDetails,
    /// GetMemberCommunities' `memberships`.
    pub memberships: Vec<Membership>,
    /// GetMemberSecurityGroups' `groups`.
    pub groups: Vec<SecurityGroupRef>,
}
