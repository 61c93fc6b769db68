//! Security groups as an admin changes them (designations, local groups
//! and their members), and resolving the groups a grant or a content item
//! names.
//!
//! IsMember is computed when read (from the member's AMS groups and the
//! designations), so changing a designation writes no member row; what it
//! does write is a change-feed entry for every active member whose
//! IsMember ([`amsync_core::group::is_member`]) flips, so the site re-reads
//! exactly those. A local group's membership is the member's own data:
//! each change is recorded in its history (trigger `admin`, field
//! `/local_groups/{key}`) as well as in the feed.

use std::collections::{BTreeSet, HashSet};

use amsync_core::diff::{escape_segment, ChangeKind, FieldChange};
use amsync_core::group::{is_member, IsMemberGroups, SUPER_ADMIN};
use amsync_core::member::{check_len, MAX_SHORT_TEXT};
use amsync_core::{GroupKey, GroupSource, MemberKey, Trigger};
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::access_api::{GroupMembersChanged, GroupUpsert, GroupsChanged, LocalGroupSeed};
use crate::backend::{StoredGroup, Tx, WriteOp};
use crate::error::{Result, StoreError};

/// Unknown keys named in an error, at most.
const MAX_NAMED: usize = 10;

fn named<S: AsRef<str>>(keys: &[S]) -> String {
    let shown: Vec<&str> = keys.iter().take(MAX_NAMED).map(|k| k.as_ref()).collect();
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
pub(crate) async fn resolve_groups<T: Tx>(tx: &mut T, keys: &[GroupKey]) -> Result<Vec<GroupKey>> {
    let mut out = Vec::with_capacity(keys.len());
    let mut seen = HashSet::new();
    let mut unknown = Vec::new();
    for k in keys {
        let folded = k.folded();
        if !seen.insert(folded.clone()) {
            continue;
        }
        match tx.find_group(&folded).await? {
            Some(g) => out.push(g.key),
            None => unknown.push(k.as_str()),
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

async fn designation<T: Tx>(tx: &mut T) -> Result<IsMemberGroups> {
    Ok(IsMemberGroups::new(&tx.designated_groups().await?))
}

/// Active members whose IsMember differs between two designations: those
/// holding a group whose designation changed, judged by the rule on all
/// their groups (a member still counted through another group does not
/// flip). A disabled member is not IsMember under either.
async fn is_member_flips<T: Tx>(tx: &mut T, before: &IsMemberGroups, after: &IsMemberGroups) -> Result<Vec<MemberKey>> {
    let toggled: Vec<&str> = before.folded().symmetric_difference(after.folded()).map(String::as_str).collect();
    if toggled.is_empty() {
        return Ok(Vec::new());
    }
    let counted =
        |groups: &[String], designated: &IsMemberGroups| is_member(true, groups.iter().map(String::as_str), designated);
    Ok(tx
        .active_holders(&toggled)
        .await?
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

/// What an admin's upsert of one group does to the group registered under
/// its key (`None`: none is).
enum UpsertAction {
    /// An AMS group already registered: its designation and name.
    UpdateAms {
        is_member: Option<bool>,
    },
    /// A local group: its name.
    RenameLocal,
    CreateLocal {
        name: String,
    },
    /// An AMS group registered ahead of the first member carrying it.
    RegisterAms,
}

fn upsert_action(g: &GroupUpsert, stored: Option<&StoredGroup>) -> Result<UpsertAction> {
    let key = g.key.as_str();
    if let Some(name) = &g.name {
        check_name(name)?;
    }
    if g.source == Some(GroupSource::Builtin) {
        return Err(StoreError::Invalid(format!("{key}: a group cannot be created as built-in")));
    }
    let Some(row) = stored else {
        return match g.source.unwrap_or(GroupSource::Ams) {
            GroupSource::Local => {
                if g.is_member == Some(true) {
                    return Err(StoreError::Invalid(format!("{key}: only AMS groups can count as IsMember")));
                }
                let name = g
                    .name
                    .clone()
                    .ok_or_else(|| StoreError::Invalid(format!("{key}: a new local group needs a name")))?;
                Ok(UpsertAction::CreateLocal { name })
            }
            _ => Ok(UpsertAction::RegisterAms),
        };
    };
    match (row.source, g.source) {
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
        (GroupSource::Ams, _) => Ok(UpsertAction::UpdateAms { is_member: g.is_member.filter(|f| *f != row.is_member) }),
        (GroupSource::Local, _) => Ok(UpsertAction::RenameLocal),
    }
}

async fn upsert_one<T: Tx>(tx: &mut T, g: &GroupUpsert) -> Result<()> {
    let folded = g.key.folded();
    let stored = tx.find_group(&folded).await?;
    match upsert_action(g, stored.as_ref())? {
        UpsertAction::UpdateAms { is_member } => {
            if let Some(flag) = is_member {
                tx.set_designation(&folded, flag).await?;
                let key = stored.as_ref().map(|s| s.key.as_str()).unwrap_or_default();
                tracing::info!(group = key, is_member = flag, "IsMember designation changed");
            }
        }
        UpsertAction::RenameLocal => {}
        UpsertAction::CreateLocal { name } => {
            tx.insert_local_group(&g.key, &name).await?;
            tracing::info!(group = g.key.as_str(), "local group created");
            return Ok(());
        }
        UpsertAction::RegisterAms => {
            let is_member = g.is_member.unwrap_or(false);
            tx.insert_ams_group(&g.key, g.name.as_deref(), is_member).await?;
            tracing::info!(group = g.key.as_str(), is_member, "AMS group registered");
            return Ok(());
        }
    }
    if let Some(name) = &g.name {
        tx.set_group_name(&folded, name).await?;
    }
    Ok(())
}

/// [`crate::GroupStore::upsert_security_groups`]: every group or none; the
/// members whose IsMember flips get a change-feed entry.
pub(crate) struct UpsertSecurityGroups {
    pub groups: Vec<GroupUpsert>,
    pub at: DateTime<Utc>,
}

impl WriteOp for UpsertSecurityGroups {
    type Output = GroupsChanged;

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<GroupsChanged> {
        let mut keys = HashSet::new();
        for g in &self.groups {
            if !keys.insert(g.key.folded()) {
                return Err(StoreError::Invalid(format!(
                    "{} is listed twice (keys compare case-insensitively)",
                    g.key
                )));
            }
        }
        let before = designation(tx).await?;
        for g in &self.groups {
            upsert_one(tx, g).await?;
        }
        let after = designation(tx).await?;
        let flipped = is_member_flips(tx, &before, &after).await?;
        for member in &flipped {
            tx.append_to_feed(member.as_str(), ChangeKind::Changed, self.at).await?;
        }
        tx.bump_access_version().await?;
        Ok(GroupsChanged { affected_members: flipped.len() as u64 })
    }
}

/// Records one member's entering or leaving a local group.
async fn record_local_change<T: Tx>(
    tx: &mut T,
    member: &MemberKey,
    group: &GroupKey,
    now_in: bool,
    at: DateTime<Utc>,
) -> Result<()> {
    let change = FieldChange {
        field: format!("/local_groups/{}", escape_segment(group.as_str())),
        before: json!(!now_in),
        after: json!(now_in),
    };
    tx.insert_history(member.as_str(), at, Trigger::Admin, ChangeKind::Changed, None, &[change]).await?;
    tx.append_to_feed(member.as_str(), ChangeKind::Changed, at).await
}

/// [`crate::GroupStore::delete_security_group`]: only a local group; its
/// members leave it (each recorded), and grants and content naming it go
/// with it.
pub(crate) struct DeleteSecurityGroup {
    pub key: GroupKey,
    pub at: DateTime<Utc>,
}

impl WriteOp for DeleteSecurityGroup {
    type Output = GroupsChanged;

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<GroupsChanged> {
        let folded = self.key.folded();
        let row = tx
            .find_group(&folded)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("security group {}", self.key)))?;
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
        let members = tx.local_group_members(&row.key).await?;
        tx.remove_local_memberships(&row.key, None).await?;
        for m in &members {
            record_local_change(tx, m, &row.key, false, self.at).await?;
        }
        tx.delete_group(&folded).await?;
        tx.bump_access_version().await?;
        tracing::info!(group = row.key.as_str(), members = members.len(), "local group deleted");
        Ok(GroupsChanged { affected_members: members.len() as u64 })
    }
}

/// The registered key of a group whose members an admin sets: a local
/// group, or SuperAdmin.
fn settable(row: StoredGroup) -> Result<GroupKey> {
    match row.source {
        GroupSource::Local => Ok(row.key),
        GroupSource::Builtin if row.key.as_str().eq_ignore_ascii_case(SUPER_ADMIN) => Ok(row.key),
        GroupSource::Builtin => {
            Err(StoreError::Conflict(format!("{} is computed for every member; its members cannot be set", row.key)))
        }
        GroupSource::Ams => {
            Err(StoreError::Conflict(format!("{} is an AMS group; its members come from the AMS", row.key)))
        }
    }
}

/// [`crate::GroupStore::set_group_members`]: the group's members become
/// exactly `members` (every one a stored member); each one added or
/// removed is recorded.
pub(crate) struct SetGroupMembers {
    pub key: GroupKey,
    pub members: Vec<MemberKey>,
    pub at: DateTime<Utc>,
}

impl WriteOp for SetGroupMembers {
    type Output = GroupMembersChanged;

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<GroupMembersChanged> {
        let row = tx
            .find_group(&self.key.folded())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("security group {}", self.key)))?;
        let group = settable(row)?;
        let wanted: BTreeSet<MemberKey> = self.members.iter().cloned().collect();
        let mut unknown = Vec::new();
        for m in &wanted {
            if !tx.member_exists(m).await? {
                unknown.push(m.as_str());
            }
        }
        if !unknown.is_empty() {
            return Err(StoreError::Invalid(format!("unknown members: {}", named(&unknown))));
        }
        let current: BTreeSet<MemberKey> = tx.local_group_members(&group).await?.into_iter().collect();
        let added: Vec<&MemberKey> = wanted.difference(&current).collect();
        for m in &added {
            tx.add_local_membership(m, &group, self.at).await?;
            record_local_change(tx, m, &group, true, self.at).await?;
        }
        let removed: Vec<&MemberKey> = current.difference(&wanted).collect();
        for m in &removed {
            tx.remove_local_memberships(&group, Some(m)).await?;
            record_local_change(tx, m, &group, false, self.at).await?;
        }
        tracing::info!(
            group = group.as_str(),
            added = added.len(),
            removed = removed.len(),
            "local group members replaced"
        );
        Ok(GroupMembersChanged {
            members: wanted.len() as u64,
            added: added.len() as u64,
            removed: removed.len() as u64,
        })
    }
}

/// [`crate::GroupStore::seed_local_groups`]: once per database, the
/// configuration file's local groups, each unless its key is taken.
pub(crate) struct SeedLocalGroups {
    pub groups: Vec<LocalGroupSeed>,
    pub at: DateTime<Utc>,
}

impl WriteOp for SeedLocalGroups {
    type Output = u64;

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<u64> {
        if tx.local_groups_seeded().await? {
            return Ok(0);
        }
        let mut created = 0;
        for g in &self.groups {
            check_name(&g.name)?;
            match tx.find_group(&g.key.folded()).await? {
                Some(row) if row.source == GroupSource::Local => {}
                Some(row) => tracing::warn!(
                    group = g.key.as_str(),
                    taken_by = row.source.as_str(),
                    "a local group of the configuration file was not created: its key is taken"
                ),
                None => {
                    tx.insert_local_group(&g.key, &g.name).await?;
                    created += 1;
                }
            }
        }
        tx.mark_local_groups_seeded(self.at).await?;
        tx.bump_access_version().await?;
        Ok(created)
    }
}
