//! Decisions and the sentences that explain them.
//!
//! A [`Decision`] borrows everything its reason names from the principal,
//! the resource and the policy, so deciding allocates nothing; the sentence
//! is only written when someone asks for it ([`fmt::Display`], or
//! [`Decision::to_answer`] for the API's `{"allowed", "reason"}`).

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::groups::GroupSet;
use super::resource::{ContentId, ResourceError};
use crate::keys::{CommunityKey, EventKey, GroupKey, MemberKey};

/// The outcome of an access decision.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision<'a> {
    pub allowed: bool,
    pub reason: Reason<'a>,
}

impl<'a> Decision<'a> {
    pub fn reason(&self) -> &Reason<'a> {
        &self.reason
    }

    /// The owned form the API serves.
    pub fn to_answer(&self) -> AccessAnswer {
        AccessAnswer { allowed: self.allowed, reason: self.reason.to_string() }
    }
}

/// Writes the reason.
impl fmt::Display for Decision<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.reason.fmt(f)
    }
}

/// The API's answer: `{"allowed": bool, "reason": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessAnswer {
    pub allowed: bool,
    pub reason: String,
}

/// Whom the decision was made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    /// Signed out.
    Visitor,
    /// An active member.
    Member(&'a MemberKey),
    /// A disabled member, decided as a signed-out visitor.
    Disabled(&'a MemberKey),
}

/// What a decision about an event says of the event itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventNote<'a> {
    pub event: &'a EventKey,
    /// Cancelled events stay visible as cancelled: the decision is the one a
    /// scheduled event would get, and the reason says it is cancelled.
    pub cancelled: bool,
    /// `None` for an open event.
    pub limited_to: Option<&'a CommunityKey>,
}

/// The rule that decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why<'a> {
    // Allowed.
    SuperAdmin,
    CurrentMember {
        community: &'a CommunityKey,
        end: Option<NaiveDate>,
        role: Option<&'a str>,
    },
    GroupGranted {
        group: &'a GroupKey,
        community: &'a CommunityKey,
    },
    ContentAllows {
        item: &'a ContentId,
        group: &'a GroupKey,
    },
    OpenEvent,
    // Refused.
    UnknownResource {
        text: &'a str,
        error: &'a ResourceError,
    },
    UnknownCommunity(&'a CommunityKey),
    UnknownContent(&'a ContentId),
    UnknownEvent(&'a EventKey),
    /// Memberships of the community, none current on the day: the latest
    /// that ended and the earliest still to begin.
    NotCurrent {
        community: &'a CommunityKey,
        ended: Option<NaiveDate>,
        begins: Option<NaiveDate>,
    },
    /// No membership of the community and no grant that applies.
    NoAccess {
        community: &'a CommunityKey,
    },
    ContentRefused {
        item: &'a ContentId,
        allowed: &'a GroupSet,
    },
}

impl Why<'_> {
    /// A stable name for the rule, for metrics and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Why::SuperAdmin => "super_admin",
            Why::CurrentMember { .. } => "current_member",
            Why::GroupGranted { .. } => "group_granted",
            Why::ContentAllows { .. } => "content_allows",
            Why::OpenEvent => "open_event",
            Why::UnknownResource { .. } => "unknown_resource",
            Why::UnknownCommunity(_) => "unknown_community",
            Why::UnknownContent(_) => "unknown_content",
            Why::UnknownEvent(_) => "unknown_event",
            Why::NotCurrent { .. } => "membership_not_current",
            Why::NoAccess { .. } => "no_access",
            Why::ContentRefused { .. } => "content_refused",
        }
    }

    fn is_unknown(&self) -> bool {
        matches!(
            self,
            Why::UnknownResource { .. } | Why::UnknownCommunity(_) | Why::UnknownContent(_) | Why::UnknownEvent(_)
        )
    }
}

/// Why a decision came out as it did: a sentence an admin understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reason<'a> {
    pub subject: Subject<'a>,
    pub event: Option<EventNote<'a>>,
    pub why: Why<'a>,
}

/// An unknown resource's text comes from the request: it is shown escaped
/// and cut short.
const MAX_ECHO_CHARS: usize = 100;

impl fmt::Display for Reason<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut lead = false;
        if let (Subject::Disabled(m), false) = (self.subject, self.why.is_unknown()) {
            write!(f, "member {m} is disabled; decided as a signed-out visitor")?;
            lead = true;
        }
        if let Some(ev) = self.event {
            if lead {
                f.write_str("; ")?;
            }
            write!(f, "event {}", ev.event)?;
            let cancelled = if ev.cancelled { " is cancelled (it stays visible as cancelled) and" } else { " is" };
            match ev.limited_to {
                None => write!(f, "{cancelled} open to everyone")?,
                Some(c) => write!(f, "{cancelled} limited to members of {c}")?,
            }
            if self.why == Why::OpenEvent {
                return Ok(());
            }
            lead = true;
        }
        if lead {
            f.write_str("; ")?;
        }
        // How a refusal for want of groups begins, by subject.
        let visitor = match self.subject {
            Subject::Visitor => "not signed in, and ",
            _ => "",
        };
        match self.why {
            Why::SuperAdmin => f.write_str("SuperAdmin is allowed everything"),
            Why::CurrentMember { community, end, role } => {
                write!(f, "current member of {community}")?;
                match end {
                    Some(end) => write!(f, " until {end}")?,
                    None => f.write_str(" (open-ended)")?,
                }
                match role {
                    Some(role) => write!(f, " as {role}"),
                    None => Ok(()),
                }
            }
            Why::GroupGranted { group, community } => write!(f, "group {group} is granted access to {community}"),
            Why::ContentAllows { item, group } => write!(f, "content item {item} allows {group}"),
            Why::OpenEvent => f.write_str("the event is open to everyone"),
            Why::UnknownResource { text, error } => {
                let shown: String = text.chars().take(MAX_ECHO_CHARS).collect();
                let more = if shown.len() < text.len() { "…" } else { "" };
                write!(f, "unknown resource {shown:?}{more}: {error}")
            }
            Why::UnknownCommunity(c) => write!(f, "no community {c} is known"),
            Why::UnknownContent(id) => write!(f, "no content item {id} is known"),
            Why::UnknownEvent(k) => write!(f, "no event {k} is known"),
            Why::NotCurrent { community, ended, begins } => match (ended, begins) {
                (Some(e), Some(b)) => write!(f, "membership of {community} ended {e}; the next begins {b}"),
                (Some(e), None) => write!(f, "membership of {community} ended {e}"),
                (None, Some(b)) => write!(f, "membership of {community} begins {b}"),
                (None, None) => write!(f, "no current membership of {community}"),
            },
            Why::NoAccess { community } => match self.subject {
                Subject::Member(_) => {
                    write!(f, "not a member of {community}, and none of the member's groups is granted access to it")
                }
                Subject::Visitor | Subject::Disabled(_) => {
                    write!(f, "{visitor}Public is not granted access to {community}")
                }
            },
            Why::ContentRefused { item, allowed } if allowed.is_empty() => {
                write!(f, "{visitor}content item {item} allows no security group")
            }
            Why::ContentRefused { item, allowed } => {
                write!(f, "{visitor}content item {item} allows only {allowed}")?;
                match self.subject {
                    Subject::Member(_) => f.write_str(", and the member is in none of them"),
                    Subject::Visitor | Subject::Disabled(_) => Ok(()),
                }
            }
        }
    }
}
