//! What the writer keeps in memory so a refresh need not read settings:
//! the community rules, the folded keys of built-in and local groups (an AMS
//! group with one of those keys is refused), the groups already registered,
//! and the attributes last written for each community.
//!
//! The cache is loaded lazily inside the writer's transaction and dropped
//! whenever an operation fails or a settings write may have changed it, so
//! it never outlives a rolled-back change. It assumes settings change only
//! through this store's writer.

use std::collections::{HashMap, HashSet};

use amsync_core::community::Community;
use amsync_core::rules::RuleSet;
use rusqlite::{Connection, OptionalExtension};

use super::codec::from_json;
use crate::error::Result;

pub(crate) const RULES_SETTING: &str = "community_rules";

#[derive(Debug, Default)]
pub(crate) struct Cache {
    loaded: bool,
    rules: RuleSet,
    local_folded: HashSet<String>,
    known_folded: HashSet<String>,
    communities: HashMap<String, Community>,
    /// The thresholds' baselines: (computed at, window, value), ms.
    baseline_active: Option<(i64, i64, u64)>,
    baseline_memberships: Option<(i64, i64, u64)>,
}

/// The part of the cache a refresh plans with.
pub(crate) struct Loaded<'a> {
    pub rules: &'a RuleSet,
    pub local_folded: &'a HashSet<String>,
}

impl Cache {
    pub fn invalidate(&mut self) {
        self.loaded = false;
        self.communities.clear();
        self.baseline_active = None;
        self.baseline_memberships = None;
    }

    fn ensure(&mut self, conn: &Connection) -> Result<()> {
        if self.loaded {
            return Ok(());
        }
        self.rules = read_rules(conn)?;
        self.local_folded.clear();
        self.known_folded.clear();
        let mut stmt = conn.prepare_cached("SELECT key_folded, source, first_seen IS NOT NULL FROM security_groups")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let folded: String = r.get(0)?;
            let source: String = r.get(1)?;
            let seen: bool = r.get(2)?;
            if source != "ams" {
                self.local_folded.insert(folded.clone());
            }
            if source != "ams" || seen {
                self.known_folded.insert(folded);
            }
        }
        self.loaded = true;
        Ok(())
    }

    pub fn loaded(&mut self, conn: &Connection) -> Result<Loaded<'_>> {
        self.ensure(conn)?;
        Ok(Loaded { rules: &self.rules, local_folded: &self.local_folded })
    }

    /// Whether an AMS group (by folded key) was already registered.
    pub fn group_known(&mut self, conn: &Connection, folded: &str) -> Result<bool> {
        self.ensure(conn)?;
        Ok(self.known_folded.contains(folded))
    }

    pub fn note_group(&mut self, folded: String) {
        self.known_folded.insert(folded);
    }

    /// Whether a community was last written with these attributes.
    pub fn community_current(&self, c: &Community) -> bool {
        self.communities.get(c.key.as_str()) == Some(c)
    }

    pub fn note_community(&mut self, c: &Community) {
        self.communities.insert(c.key.as_str().to_owned(), c.clone());
    }

    /// Members active at the window's start, when computed recently for
    /// this window (see `safety.rs`).
    pub fn baseline_active(&self, at: i64, window: i64) -> Option<u64> {
        fresh(self.baseline_active, at, window)
    }

    pub fn set_baseline_active(&mut self, at: i64, window: i64, v: u64) {
        self.baseline_active = Some((at, window, v));
    }

    /// Memberships held at the window's start, likewise.
    pub fn baseline_memberships(&self, at: i64, window: i64) -> Option<u64> {
        fresh(self.baseline_memberships, at, window)
    }

    pub fn set_baseline_memberships(&mut self, at: i64, window: i64, v: u64) {
        self.baseline_memberships = Some((at, window, v));
    }
}

fn fresh(b: Option<(i64, i64, u64)>, at: i64, window: i64) -> Option<u64> {
    match b {
        Some((t, w, v)) if w == window && (at - t).abs() < super::safety::BASELINE_TTL_MS => Some(v),
        _ => None,
    }
}

/// The stored community rules (none stored: no rules, everything included).
pub(crate) fn read_rules(conn: &Connection) -> Result<RuleSet> {
    let text: Option<String> = conn
        .prepare_cached("SELECT value FROM settings WHERE name = ?1")?
        .query_row([RULES_SETTING], |r| r.get(0))
        .optional()?;
    match text {
        Some(t) => from_json("community rules", &t),
        None => Ok(RuleSet::default()),
    }
}
