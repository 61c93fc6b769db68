//! The members of the simulated AMS and their change index.
//!
//! Read path (GetMemberDetails and friends): one shard read lock, a cache
//! hit, a `Bytes` clone. A member's bodies are rendered on first request
//! from its data — generated from (seed, index) until it is first changed,
//! kept after that — and cached per (document, encoding) until it changes.
//! [`MemberStore::prerender`] fills the cache for every member at start
//! (`sim-ams --prerender`), so a benchmark never waits on rendering.
//!
//! Lock order: the change index first, then a shard. Every mutation holds
//! the index lock while it stamps the member (time and sequence number),
//! which is what keeps paging correct while members change.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use bytes::Bytes;
use chrono::DateTime;

use crate::clock::SimClock;
use crate::cursor::Cursor;
use crate::error::SimError;
use crate::generate::{Generator, MemberData};
use crate::member_key::{member_key, parse_member_key};
use crate::render::{json, xml, ChangedEntry, Doc, Enc, Page, CACHE_SLOTS};
use crate::truth::MemberTruth;

/// Members are spread over this many independently locked shards.
const SHARDS: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Life {
    Active,
    Deleted,
    Merged(u32),
}

struct Slot {
    changed_at: i64,
    seq: u64,
    version: u32,
    life: Life,
    /// `None` until the first change: the data is then the generated one.
    data: Option<Arc<MemberData>>,
    cache: [Option<Bytes>; CACHE_SLOTS],
}

#[derive(Clone, Copy)]
struct IndexEntry {
    index: u32,
    /// False once deleted or merged: such a member is left out of the full
    /// listing but still reported by a `since` listing (its removal is a change).
    exists: bool,
}

struct ChangeIndex {
    entries: BTreeMap<(i64, u64), IndexEntry>,
    next_seq: u64,
}

/// What a member document request finds.
pub enum Lookup {
    Found(Bytes),
    NotFound,
    Merged(String),
}

pub struct MemberStore {
    gen: Generator,
    clock: Arc<SimClock>,
    shards: Box<[RwLock<Vec<Slot>>]>,
    index: Mutex<ChangeIndex>,
    count: AtomicU32,
    /// Lower-cased e-mail of every member whose data was changed: generated
    /// addresses are found from the member number they end with instead.
    emails: RwLock<HashMap<String, u32>>,
}

fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}

fn lock<T>(l: &Mutex<T>) -> MutexGuard<'_, T> {
    l.lock().unwrap_or_else(|e| e.into_inner())
}

impl MemberStore {
    pub fn new(gen: Generator, clock: Arc<SimClock>, members: usize) -> Self {
        let members = members.min(u32::MAX as usize - 1) as u32;
        let mut shards: Vec<Vec<Slot>> =
            (0..SHARDS).map(|_| Vec::with_capacity(members as usize / SHARDS + 1)).collect();
        let mut entries = BTreeMap::new();
        for i in 0..members {
            let changed_at = gen.initial_changed_at(i);
            shards[i as usize % SHARDS].push(Slot {
                changed_at,
                seq: i as u64,
                version: 1,
                life: Life::Active,
                data: None,
                cache: Default::default(),
            });
            entries.insert((changed_at, i as u64), IndexEntry { index: i, exists: true });
        }
        MemberStore {
            gen,
            clock,
            shards: shards.into_iter().map(RwLock::new).collect(),
            index: Mutex::new(ChangeIndex { entries, next_seq: members as u64 }),
            count: AtomicU32::new(members),
            emails: RwLock::new(HashMap::new()),
        }
    }

    pub fn generator(&self) -> &Generator {
        &self.gen
    }

    /// Members ever created (deleted and merged ones included).
    pub fn count(&self) -> u32 {
        self.count.load(Ordering::Acquire)
    }

    fn shard(&self, index: u32) -> &RwLock<Vec<Slot>> {
        &self.shards[index as usize % SHARDS]
    }

    /// The index of an existing (not deleted or merged) member.
    pub fn active_index(&self, key: &str) -> Option<u32> {
        let index = parse_member_key(key)?;
        let shard = read(self.shard(index));
        let slot = shard.get(index as usize / SHARDS)?;
        (slot.life == Life::Active).then_some(index)
    }

    /// A member's document, rendered and cached on first request.
    pub fn document(&self, key: &str, doc: Doc, enc: Enc) -> Lookup {
        let Some(index) = parse_member_key(key) else { return Lookup::NotFound };
        let cache_slot = doc.cache_slot(enc);
        let (data, version) = {
            let shard = read(self.shard(index));
            let Some(slot) = shard.get(index as usize / SHARDS) else { return Lookup::NotFound };
            match slot.life {
                Life::Active => {}
                Life::Deleted => return Lookup::NotFound,
                Life::Merged(into) => return Lookup::Merged(member_key(into)),
            }
            if let Some(body) = &slot.cache[cache_slot] {
                return Lookup::Found(body.clone());
            }
            (slot.data.clone(), slot.version)
        };
        // Rendered outside the lock; cached only if the member did not change meanwhile.
        let body = Bytes::from(self.render(index, data.as_deref(), doc, enc).into_boxed_slice());
        let mut shard = write(self.shard(index));
        if let Some(slot) = shard.get_mut(index as usize / SHARDS) {
            if slot.version == version && slot.life == Life::Active {
                slot.cache[cache_slot] = Some(body.clone());
            }
        }
        Lookup::Found(body)
    }

    /// Renders every member's three documents in `enc` now, on `threads`
    /// threads, so that requests only ever hit the cache: what a benchmark
    /// needs to measure amsync and not the simulator's rendering.
    pub fn prerender(&self, enc: Enc, threads: usize) {
        let threads = threads.clamp(1, SHARDS);
        std::thread::scope(|scope| {
            for t in 0..threads {
                scope.spawn(move || {
                    for shard_no in (t..SHARDS).step_by(threads) {
                        let mut shard = write(&self.shards[shard_no]);
                        for (pos, slot) in shard.iter_mut().enumerate() {
                            if slot.life != Life::Active {
                                continue;
                            }
                            let index = (pos * SHARDS + shard_no) as u32;
                            for doc in [Doc::Details, Doc::Communities, Doc::Groups] {
                                let cache_slot = doc.cache_slot(enc);
                                if slot.cache[cache_slot].is_none() {
                                    let body = self.render(index, slot.data.as_deref(), doc, enc);
                                    slot.cache[cache_slot] = Some(Bytes::from(body.into_boxed_slice()));
                                }
                            }
                        }
                    }
                });
            }
        });
    }

    fn render(&self, index: u32, data: Option<&MemberData>, doc: Doc, enc: Enc) -> Vec<u8> {
        match (doc, data) {
            (Doc::Details, Some(d)) => render_details(&d.details, enc),
            (Doc::Details, None) => render_details(&self.gen.details(index), enc),
            (Doc::Communities, Some(d)) => render_communities(&d.memberships, enc),
            (Doc::Communities, None) => render_communities(&self.gen.memberships(index), enc),
            (Doc::Groups, Some(d)) => render_groups(&d.groups, enc),
            (Doc::Groups, None) => render_groups(&self.gen.groups(index), enc),
        }
    }

    /// The truth about a member (deleted and merged ones too).
    pub fn truth(&self, key: &str) -> Result<MemberTruth, SimError> {
        let index = parse_member_key(key).ok_or_else(|| SimError::UnknownMember(key.to_string()))?;
        self.truth_at(index).ok_or_else(|| SimError::UnknownMember(key.to_string()))
    }

    pub fn truth_at(&self, index: u32) -> Option<MemberTruth> {
        let (life, changed_at, version, data) = {
            let shard = read(self.shard(index));
            let slot = shard.get(index as usize / SHARDS)?;
            (slot.life, slot.changed_at, slot.version, slot.data.clone())
        };
        let data = match data {
            Some(d) => Arc::unwrap_or_clone(d),
            None => self.gen.member(index),
        };
        Some(truth_of(index, life, changed_at, version, data))
    }

    /// Changes a member: `f` edits its data; the member is stamped changed now.
    pub fn mutate(
        &self,
        key: &str,
        f: impl FnOnce(&mut MemberData) -> Result<(), SimError>,
    ) -> Result<MemberTruth, SimError> {
        let index = parse_member_key(key).ok_or_else(|| SimError::UnknownMember(key.to_string()))?;
        let mut ix = lock(&self.index);
        let mut shard = write(self.shard(index));
        let slot = shard.get_mut(index as usize / SHARDS).ok_or_else(|| SimError::UnknownMember(key.to_string()))?;
        if slot.life != Life::Active {
            return Err(SimError::MemberGone(key.to_string()));
        }
        let mut data = match &slot.data {
            Some(d) => MemberData::clone(d),
            None => self.gen.member(index),
        };
        let old_email = data.details.email.clone();
        f(&mut data)?;
        self.track_email(index, old_email.as_deref(), data.details.email.as_deref());
        slot.data = Some(Arc::new(data));
        self.stamp(&mut ix, index, slot, true);
        Ok(truth_of(index, slot.life, slot.changed_at, slot.version, MemberData::clone(slot.data.as_ref().unwrap())))
    }

    fn track_email(&self, index: u32, old: Option<&str>, new: Option<&str>) {
        let mut emails = write(&self.emails);
        if let Some(old) = old {
            let old = old.to_lowercase();
            if emails.get(&old) == Some(&index) {
                emails.remove(&old);
            }
        }
        if let Some(new) = new {
            emails.insert(new.to_lowercase(), index);
        }
    }

    /// Moves a member to "changed now" in the index and drops its cached bodies.
    fn stamp(&self, ix: &mut ChangeIndex, index: u32, slot: &mut Slot, exists: bool) {
        ix.entries.remove(&(slot.changed_at, slot.seq));
        let changed_at = self.clock.stamp();
        let seq = ix.next_seq;
        ix.next_seq += 1;
        ix.entries.insert((changed_at, seq), IndexEntry { index, exists });
        slot.changed_at = changed_at;
        slot.seq = seq;
        slot.version += 1;
        slot.cache = Default::default();
    }

    pub fn delete(&self, key: &str) -> Result<MemberTruth, SimError> {
        let index = parse_member_key(key).ok_or_else(|| SimError::UnknownMember(key.to_string()))?;
        let mut ix = lock(&self.index);
        self.remove(&mut ix, key, index, Life::Deleted)
    }

    /// Merges `key` into `into`: `key` answers 410 naming `into`, and both
    /// are reported changed.
    pub fn merge(&self, key: &str, into: &str) -> Result<MemberTruth, SimError> {
        let index = parse_member_key(key).ok_or_else(|| SimError::UnknownMember(key.to_string()))?;
        if into == key {
            return Err(SimError::BadRequest("a member cannot be merged into itself".into()));
        }
        let mut ix = lock(&self.index);
        let target =
            self.active_index(into).ok_or_else(|| SimError::BadRequest(format!("no member {into:?} to merge into")))?;
        let truth = self.remove(&mut ix, key, index, Life::Merged(target))?;
        let mut shard = write(self.shard(target));
        let slot = shard.get_mut(target as usize / SHARDS).expect("the target was found active above");
        self.stamp(&mut ix, target, slot, true);
        Ok(truth)
    }

    fn remove(&self, ix: &mut ChangeIndex, key: &str, index: u32, life: Life) -> Result<MemberTruth, SimError> {
        let mut shard = write(self.shard(index));
        let slot = shard.get_mut(index as usize / SHARDS).ok_or_else(|| SimError::UnknownMember(key.to_string()))?;
        if slot.life != Life::Active {
            return Err(SimError::MemberGone(key.to_string()));
        }
        slot.life = life;
        self.stamp(ix, index, slot, false);
        let (changed_at, version, data) = (slot.changed_at, slot.version, slot.data.clone());
        drop(shard);
        let data = data.map(Arc::unwrap_or_clone).unwrap_or_else(|| self.gen.member(index));
        Ok(truth_of(index, life, changed_at, version, data))
    }

    /// Adds a member with the next index; its data is generated like any
    /// other's, then `f` may edit it.
    pub fn create(&self, f: impl FnOnce(&mut MemberData) -> Result<(), SimError>) -> Result<MemberTruth, SimError> {
        let mut ix = lock(&self.index);
        let index = self.count();
        let mut data = self.gen.member(index);
        let generated = data.clone();
        f(&mut data)?;
        let edited = data != generated;
        if edited {
            self.track_email(index, None, data.details.email.as_deref());
        }
        let mut slot = Slot {
            changed_at: 0,
            seq: 0,
            version: 0,
            life: Life::Active,
            data: edited.then(|| Arc::new(data.clone())),
            cache: Default::default(),
        };
        self.stamp(&mut ix, index, &mut slot, true);
        let truth = truth_of(index, slot.life, slot.changed_at, slot.version, data);
        let mut shard = write(self.shard(index));
        debug_assert_eq!(shard.len(), index as usize / SHARDS);
        shard.push(slot);
        self.count.store(index + 1, Ordering::Release);
        Ok(truth)
    }

    /// One page of GetChangedMembers. Without `since` (and without a cursor
    /// of a `since` listing) it lists every member that still exists.
    pub fn changed_page(&self, since: Option<i64>, cursor: Option<Cursor>, page_size: usize) -> Page<ChangedEntry> {
        let full = cursor.map_or(since.is_none(), |c| c.full);
        let lower = match (cursor, since) {
            (Some(c), _) => Bound::Excluded((c.changed_at, c.seq)),
            (None, Some(s)) => Bound::Included((s, 0)),
            (None, None) => Bound::Unbounded,
        };
        let page_size = page_size.max(1);
        let ix = lock(&self.index);
        let as_of = self.clock.now();
        let mut entries = ix.entries.range((lower, Bound::Unbounded)).filter(|(_, e)| !full || e.exists);
        let mut items = Vec::with_capacity(page_size.min(4096));
        let mut last = None;
        for (&(changed_at, seq), e) in entries.by_ref().take(page_size) {
            items.push(ChangedEntry { key: member_key(e.index), changed_at });
            last = Some((changed_at, seq));
        }
        let more = entries.next().is_some();
        drop(ix);
        let next_cursor = match (more, last) {
            (true, Some((changed_at, seq))) => Some(Cursor { full, changed_at, seq }.encode()),
            _ => None,
        };
        Page { as_of, items, next_cursor }
    }

    /// AuthenticateCredentials: the username is a member's key or e-mail
    /// (case-insensitive), the password `pw-<key>`.
    pub fn authenticate(&self, username: &str, password: &str) -> Option<String> {
        let index = self.active_index(username).or_else(|| self.by_email(username))?;
        let key = member_key(index);
        (password == format!("pw-{key}")).then_some(key)
    }

    fn by_email(&self, email: &str) -> Option<u32> {
        let lower = email.to_lowercase();
        if let Some(&i) = read(&self.emails).get(&lower) {
            return self.email_matches(i, &lower).then_some(i);
        }
        // Generated addresses end their local part with the member number.
        let local = lower.split('@').next()?;
        let digits = local.len() - local.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        let number: u64 = local[local.len() - digits..].parse().ok()?;
        let index = u32::try_from(number.checked_sub(1)?).ok()?;
        self.email_matches(index, &lower).then_some(index)
    }

    fn email_matches(&self, index: u32, lower: &str) -> bool {
        let data = {
            let shard = read(self.shard(index));
            let Some(slot) = shard.get(index as usize / SHARDS) else { return false };
            if slot.life != Life::Active {
                return false;
            }
            slot.data.clone()
        };
        let email = match data {
            Some(d) => d.details.email.clone(),
            None => self.gen.details(index).email,
        };
        email.is_some_and(|e| e.to_lowercase() == lower)
    }
}

fn truth_of(index: u32, life: Life, changed_at: i64, version: u32, data: MemberData) -> MemberTruth {
    MemberTruth {
        key: member_key(index),
        deleted: life != Life::Active,
        merged_into: match life {
            Life::Merged(into) => Some(member_key(into)),
            _ => None,
        },
        changed_at: DateTime::from_timestamp(changed_at, 0).unwrap_or_default(),
        version,
        details: data.details,
        memberships: data.memberships,
        groups: data.groups,
    }
}

fn render_details(d: &amsync_core::MemberDetails, enc: Enc) -> Vec<u8> {
    match enc {
        Enc::Json => json::details(d),
        Enc::Xml => xml::details(d),
    }
}

fn render_communities(list: &[amsync_core::Membership], enc: Enc) -> Vec<u8> {
    match enc {
        Enc::Json => json::communities(list),
        Enc::Xml => xml::communities(list),
    }
}

fn render_groups(list: &[amsync_core::SecurityGroupRef], enc: Enc) -> Vec<u8> {
    match enc {
        Enc::Json => json::groups(list),
        Enc::Xml => xml::groups(list),
    }
}
