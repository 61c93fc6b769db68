//! Security groups as an admin changes them, in PostgreSQL (the same
//! operations as `sqlite/groups.rs`: see there for what they record).
//!
//! seam: phase 2 — the whole operations here (designations and their
//! IsMember flips, local groups and their members, seeding) move to `ops/`
//! with their SQLite twins; their statements then become `GroupTx`
//! methods of `PgTx`.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use amsync_core::diff::{escape_segment, ChangeKind, FieldChange};
use amsync_core::group::{is_member, IsMemberGroups, SUPER_ADMIN};
use amsync_core::member::{check_len, MAX_SHORT_TEXT};
use amsync_core::{GroupKey, GroupSource, MemberKey, Trigger};
use chrono::{DateTime, Utc};
use serde_json::json;

use super::codec::{self, get, ts};
use super::{PgBackend, PgOp, PgTx};
use crate::access_api::{GroupMembersChanged, GroupUpsert, GroupsChanged, LocalGroupSeed};
use crate::backend::{AccessTx, FeedTx, GroupReads, GroupWritesPhase2, MemberTx};
use crate::error::{Result, StoreError};

const SEEDED_LOCAL_GROUPS: &str = "seeded_local_groups";

/// Unknown keys named in an error, at most.
const MAX_NAMED: usize = 10;

struct GroupRow {
    key: String,
    source: GroupSource,
    is_member: bool,
}

async fn find(tx: &mut PgTx, folded: &str) -> Result<Option<GroupRow>> {
    let row =
        tx.query_opt("SELECT key, source, is_member FROM security_groups WHERE key_folded = $1", &[&folded]).await?;
    row.map(|r| {
        Ok(GroupRow { key: get(&r, 0)?, source: codec::group_source(&get::<String>(&r, 1)?)?, is_member: get(&r, 2)? })
    })
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

/// Groups as stored: each key resolved to its registered spelling,
/// duplicates dropped, order kept; a key no group has is refused.
pub(crate) async fn resolve_groups(tx: &mut PgTx, keys: &[GroupKey]) -> Result<Vec<GroupKey>> {
    let mut out = Vec::with_capacity(keys.len());
    let mut seen = HashSet::new();
    let mut unknown = Vec::new();
    for k in keys {
        let folded = k.folded();
        if !seen.insert(folded.clone()) {
            continue;
        }
        match find(tx, &folded).await? {
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
pub(crate) async fn designated(tx: &mut PgTx) -> Result<IsMemberGroups> {
    let rows = tx.query("SELECT key FROM security_groups WHERE is_member AND source = 'ams'", &[]).await?;
    let keys = rows.iter().map(|r| codec::key::<GroupKey>("group", get(r, 0)?)).collect::<Result<Vec<_>>>()?;
    Ok(IsMemberGroups::new(&keys))
}

/// Active members whose IsMember differs between two designations.
async fn is_member_flips(tx: &mut PgTx, before: &IsMemberGroups, after: &IsMemberGroups) -> Result<Vec<String>> {
    let toggled: BTreeSet<&String> = before.folded().symmetric_difference(after.folded()).collect();
    if toggled.is_empty() {
        return Ok(Vec::new());
    }
    let rows = tx.query("SELECT DISTINCT group_key FROM member_ams_groups", &[]).await?;
    let spellings: Vec<String> = rows
        .iter()
        .map(|r| get::<String>(r, 0))
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .filter(|k| toggled.contains(&k.to_lowercase()))
        .collect();
    if spellings.is_empty() {
        return Ok(Vec::new());
    }
    let rows = tx
        .query(
            "SELECT g.member_key, g.group_key FROM member_ams_groups g JOIN members m ON m.key = g.member_key
             WHERE m.status = 'active'
               AND g.member_key IN (SELECT t.member_key FROM member_ams_groups t WHERE t.group_key = ANY($1))
             ORDER BY g.member_key",
            &[&spellings],
        )
        .await?;
    let mut held: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in &rows {
        held.entry(get(r, 0)?).or_default().push(get(r, 1)?);
    }
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

async fn update_name(tx: &mut PgTx, folded: &str, name: &Option<String>) -> Result<()> {
    if let Some(n) = name {
        tx.exec("UPDATE security_groups SET name = $2 WHERE key_folded = $1", &[&folded, n]).await?;
    }
    Ok(())
}

async fn upsert_one(tx: &mut PgTx, g: &GroupUpsert) -> Result<()> {
    let key = g.key.as_str();
    let folded = g.key.folded();
    if let Some(name) = &g.name {
        check_name(name)?;
    }
    if g.source == Some(GroupSource::Builtin) {
        return Err(StoreError::Invalid(format!("{key}: a group cannot be created as built-in")));
    }
    match find(tx, &folded).await? {
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
                    tx.exec("UPDATE security_groups SET is_member = $2 WHERE key_folded = $1", &[&folded, &flag])
                        .await?;
                    tracing::info!(group = row.key, is_member = flag, "IsMember designation changed");
                }
                update_name(tx, &folded, &g.name).await
            }
            (GroupSource::Local, _) => update_name(tx, &folded, &g.name).await,
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
                tx.exec(
                    "INSERT INTO security_groups (key_folded, key, name, source) VALUES ($1, $2, $3, 'local')",
                    &[&folded, &key, &name],
                )
                .await?;
                tracing::info!(group = key, "local group created");
                Ok(())
            }
            _ => {
                let flag = g.is_member.unwrap_or(false);
                tx.exec(
                    "INSERT INTO security_groups (key_folded, key, name, source, is_member) VALUES ($1, $2, $3, 'ams', $4)",
                    &[&folded, &key, &g.name, &flag],
                )
                .await?;
                tracing::info!(group = key, is_member = flag, "AMS group registered");
                Ok(())
            }
        },
    }
}

/// Records one member's entering or leaving a local group.
async fn record_local_change(tx: &mut PgTx, member: &str, group: &str, now_in: bool, at: DateTime<Utc>) -> Result<()> {
    let change = FieldChange {
        field: format!("/local_groups/{}", escape_segment(group)),
        before: json!(!now_in),
        after: json!(now_in),
    };
    tx.insert_history(member, at, Trigger::Admin, ChangeKind::Changed, None, &[change]).await?;
    tx.append_to_feed(member, ChangeKind::Changed, at).await
}

async fn local_members(tx: &mut PgTx, group: &str) -> Result<BTreeSet<String>> {
    let rows = tx.query("SELECT member_key FROM member_local_groups WHERE group_key = $1", &[&group]).await?;
    rows.iter().map(|r| get(r, 0)).collect()
}

struct Upsert {
    groups: Vec<GroupUpsert>,
    at: DateTime<Utc>,
}

impl PgOp for Upsert {
    type Output = GroupsChanged;

    async fn run(&mut self, tx: &mut PgTx) -> Result<GroupsChanged> {
        let mut keys = HashSet::new();
        for g in &self.groups {
            if !keys.insert(g.key.folded()) {
                return Err(StoreError::Invalid(format!(
                    "{} is listed twice (keys compare case-insensitively)",
                    g.key
                )));
            }
        }
        let before = designated(tx).await?;
        for g in &self.groups {
            upsert_one(tx, g).await?;
        }
        let after = designated(tx).await?;
        let flipped = is_member_flips(tx, &before, &after).await?;
        for member in &flipped {
            tx.append_to_feed(member, ChangeKind::Changed, self.at).await?;
        }
        tx.bump_access_version().await?;
        Ok(GroupsChanged { affected_members: flipped.len() as u64 })
    }
}

struct Delete {
    key: GroupKey,
    at: DateTime<Utc>,
}

impl PgOp for Delete {
    type Output = GroupsChanged;

    async fn run(&mut self, tx: &mut PgTx) -> Result<GroupsChanged> {
        let key = &self.key;
        let folded = key.folded();
        let row = find(tx, &folded).await?.ok_or_else(|| StoreError::NotFound(format!("security group {key}")))?;
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
        let members = local_members(tx, &row.key).await?;
        tx.exec("DELETE FROM member_local_groups WHERE group_key = $1", &[&row.key]).await?;
        for m in &members {
            record_local_change(tx, m, &row.key, false, self.at).await?;
        }
        // Grants and content naming the group go with it.
        tx.exec("DELETE FROM community_grants WHERE group_folded = $1", &[&folded]).await?;
        tx.exec("DELETE FROM content_groups WHERE group_folded = $1", &[&folded]).await?;
        tx.exec("DELETE FROM security_groups WHERE key_folded = $1", &[&folded]).await?;
        tx.bump_access_version().await?;
        tracing::info!(group = row.key, members = members.len(), "local group deleted");
        Ok(GroupsChanged { affected_members: members.len() as u64 })
    }
}

/// The registered key of a group whose members an admin sets.
async fn settable_group(tx: &mut PgTx, key: &GroupKey) -> Result<String> {
    let row = find(tx, &key.folded()).await?.ok_or_else(|| StoreError::NotFound(format!("security group {key}")))?;
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

struct SetMembers {
    key: GroupKey,
    members: Vec<MemberKey>,
    at: DateTime<Utc>,
}

impl PgOp for SetMembers {
    type Output = GroupMembersChanged;

    async fn run(&mut self, tx: &mut PgTx) -> Result<GroupMembersChanged> {
        let group = settable_group(tx, &self.key).await?;
        let wanted: BTreeSet<String> = self.members.iter().map(|m| m.as_str().to_string()).collect();
        let list: Vec<&str> = wanted.iter().map(String::as_str).collect();
        let rows = tx.query("SELECT key FROM members WHERE key = ANY($1)", &[&list]).await?;
        let known: HashSet<String> = rows.iter().map(|r| get(r, 0)).collect::<Result<_>>()?;
        let unknown: Vec<String> = wanted.iter().filter(|m| !known.contains(*m)).cloned().collect();
        if !unknown.is_empty() {
            return Err(StoreError::Invalid(format!("unknown members: {}", named(&unknown))));
        }
        let current = local_members(tx, &group).await?;
        let added: Vec<&String> = wanted.difference(&current).collect();
        for m in &added {
            tx.exec(
                "INSERT INTO member_local_groups (member_key, group_key, added_at) VALUES ($1, $2, $3)",
                &[m, &group, &ts(self.at)],
            )
            .await?;
            record_local_change(tx, m, &group, true, self.at).await?;
        }
        let removed: Vec<&String> = current.difference(&wanted).collect();
        for m in &removed {
            tx.exec("DELETE FROM member_local_groups WHERE member_key = $1 AND group_key = $2", &[m, &group]).await?;
            record_local_change(tx, m, &group, false, self.at).await?;
        }
        tracing::info!(group, added = added.len(), removed = removed.len(), "local group members replaced");
        Ok(GroupMembersChanged {
            members: wanted.len() as u64,
            added: added.len() as u64,
            removed: removed.len() as u64,
        })
    }
}

struct SeedLocal {
    groups: Vec<LocalGroupSeed>,
}

impl PgOp for SeedLocal {
    type Output = u64;

    async fn run(&mut self, tx: &mut PgTx) -> Result<u64> {
        if tx.query_opt("SELECT 1 FROM settings WHERE name = $1", &[&SEEDED_LOCAL_GROUPS]).await?.is_some() {
            return Ok(0);
        }
        let mut created = 0;
        for g in &self.groups {
            check_name(&g.name)?;
            match find(tx, &g.key.folded()).await? {
                Some(row) if row.source == GroupSource::Local => {}
                Some(row) => tracing::warn!(
                    group = g.key.as_str(),
                    taken_by = row.source.as_str(),
                    "a local group of the configuration file was not created: its key is taken"
                ),
                None => {
                    tx.exec(
                        "INSERT INTO security_groups (key_folded, key, name, source) VALUES ($1, $2, $3, 'local')",
                        &[&g.key.folded(), &g.key.as_str(), &g.name],
                    )
                    .await?;
                    created += 1;
                }
            }
        }
        tx.exec(
            "INSERT INTO settings (name, value, updated_at) VALUES ($1, 'true', $2)",
            &[&SEEDED_LOCAL_GROUPS, &ts(Utc::now())],
        )
        .await?;
        tx.bump_access_version().await?;
        Ok(created)
    }
}

impl GroupReads for PgBackend {
    async fn group_members(&self, key: &GroupKey) -> Result<Vec<MemberKey>> {
        let mut tx = self.snapshot().await?;
        let row =
            find(&mut tx, &key.folded()).await?.ok_or_else(|| StoreError::NotFound(format!("security group {key}")))?;
        let members = local_members(&mut tx, &row.key).await?;
        tx.commit().await?;
        members.into_iter().map(|m| codec::key("member", m)).collect()
    }
}

impl GroupWritesPhase2 for PgBackend {
    async fn upsert_security_groups(&self, groups: &[GroupUpsert], at: DateTime<Utc>) -> Result<GroupsChanged> {
        self.run(Upsert { groups: groups.to_vec(), at }).await
    }

    async fn delete_security_group(&self, key: &GroupKey, at: DateTime<Utc>) -> Result<GroupsChanged> {
        self.run(Delete { key: key.clone(), at }).await
    }

    async fn set_group_members(
        &self,
        key: &GroupKey,
        members: &[MemberKey],
        at: DateTime<Utc>,
    ) -> Result<GroupMembersChanged> {
        self.run(SetMembers { key: key.clone(), members: members.to_vec(), at }).await
    }

    async fn seed_local_groups(&self, groups: &[LocalGroupSeed]) -> Result<u64> {
        self.run(SeedLocal { groups: groups.to_vec() }).await
    }
}
