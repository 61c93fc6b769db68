//! The site's access configuration, as decisions read it.
//!
//! The store loads it (known communities, the groups a SuperAdmin granted
//! each community, content items with their groups, events with their
//! community and status) and builds an [`AccessPolicy`] once; it is then
//! shared read-only by every decision until the configuration changes.
//! Lookups are hash-map lookups with a fixed, fast hash (xxh3): the keys are
//! the site's own configuration, so there is no adversary to randomise
//! against, and a lookup by a requested key cannot degrade a table that only
//! the admin fills.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use super::groups::GroupSet;
use super::resource::ContentId;
use crate::community::Community;
use crate::event::{Event, EventStatus};
use crate::group::PUBLIC;
use crate::keys::{CommunityKey, EventKey, GroupKey};

/// A [`Hasher`] for short keys: xxh3 of the bytes, chained across writes.
#[derive(Default)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0 = xxhash_rust::xxh3::xxh3_64_with_seed(bytes, self.0);
    }

    // `str`'s Hash writes a 0xff terminator after the bytes; folding it in
    // cheaply keeps lookups to one xxh3 call.
    fn write_u8(&mut self, b: u8) {
        self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type KeyMap<K, V> = HashMap<K, V, BuildHasherDefault<KeyHasher>>;

/// What the policy knows of one community key.
#[derive(Debug, Clone)]
pub(crate) struct CommunityEntry {
    /// `None` when the key is only named by a grant or an event: such a
    /// community is not known, and its discussion, library and microsite are
    /// refused as unknown.
    pub(crate) community: Option<Community>,
    pub(crate) grants: GroupSet,
}

/// How an event is limited, as decisions see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventAccess<'a> {
    /// `None` for an open event.
    pub community: Option<&'a CommunityKey>,
    pub status: EventStatus,
}

#[derive(Debug, Clone)]
pub(crate) struct EventEntry {
    /// Index into `AccessPolicy::communities` of the community the event is
    /// limited to, resolved when the policy is built.
    pub(crate) community: Option<u32>,
    pub(crate) status: EventStatus,
}

/// The site's access configuration. Build it with [`AccessPolicy::builder`].
#[derive(Debug, Clone)]
pub struct AccessPolicy {
    pub(crate) communities: Vec<(CommunityKey, CommunityEntry)>,
    pub(crate) community_index: KeyMap<CommunityKey, u32>,
    pub(crate) content: KeyMap<ContentId, GroupSet>,
    pub(crate) events: KeyMap<EventKey, EventEntry>,
    /// The groups of a signed-out visitor: `Public` alone.
    pub(crate) visitor_groups: GroupSet,
    /// What [`AccessPolicy::grants`] lends for a community without grants.
    no_groups: GroupSet,
}

impl Default for AccessPolicy {
    fn default() -> Self {
        AccessPolicy::builder().build()
    }
}

impl AccessPolicy {
    pub fn builder() -> AccessPolicyBuilder {
        AccessPolicyBuilder::default()
    }

    pub(crate) fn community_entry(&self, key: &str) -> Option<(&CommunityKey, &CommunityEntry)> {
        let &i = self.community_index.get(key)?;
        let (k, e) = &self.communities[i as usize];
        Some((k, e))
    }

    /// A known community.
    pub fn community(&self, key: &str) -> Option<&Community> {
        self.community_entry(key)?.1.community.as_ref()
    }

    /// Every known community, by key.
    pub fn communities(&self) -> impl Iterator<Item = &Community> + '_ {
        self.communities.iter().filter_map(|(_, e)| e.community.as_ref())
    }

    /// The groups granted access to a community (empty when none are).
    pub fn grants(&self, community: &str) -> &GroupSet {
        self.community_entry(community).map_or(&self.no_groups, |(_, e)| &e.grants)
    }

    /// The groups a content item allows; `None` for an unknown item.
    pub fn content_groups(&self, id: &str) -> Option<&GroupSet> {
        self.content.get(id)
    }

    /// How an event is limited; `None` for an unknown event.
    pub fn event(&self, key: &str) -> Option<EventAccess<'_>> {
        let e = self.events.get(key)?;
        Some(EventAccess { community: e.community.map(|i| &self.communities[i as usize].0), status: e.status })
    }
}

/// Collects the configuration, in any order; later calls for the same key
/// replace (a community, a content item, an event) or add (grants).
#[derive(Debug, Clone, Default)]
pub struct AccessPolicyBuilder {
    communities: BTreeMap<CommunityKey, (Option<Community>, Vec<GroupKey>)>,
    content: BTreeMap<ContentId, Vec<GroupKey>>,
    events: BTreeMap<EventKey, (Option<CommunityKey>, EventStatus)>,
}

impl AccessPolicyBuilder {
    /// A known community.
    pub fn community(mut self, community: Community) -> Self {
        let key = community.key.clone();
        self.communities.entry(key).or_default().0 = Some(community);
        self
    }

    /// Grants a security group access to a community's discussion, library
    /// and microsite (and its limited events).
    pub fn grant(mut self, community: CommunityKey, group: GroupKey) -> Self {
        self.communities.entry(community).or_default().1.push(group);
        self
    }

    /// Grants several groups at once.
    pub fn grants(mut self, community: CommunityKey, groups: impl IntoIterator<Item = GroupKey>) -> Self {
        self.communities.entry(community).or_default().1.extend(groups);
        self
    }

    /// A content or navigation item and the groups that may see it.
    pub fn content(mut self, id: ContentId, groups: impl IntoIterator<Item = GroupKey>) -> Self {
        self.content.insert(id, groups.into_iter().collect());
        self
    }

    /// An event: open (`community: None`) or limited to a community.
    pub fn event(mut self, key: EventKey, community: Option<CommunityKey>, status: EventStatus) -> Self {
        self.events.insert(key, (community, status));
        self
    }

    /// An event as the store holds it.
    pub fn event_from(self, event: &Event) -> Self {
        self.event(event.key.clone(), event.community_key.clone(), event.status)
    }

    pub fn build(mut self) -> AccessPolicy {
        // An event may be limited to a community nothing else names; it gets
        // an entry (unknown, no grants) so its index resolves.
        for (community, _) in self.events.values() {
            if let Some(c) = community {
                self.communities.entry(c.clone()).or_default();
            }
        }
        let communities: Vec<(CommunityKey, CommunityEntry)> = self
            .communities
            .into_iter()
            .map(|(key, (community, grants))| (key, CommunityEntry { community, grants: GroupSet::new(grants) }))
            .collect();
        let community_index: KeyMap<CommunityKey, u32> = communities
            .iter()
            .enumerate()
            .map(|(i, (k, _))| (k.clone(), u32::try_from(i).expect("fewer than 2^32 communities")))
            .collect();
        let events = self
            .events
            .into_iter()
            .map(|(key, (community, status))| {
                let community = community.map(|c| community_index[c.as_str()]);
                (key, EventEntry { community, status })
            })
            .collect();
        let content = self.content.into_iter().map(|(id, groups)| (id, GroupSet::new(groups))).collect();
        let visitor_groups = GroupSet::new([GroupKey::parse(PUBLIC).expect("built-in keys are valid")]);
        AccessPolicy { communities, community_index, content, events, visitor_groups, no_groups: GroupSet::default() }
    }
}
