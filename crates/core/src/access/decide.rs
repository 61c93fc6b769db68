//! The access rules (product.md job 7).
//!
//! In order, for every resource:
//! 1. a resource that does not exist is refused, whoever asks (there is
//!    nothing to see, and an admin checking a mistyped key learns so);
//! 2. a disabled member is decided as a signed-out visitor;
//! 3. SuperAdmin is allowed everything;
//! 4. the resource's own rule:
//!    - a community's discussion, library and microsite: its current members
//!      on `day`, then the groups granted access to it;
//!    - a content item: the groups it lists;
//!    - an event: open → everyone; limited to a community → as that
//!      community's discussion. A cancelled event is decided as if it were
//!      scheduled (it stays visible as cancelled) and the reason says so.

use chrono::NaiveDate;

use super::groups::GroupSet;
use super::policy::AccessPolicy;
use super::principal::{lasting, MemberPrincipal, Principal};
use super::reason::{AccessAnswer, Decision, EventNote, Reason, Subject, Why};
use super::resource::Resource;
use crate::community::Term;
use crate::event::EventStatus;
use crate::keys::CommunityKey;

/// The principal as the rules see it once a disabled member is set aside.
struct Who<'a> {
    subject: Subject<'a>,
    /// `None` for a visitor or a disabled member.
    member: Option<&'a MemberPrincipal>,
    groups: &'a GroupSet,
}

impl<'a> Who<'a> {
    fn of(principal: &'a Principal, policy: &'a AccessPolicy) -> Who<'a> {
        match principal {
            Principal::Member(m) if m.is_active() => {
                Who { subject: Subject::Member(m.key()), member: Some(m), groups: m.groups() }
            }
            Principal::Member(m) => {
                Who { subject: Subject::Disabled(m.key()), member: None, groups: &policy.visitor_groups }
            }
            Principal::Public => Who { subject: Subject::Visitor, member: None, groups: &policy.visitor_groups },
        }
    }

    fn super_admin(&self) -> bool {
        self.member.is_some_and(MemberPrincipal::is_super_admin)
    }
}

/// Decides whether `principal` may see `resource` on `day` (today in the
/// communities' time zone).
pub fn decide<'a>(
    principal: &'a Principal,
    resource: &'a Resource,
    policy: &'a AccessPolicy,
    day: NaiveDate,
) -> Decision<'a> {
    let who = Who::of(principal, policy);
    let reason = |event, why| Reason { subject: who.subject, event, why };
    match resource {
        Resource::Discussion(c) | Resource::Library(c) | Resource::Microsite(c) => {
            let Some((key, entry)) = policy.community_entry(c.as_str()).filter(|(_, e)| e.community.is_some()) else {
                return Decision { allowed: false, reason: reason(None, Why::UnknownCommunity(c)) };
            };
            let (allowed, why) = community_rule(&who, key, &entry.grants, day);
            Decision { allowed, reason: reason(None, why) }
        }
        Resource::Content(id) => {
            let Some(allowed_groups) = policy.content.get(id.as_str()) else {
                return Decision { allowed: false, reason: reason(None, Why::UnknownContent(id)) };
            };
            let (allowed, why) = if who.super_admin() {
                (true, Why::SuperAdmin)
            } else if let Some(group) = allowed_groups.first_shared_with(who.groups) {
                (true, Why::ContentAllows { item: id, group })
            } else {
                (false, Why::ContentRefused { item: id, allowed: allowed_groups })
            };
            Decision { allowed, reason: reason(None, why) }
        }
        Resource::Event(k) => {
            let Some(event) = policy.events.get(k.as_str()) else {
                return Decision { allowed: false, reason: reason(None, Why::UnknownEvent(k)) };
            };
            let limited = event.community.map(|i| {
                let (key, entry) = &policy.communities[i as usize];
                (key, &entry.grants)
            });
            let note = EventNote {
                event: k,
                cancelled: event.status == EventStatus::Cancelled,
                limited_to: limited.map(|(key, _)| key),
            };
            let (allowed, why) = match limited {
                None => (true, Why::OpenEvent),
                Some((key, grants)) => community_rule(&who, key, grants, day),
            };
            Decision { allowed, reason: reason(Some(note), why) }
        }
    }
}

/// Who may see what belongs to one community: SuperAdmin, its current
/// members on `day`, and the groups granted access to it.
fn community_rule<'a>(
    who: &Who<'a>,
    community: &'a CommunityKey,
    grants: &'a GroupSet,
    day: NaiveDate,
) -> (bool, Why<'a>) {
    if who.super_admin() {
        return (true, Why::SuperAdmin);
    }
    // The membership a reason names must not depend on the order memberships
    // came in: the current one lasting longest, else the latest end and the
    // earliest begin still to come.
    let mut current = None;
    let mut ended: Option<NaiveDate> = None;
    let mut begins: Option<NaiveDate> = None;
    let held = who.member.map_or(&[][..], |m| m.memberships_of(community.as_str()));
    for m in held {
        match m.term(day) {
            Term::Future => begins = Some(begins.map_or(m.begin, |b| b.min(m.begin))),
            Term::Past => ended = ended.max(m.end),
            Term::Current => {
                if current.is_none_or(|c| lasting(m) > lasting(c)) {
                    current = Some(m);
                }
            }
        }
    }
    if let Some(m) = current {
        return (true, Why::CurrentMember { community, end: m.end, role: m.role.as_deref() });
    }
    if let Some(group) = grants.first_shared_with(who.groups) {
        return (true, Why::GroupGranted { group, community });
    }
    if held.is_empty() {
        (false, Why::NoAccess { community })
    } else {
        (false, Why::NotCurrent { community, ended, begins })
    }
}

/// Decides on a resource given as text, as the API receives it: text that is
/// not a resource is refused, and the reason says so.
pub fn answer(principal: &Principal, resource: &str, policy: &AccessPolicy, day: NaiveDate) -> AccessAnswer {
    match Resource::parse(resource) {
        Ok(r) => decide(principal, &r, policy, day).to_answer(),
        Err(error) => {
            let subject = Who::of(principal, policy).subject;
            let why = Why::UnknownResource { text: resource, error: &error };
            Decision { allowed: false, reason: Reason { subject, event: None, why } }.to_answer()
        }
    }
}
