//! Sets of security groups prepared for fast intersection.
//!
//! Group keys are compared case-insensitively, as the refresh does when it
//! screens AMS groups against built-in and local ones (two groups never differ
//! only by case, so folding cannot merge two real groups). A set folds each
//! key once when it is built and keeps a 64-bit summary of its members, so
//! the question a decision asks, "do these two sets meet?", costs one AND in
//! the common case where they do not and a short binary search otherwise.
//! Nothing is hashed or allocated while deciding.

use std::fmt;

use xxhash_rust::xxh3::xxh3_64;

use crate::keys::GroupKey;

#[derive(Clone)]
struct Entry {
    hash: u64,
    folded: Box<str>,
    key: GroupKey,
}

/// A set of security group keys, deduplicated case-insensitively.
#[derive(Clone, Default)]
pub struct GroupSet {
    /// Sorted by folded key: the order groups are shown in and tried in, so
    /// the group a reason names does not depend on the input's order.
    entries: Box<[Entry]>,
    /// `(hash, index into entries)`, sorted, for membership tests.
    by_hash: Box<[(u64, u32)]>,
    /// Bit `hash >> 58` set for every member: disjoint masks mean disjoint sets.
    mask: u64,
}

fn fold(key: &str) -> String {
    key.to_lowercase()
}

impl GroupSet {
    /// Builds a set; of keys equal but for case, the first one given is kept.
    pub fn new(keys: impl IntoIterator<Item = GroupKey>) -> GroupSet {
        let mut entries: Vec<Entry> = Vec::new();
        for key in keys {
            let folded = fold(key.as_str());
            entries.push(Entry { hash: xxh3_64(folded.as_bytes()), folded: folded.into_boxed_str(), key });
        }
        // A stable sort keeps the first of equal folded keys in front for dedup.
        entries.sort_by(|a, b| a.folded.cmp(&b.folded));
        entries.dedup_by(|later, first| later.folded == first.folded);
        let mut by_hash: Vec<(u64, u32)> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.hash, u32::try_from(i).expect("fewer than 2^32 groups")))
            .collect();
        by_hash.sort_unstable();
        let mask = entries.iter().fold(0u64, |m, e| m | (1u64 << (e.hash >> 58)));
        GroupSet { entries: entries.into_boxed_slice(), by_hash: by_hash.into_boxed_slice(), mask }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The keys, ordered case-insensitively.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &GroupKey> + '_ {
        self.entries.iter().map(|e| &e.key)
    }

    /// Whether a group with this key (compared case-insensitively) is in the set.
    pub fn contains(&self, key: &str) -> bool {
        let folded = fold(key);
        self.contains_folded(xxh3_64(folded.as_bytes()), &folded)
    }

    fn contains_folded(&self, hash: u64, folded: &str) -> bool {
        if self.mask & (1u64 << (hash >> 58)) == 0 {
            return false;
        }
        let start = self.by_hash.partition_point(|&(h, _)| h < hash);
        self.by_hash[start..]
            .iter()
            .take_while(|&&(h, _)| h == hash)
            .any(|&(_, i)| &*self.entries[i as usize].folded == folded)
    }

    /// The first of this set's groups (in its order) that `other` also has.
    pub fn first_shared_with(&self, other: &GroupSet) -> Option<&GroupKey> {
        if self.mask & other.mask == 0 {
            return None;
        }
        self.entries.iter().find(|e| other.contains_folded(e.hash, &e.folded)).map(|e| &e.key)
    }
}

impl fmt::Debug for GroupSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// Shows the keys separated by commas: `IsMember, STAFF`.
impl fmt::Display for GroupSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, k) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(k.as_str())?;
        }
        Ok(())
    }
}

impl PartialEq for GroupSet {
    fn eq(&self, other: &GroupSet) -> bool {
        self.entries.len() == other.entries.len()
            && self.entries.iter().zip(other.entries.iter()).all(|(a, b)| a.folded == b.folded)
    }
}

impl Eq for GroupSet {}

impl FromIterator<GroupKey> for GroupSet {
    fn from_iter<I: IntoIterator<Item = GroupKey>>(iter: I) -> GroupSet {
        GroupSet::new(iter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(keys: &[&str]) -> GroupSet {
        keys.iter().map(|k| GroupKey::parse(*k).unwrap()).collect()
    }

    #[test]
    fn folds_case_and_keeps_the_first_spelling() {
        let s = set(&["STAFF", "staff", "Public"]);
        assert_eq!(s.len(), 2);
        assert_eq!(s.to_string(), "Public, STAFF");
        assert!(s.contains("Staff"));
        assert!(!s.contains("MEMBER"));
    }

    #[test]
    fn first_shared_follows_the_sets_own_order() {
        let grants = set(&["STAFF", "Authenticated", "EDITORS"]);
        let member = set(&["Public", "STAFF", "authenticated"]);
        assert_eq!(grants.first_shared_with(&member).map(|k| k.as_str()), Some("Authenticated"));
        assert_eq!(set(&["X"]).first_shared_with(&member), None);
        assert_eq!(GroupSet::default().first_shared_with(&member), None);
    }
}
