//! What an AMS holds, as plain data: the members with their three parts,
//! the keys it no longer has, listing entries it cannot give a proper key,
//! events, and the accounts and tokens of its credential service.
//!
//! The source conformance suite describes every case in these terms, and a
//! harness per kind puts them where its kind reads them (a test server's
//! documents, rows of a database, …); the in-memory source reads them as
//! they are. Values are the contract's: a member whose data breaks the
//! contract (a fifth phone, a membership ending before it begins) is simply
//! written so, and every kind must refuse it alike.

use amsync_core::group::SecurityGroupRef;
use amsync_core::{Event, MemberDetails, MemberKey, Membership};
use chrono::{DateTime, Utc};

/// One AMS's data.
#[derive(Debug, Clone)]
pub struct SourceFixture {
    /// The AMS's clock, answered as every page's `as_of`; `None` is the
    /// time of the call.
    pub as_of: Option<DateTime<Utc>>,
    /// Entries per listing page (members and events alike).
    pub page_size: usize,
    pub members: Vec<FixtureMember>,
    /// Keys the AMS no longer has.
    pub gone: Vec<GoneMember>,
    /// Listing entries whose key is no member key (too long, empty, …).
    pub unreadable_keys: Vec<UnreadableKey>,
    pub events: Vec<FixtureEvent>,
    /// Username, password and the member they sign in as.
    pub accounts: Vec<Account>,
    /// SSO tokens the credential service resolves.
    pub tokens: Vec<(String, MemberKey)>,
    /// The AMS refuses amsync's own credentials (a revoked API key, say):
    /// every data call is refused.
    pub refuses_our_credentials: bool,
}

impl Default for SourceFixture {
    fn default() -> Self {
        SourceFixture {
            as_of: None,
            page_size: 100,
            members: Vec::new(),
            gone: Vec::new(),
            unreadable_keys: Vec::new(),
            events: Vec::new(),
            accounts: Vec::new(),
            tokens: Vec::new(),
            refuses_our_credentials: false,
        }
    }
}

/// A member the AMS has.
#[derive(Debug, Clone, PartialEq)]
pub struct FixtureMember {
    /// GetMemberDetails; its key is the member's.
    pub details: MemberDetails,
    pub memberships: Vec<Membership>,
    pub groups: Vec<SecurityGroupRef>,
    /// When any of its parts last changed.
    pub changed_at: DateTime<Utc>,
}

impl FixtureMember {
    /// A member with only a key, active, in no community and no group.
    pub fn new(key: MemberKey, changed_at: DateTime<Utc>) -> FixtureMember {
        FixtureMember { details: MemberDetails::empty(key), memberships: Vec::new(), groups: Vec::new(), changed_at }
    }

    pub fn key(&self) -> &MemberKey {
        &self.details.key
    }
}

/// A key the AMS no longer has: GetMemberDetails answers 404, or 410 with
/// an optional merge target. A `since` listing still lists it (its removal
/// is a change); the full listing does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoneMember {
    pub key: MemberKey,
    /// 404 or 410.
    pub status: u16,
    pub merged_into: Option<MemberKey>,
    pub changed_at: DateTime<Utc>,
}

/// A listing entry whose key cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableKey {
    pub text: String,
    pub changed_at: DateTime<Utc>,
}

/// An event and when it last changed.
#[derive(Debug, Clone, PartialEq)]
pub struct FixtureEvent {
    pub event: Event,
    pub changed_at: DateTime<Utc>,
}

/// A member's sign-in at the credential service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub username: String,
    pub password: String,
    pub key: MemberKey,
}

/// One entry of a changed-members listing, in listing order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListedKey {
    Member(MemberKey),
    Unreadable(String),
}

impl ListedKey {
    pub fn text(&self) -> &str {
        match self {
            ListedKey::Member(k) => k.as_str(),
            ListedKey::Unreadable(t) => t,
        }
    }
}

impl SourceFixture {
    /// The member with `key`, if the AMS has it.
    pub fn member(&self, key: &MemberKey) -> Option<&FixtureMember> {
        self.members.iter().find(|m| m.key() == key)
    }

    /// The gone entry of `key`, if the AMS no longer has it.
    pub fn gone(&self, key: &MemberKey) -> Option<&GoneMember> {
        self.gone.iter().find(|g| &g.key == key)
    }

    /// GetChangedMembers as a whole, in the order the pages list it
    /// (by change time, then key): every entry changed at or after `since`,
    /// gone keys included; without `since`, every member the AMS has (and
    /// the entries it cannot key).
    pub fn listing(&self, since: Option<DateTime<Utc>>) -> Vec<(ListedKey, DateTime<Utc>)> {
        let after = |t: &DateTime<Utc>| since.is_none_or(|s| *t >= s);
        let mut out: Vec<(ListedKey, DateTime<Utc>)> = self
            .members
            .iter()
            .filter(|m| after(&m.changed_at))
            .map(|m| (ListedKey::Member(m.key().clone()), m.changed_at))
            .chain(
                self.unreadable_keys
                    .iter()
                    .filter(|u| after(&u.changed_at))
                    .map(|u| (ListedKey::Unreadable(u.text.clone()), u.changed_at)),
            )
            .collect();
        if since.is_some() {
            out.extend(
                self.gone
                    .iter()
                    .filter(|g| after(&g.changed_at))
                    .map(|g| (ListedKey::Member(g.key.clone()), g.changed_at)),
            );
        }
        out.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.text().cmp(b.0.text())));
        out
    }

    /// GetChangedEvents as a whole, by change time then key.
    pub fn event_listing(&self, since: Option<DateTime<Utc>>) -> Vec<Event> {
        let mut out: Vec<&FixtureEvent> =
            self.events.iter().filter(|e| since.is_none_or(|s| e.changed_at >= s)).collect();
        out.sort_by(|a, b| a.changed_at.cmp(&b.changed_at).then_with(|| a.event.key.cmp(&b.event.key)));
        out.into_iter().map(|e| e.event.clone()).collect()
    }
}
