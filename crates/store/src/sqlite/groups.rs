//! The [`GroupStore`] impl: security groups as an admin changes them.
//!
//! IsMember is computed when read (from the member's AMS groups and the
//! designations), so changing a designation writes no member row; what it
//! does write is a change-feed entry for every active member whose IsMember
//! flips, so the site re-reads exactly those. A local group's membership is
//! the member's own data: each change is recorded in its history (trigger
//! `admin`, field `/local_groups/{key}`) as well as in the feed.
//!
//! Every write here drops the writer's cache, so the next refresh screens
//! AMS groups against the current built-in and local keys.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use amsync_core::diff::{escape_segment, ChangeKind, FieldChange};
use amsync_core::group::{is_member, IsMemberGroups, SUPER_ADMIN};
use amsync_core::member::{check_len, MAX_SHORT_TEXT};
use amsync_core::{GroupKey, GroupSource, MemberKey, Trigger};
use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use serde_json::json;

use super::access::bump_access_version;
use super::codec::{self, ms, to_json};
use super::member_io as io;
use super::writer::SqliteTx;
use super::SqliteBackend;
use crate::access_api::{GroupMembersChanged, GroupUpsert, GroupsChanged, LocalGroupSeed};
use crate::backend::{GroupReads, GroupWritesPhase2};
use crate::error::{Result, StoreError};

const SEEDED_LOCAL_GROUPS: &str = "seeded_local_groups";

/// Unknown keys named in an error, at most.
const MAX_NAMED: usize = 10;

/// A row of `security_groups`.
struct GroupRow {
    key: String,
    source: GroupSource,
    is_member: bool,
}

fn find(conn: &Connection, folded: &str) -> Result<Option<GroupRow>> {
    let row: Option<(String, String, bool)> = conn
        .prepare_cached("SELECT key, source, is_member FROM security_groups WHERE key_folded = ?1")?
        .query_row([folded], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    row.map(|(key, source, is_member)| Ok(GroupRow { key, source: codec::group_source(&source)?, is_member }))
        .transpose()
}

fn named(keys: &[String]) -> String {
    let shown: Vec<&str> = keys.iter().take(MAX_NAMED).map(String::as_str).collect();
    let more = keys.len().saturating_sub(MAX_NAMED);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// Groups as stored: each key resolved to its registered spelling (keys
/// compare case-insensitively), duplicates dropped, order kept. A key no
/// group has is refused, so a typo never grants silently.
pub(crate) fn resolve_groups(conn: &Connection, keys: &[GroupKey]) -> Result<Vec<GroupKey>> {
    let mut out = Vec::with_capacity(keys.len());
    let mut seen = HashSet::new();
    let mut unknown = Vec::new();
    for k in keys {
        let folded = k.folded();
        if !seen.insert(folded.clone()) {
            continue;
        }
        match find(conn, &folded)? {
            Some(row) => out.push(codec::key("group", row.key)?),
            None => unknown.push(k.as_str().to_string()),
        }
    }
    if !unknown.is_empty() {
        return Err(StoreError::Invalid(format!(
            "unknown security groups: {} (an AMS group is known once a member carries it, or once registered \
             with PUT /api/v1/security-groups)",
            named(&unknown)
        )));
    }
    Ok(out)
}

/// The AMS groups designated "counts as IsMember".
pub(crate) fn designated(conn: &Connection) -> Result<IsMemberGroups> {
    let mut stmt = conn.prepare_cached("SELECT key FROM security_groups WHERE is_member = 1 AND source = 'ams'")?;
    let keys = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .map(|k| codec::key::<GroupKey>("group", k?))
        .collect::<Result<Vec<_>>>()?;
    Ok(IsMemberGroups::new(&keys))
}

/// Active members whose IsMember ([`amsync_core::group::is_member`])
/// differs between two designations: those holding a group whose
/// designation changed, judged by the rule on all their groups (a member
/// still counted through another group does not flip).
fn is_member_flips(conn: &Connection, before: &IsMemberGroups, after: &IsMemberGroups) -> Result<Vec<String>> {
    let toggled: BTreeSet<&String> = before.folded().symmetric_difference(after.folded()).collect();
    if toggled.is_empty() {
        return Ok(Vec::new());
    }
    // The spellings members carry (few distinct keys; the index answers).
    let mut stmt = conn.prepare_cached("SELECT DISTINCT group_key FROM member_ams_groups")?;
    let spellings: Vec<String> = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .filter(|k| toggled.contains(&k.to_lowercase()))
        .collect();
    if spellings.is_empty() {
        return Ok(Vec::new());
    }
    let marks = (1..=spellings.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "SELECT g.member_key, g.group_key FROM member_ams_groups g JOIN members m ON m.key = g.member_key
         WHERE m.status = 'active'
           AND g.member_key IN (SELECT t.member_key FROM member_ams_groups t WHERE t.group_key IN ({marks}))
         ORDER BY g.member_key"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(spellings.into_iter().map(Value::Text)), |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut held: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in rows {
        let (member, group) = row?;
        held.entry(member).or_default().push(group);
    }
    // Only active members were read: a disabled member is not IsMember
    // under either designation.
    let counted = |groups: &Vec<String>, designated: &IsMemberGroups| {
        is_member(true, groups.iter().map(String::as_str), designated)
    };
    Ok(held
        .into_iter()
        .filter(|(_, groups)| counted(groups, before) != counted(groups, after))
        .map(|(member, _)| member)
        .collect())
}

fn check_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(StoreError::Invalid("a group's name must not be empty".into()));
    }
    check_len(Some(name), MAX_SHORT_TEXT).map_err(|m| StoreError::Invalid(format!("name: {m}")))
}

fn upsert_one(conn: &Connection, g: &GroupUpsert) -> Result<()> {
    let key = g.key.as_str();
    let folded = g.key.folded();
    if let Some(name) = &g.name {
        check_name(name)?;
    }
    if g.source == Some(GroupSource::Builtin) {
        return Err(StoreError::Invalid(format!("{key}: a group cannot be created as built-in")));
    }
    let update_name = |name: &Option<String>| -> Result<()> {
        if let Some(n) = name {
            conn.prepare_cached("UPDATE security_groups SET name = ?2 WHERE key_folded = ?1")?
                .execute(params![folded, n])?;
        }
        Ok(())
    };
    match find(conn, &folded)? {
        Some(row) => match (row.source, g.source) {
            (GroupSource::Builtin, _) => Err(StoreError::Conflict(format!(
                "{} is a built-in group and cannot be changed (SuperAdmin's members are set with \
                 PUT /api/v1/security-groups/SuperAdmin/members)",
                row.key
            ))),
            (GroupSource::Ams, Some(GroupSource::Local)) => Err(StoreError::Conflict(format!(
                "{} is an AMS group already seen; a local group cannot take its key",
                row.key
            ))),
            (GroupSource::Local, Some(GroupSource::Ams)) => {
                Err(StoreError::Conflict(format!("{} is a local group, not an AMS group", row.key)))
            }
            (GroupSource::Local, _) if g.is_member == Some(true) => {
                Err(StoreError::Invalid(format!("{}: only AMS groups can count as IsMember", row.key)))
            }
            (GroupSource::Ams, _) => {
                if let Some(flag) = g.is_member.filter(|f| *f != row.is_member) {
                    conn.prepare_cached("UPDATE security_groups SET is_member = ?2 WHERE key_folded = ?1")?
                        .execute(params![folded, flag])?;
                    tracing::info!(group = row.key, is_member = flag, "IsMember designation changed");
                }
                update_name(&g.name)
            }
            (GroupSource::Local, _) => update_name(&g.name),
        },
        None => match g.source.unwrap_or(GroupSource::Ams) {
            GroupSource::Local => {
                if g.is_member == Some(true) {
                    return Err(StoreError::Invalid(format!("{key}: only AMS groups can count as IsMember")));
                }
                let name = g
                    .name
                    .as_deref()
                    .ok_or_else(|| StoreError::Invalid(format!("{key}: a new local group needs a name")))?;
                conn.prepare_cached(
                    "INSERT INTO security_groups (key_folded, key, name, source) VALUES (?1, ?2, ?3, 'local')",
                )?
                .execute(params![folded, key, name])?;
                tracing::info!(group = key, "local group created");
                Ok(())
            }
            _ => {
                // Registered ahead of the first member carrying it: no first_seen yet.
                conn.prepare_cached(
                    "INSERT INTO security_groups (key_folded, key, name, source, is_member)
                     VALUES (?1, ?2, ?3, 'ams', ?4)",
                )?
                .execute(params![folded, key, g.name, g.is_member.unwrap_or(false)])?;
                tracing::info!(group = key, is_member = g.is_member.unwrap_or(false), "AMS group registered");
                Ok(())
            }
        },
    }
}

fn upsert(ctx: &mut SqliteTx, groups: &[GroupUpsert], at: i64) -> Result<GroupsChanged> {
    let conn = &ctx.conn;
    let mut keys = HashSet::new();
    for g in groups {
        if !keys.insert(g.key.folded()) {
            return Err(StoreError::Invalid(format!("{} is listed twice (keys compare case-insensitively)", g.key)));
        }
    }
    let before = designated(conn)?;
    for g in groups {
        upsert_one(conn, g)?;
    }
    let after = designated(conn)?;
    let flipped = is_member_flips(conn, &before, &after)?;
    for member in &flipped {
        io::insert_feed(conn, member, ChangeKind::Changed, at)?;
    }
    bump_access_version(conn)?;
    ctx.cache.invalidate();
    Ok(GroupsChanged { affected_members: flipped.len() as u64 })
}

/// Records one member's entering or leaving a local group.
fn record_local_change(conn: &Connection, member: &str, group: &str, now_in: bool, at: i64) -> Result<()> {
    let change = FieldChange {
        field: format!("/local_groups/{}", escape_segment(group)),
        before: json!(!now_in),
        after: json!(now_in),
    };
    io::insert_history(conn, member, at, Trigger::Admin, ChangeKind::Changed, None, &to_json(&[change]))?;
    io::insert_feed(conn, member, ChangeKind::Changed, at)
}

fn local_members(conn: &Connection, group: &str) -> Result<BTreeSet<String>> {
    let mut stmt = conn.prepare_cached("SELECT member_key FROM member_local_groups WHERE group_key = ?1")?;
    let rows = stmt.query_map([group], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn delete(ctx: &mut SqliteTx, key: &GroupKey, at: i64) -> Result<GroupsChanged> {
    let conn = &ctx.conn;
    let folded = key.folded();
    let row = find(conn, &folded)?.ok_or_else(|| StoreError::NotFound(format!("security group {key}")))?;
    match row.source {
        GroupSource::Builtin => {
            return Err(StoreError::Conflict(format!("{} is a built-in group and cannot be deleted", row.key)));
        }
        GroupSource::Ams => {
            return Err(StoreError::Conflict(format!(
                "{} is an AMS group and cannot be deleted; un-designate it with {{\"key\": \"{}\", \"is_member\": false}}",
                row.key, row.key
            )));
        }
        GroupSource::Local => {}
    }
    let members = local_members(conn, &row.key)?;
    conn.prepare_cached("DELETE FROM member_local_groups WHERE group_key = ?1")?.execute([&row.key])?;
    for m in &members {
        record_local_change(conn, m, &row.key, false, at)?;
    }
    // Grants and content naming the group go with it: a later group with the
    // same key (an AMS group, say) must not inherit them.
    conn.prepare_cached("DELETE FROM community_grants WHERE group_folded = ?1")?.execute([&folded])?;
    conn.prepare_cached("DELETE FROM content_groups WHERE group_folded = ?1")?.execute([&folded])?;
    conn.prepare_cached("DELETE FROM security_groups WHERE key_folded = ?1")?.execute([&folded])?;
    bump_access_version(conn)?;
    ctx.cache.invalidate();
    tracing::info!(group = row.key, members = members.len(), "local group deleted");
    Ok(GroupsChanged { affected_members: members.len() as u64 })
}

/// The registered key of a group whose members an admin sets.
fn settable_group(conn: &Connection, key: &GroupKey) -> Result<String> {
    let row = find(conn, &key.folded())?.ok_or_else(|| StoreError::NotFound(format!("security group {key}")))?;
    match row.source {
        GroupSource::Local => Ok(row.key),
        GroupSource::Builtin if row.key.eq_ignore_ascii_case(SUPER_ADMIN) => Ok(row.key),
        GroupSource::Builtin => {
            Err(StoreError::Conflict(format!("{} is computed for every member; its members cannot be set", row.key)))
        }
        GroupSource::Ams => {
            Err(StoreError::Conflict(format!("{} is an AMS group; its members come from the AMS", row.key)))
        }
    }
}

fn set_members(conn: &Connection, key: &GroupKey, members: &[MemberKey], at: i64) -> Result<GroupMembersChanged> {
    let group = settable_group(conn, key)?;
    let wanted: BTreeSet<String> = members.iter().map(|m| m.as_str().to_string()).collect();
    let mut exists = conn.prepare_cached("SELECT 1 FROM members WHERE key = ?1")?;
    let mut unknown = Vec::new();
    for m in &wanted {
        if exists.query_row([m], |_| Ok(())).optional()?.is_none() {
            unknown.push(m.clone());
        }
    }
    if !unknown.is_empty() {
        return Err(StoreError::Invalid(format!("unknown members: {}", named(&unknown))));
    }
    let current = local_members(conn, &group)?;
    let mut insert =
        conn.prepare_cached("INSERT INTO member_local_groups (member_key, group_key, added_at) VALUES (?1, ?2, ?3)")?;
    let added: Vec<&String> = wanted.difference(&current).collect();
    for m in &added {
        insert.execute(params![m, group, at])?;
        record_local_change(conn, m, &group, true, at)?;
    }
    let mut remove = conn.prepare_cached("DELETE FROM member_local_groups WHERE member_key = ?1 AND group_key = ?2")?;
    let removed: Vec<&String> = current.difference(&wanted).collect();
    for m in &removed {
        remove.execute(params![m, group])?;
        record_local_change(conn, m, &group, false, at)?;
    }
    tracing::info!(group, added = added.len(), removed = removed.len(), "local group members replaced");
    Ok(GroupMembersChanged { members: wanted.len() as u64, added: added.len() as u64, removed: removed.len() as u64 })
}

fn seed_local(ctx: &mut SqliteTx, groups: &[LocalGroupSeed]) -> Result<u64> {
    let conn = &ctx.conn;
    let seeded: Option<i64> = conn
        .prepare_cached("SELECT 1 FROM settings WHERE name = ?1")?
        .query_row([SEEDED_LOCAL_GROUPS], |r| r.get(0))
        .optional()?;
    if seeded.is_some() {
        return Ok(0);
    }
    let mut created = 0;
    for g in groups {
        check_name(&g.name)?;
        match find(conn, &g.key.folded())? {
            Some(row) if row.source == GroupSource::Local => {}
            Some(row) => tracing::warn!(
                group = g.key.as_str(),
                taken_by = row.source.as_str(),
                "a local group of the configuration file was not created: its key is taken"
            ),
            None => {
                conn.prepare_cached(
                    "INSERT INTO security_groups (key_folded, key, name, source) VALUES (?1, ?2, ?3, 'local')",
                )?
                .execute(params![g.key.folded(), g.key.as_str(), g.name])?;
                created += 1;
            }
        }
    }
    conn.prepare_cached("INSERT INTO settings (name, value, updated_at) VALUES (?1, 'true', ?2)")?
        .execute(params![SEEDED_LOCAL_GROUPS, ms(Utc::now())])?;
    bump_access_version(conn)?;
    ctx.cache.invalidate();
    Ok(created)
}

impl GroupReads for SqliteBackend {
    async fn group_members(&self, key: &GroupKey) -> Result<Vec<MemberKey>> {
        let key = key.clone();
        self.read_op(move |c| {
            let row = find(c, &key.folded())?.ok_or_else(|| StoreError::NotFound(format!("security group {key}")))?;
            local_members(c, &row.key)?.into_iter().map(|m| codec::key("member", m)).collect()
        })
        .await
    }
}

impl GroupWritesPhase2 for SqliteBackend {
    async fn upsert_security_groups(&self, groups: &[GroupUpsert], at: DateTime<Utc>) -> Result<GroupsChanged> {
        let groups = groups.to_vec();
        self.write_op(move |ctx| upsert(ctx, &groups, ms(at))).await
    }

    async fn delete_security_group(&self, key: &GroupKey, at: DateTime<Utc>) -> Result<GroupsChanged> {
        let key = key.clone();
        self.write_op(move |ctx| delete(ctx, &key, ms(at))).await
    }

    async fn set_group_members(
        &self,
        key: &GroupKey,
        members: &[MemberKey],
        at: DateTime<Utc>,
    ) -> Result<GroupMembersChanged> {
        let (key, members) = (key.clone(), members.to_vec());
        self.write_op(move |ctx| set_members(&ctx.conn, &key, &members, ms(at))).await
    }

    async fn seed_local_groups(&self, groups: &[LocalGroupSeed]) -> Result<u64> {
        let groups = groups.to_vec();
        self.write_op(move |ctx| seed_local(ctx, &groups)).await
    }
}
