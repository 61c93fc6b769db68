//! Field-level differences between two states of a member, and the plan of
//! a Member Refresh: what the new state is and which changes history records.
//!
//! Paths are JSON-pointer-like: `/last_name`, `/address/city`; lists without
//! keys (`/phones`, `/social`, `/demographics`) change as whole values; a
//! membership is `/memberships/{community}/{begin}`, an AMS group
//! `/security_groups/{key}`; `/` and `~` in keys are escaped as in RFC 6901.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::community::Membership;
use crate::error::{DataError, Part};
use crate::group::{is_builtin, SecurityGroupRef};
use crate::keys::MemberKey;
use crate::member::{AmsStatus, MemberDetails};
use crate::record::{DisabledReason, MemberRecord, MemberStatus};
use crate::rules::RuleSet;

/// One field that changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub before: Value,
    pub after: Value,
}

/// What kind of history entry a change is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// The member's first load: one entry, not a row per field.
    Created,
    Changed,
    Disabled,
    Enabled,
    Erased,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Created => "created",
            ChangeKind::Changed => "changed",
            ChangeKind::Disabled => "disabled",
            ChangeKind::Enabled => "enabled",
            ChangeKind::Erased => "erased",
        }
    }
}

/// Escapes a key for use as one segment of a path (RFC 6901).
pub fn escape_segment(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

fn opt(v: &Option<String>) -> Value {
    v.as_ref().map_or(Value::Null, |s| Value::String(s.clone()))
}

fn push_if_ne(out: &mut Vec<FieldChange>, field: impl Into<String>, before: Value, after: Value) {
    if before != after {
        out.push(FieldChange { field: field.into(), before, after });
    }
}

/// The differences between two sets of details (key excluded).
pub fn diff_details(old: &MemberDetails, new: &MemberDetails, out: &mut Vec<FieldChange>) {
    push_if_ne(out, "/ams_status", json!(old.status.as_str()), json!(new.status.as_str()));
    for (name, a, b) in [
        ("prefix", &old.prefix, &new.prefix),
        ("first_name", &old.first_name, &new.first_name),
        ("middle_name", &old.middle_name, &new.middle_name),
        ("last_name", &old.last_name, &new.last_name),
        ("nickname", &old.nickname, &new.nickname),
        ("suffix", &old.suffix, &new.suffix),
        ("credentials", &old.credentials, &new.credentials),
        ("email", &old.email, &new.email),
    ] {
        push_if_ne(out, format!("/{name}"), opt(a), opt(b));
    }
    push_if_ne(out, "/phones", json!(old.phones), json!(new.phones));
    let empty = Default::default();
    let (a, b) = (old.address.as_ref().unwrap_or(&empty), new.address.as_ref().unwrap_or(&empty));
    for (name, x, y) in [
        ("line1", &a.line1, &b.line1),
        ("line2", &a.line2, &b.line2),
        ("line3", &a.line3, &b.line3),
        ("city", &a.city, &b.city),
        ("state", &a.state, &b.state),
        ("postal_code", &a.postal_code, &b.postal_code),
        ("country_code", &a.country_code, &b.country_code),
    ] {
        push_if_ne(out, format!("/address/{name}"), opt(x), opt(y));
    }
    push_if_ne(out, "/website", opt(&old.website), opt(&new.website));
    push_if_ne(out, "/social", json!(old.social), json!(new.social));
    push_if_ne(out, "/demographics", json!(old.demographics), json!(new.demographics));
}

fn membership_value(m: &Membership) -> Value {
    json!({"community": m.community, "begin": m.begin, "end": m.end, "role": m.role})
}

/// The differences between two membership sets, by (community, begin).
pub fn diff_memberships(old: &[Membership], new: &[Membership], out: &mut Vec<FieldChange>) {
    let index = |list: &[Membership]| -> BTreeMap<(String, String), Value> {
        list.iter().map(|m| ((m.community.key.to_string(), m.begin.to_string()), membership_value(m))).collect()
    };
    let (a, b) = (index(old), index(new));
    let keys: std::collections::BTreeSet<_> = a.keys().chain(b.keys()).cloned().collect();
    for k in keys {
        let before = a.get(&k).cloned().unwrap_or(Value::Null);
        let after = b.get(&k).cloned().unwrap_or(Value::Null);
        push_if_ne(out, format!("/memberships/{}/{}", escape_segment(&k.0), k.1), before, after);
    }
}

/// The differences between two AMS group sets, by key.
pub fn diff_groups(old: &[SecurityGroupRef], new: &[SecurityGroupRef], out: &mut Vec<FieldChange>) {
    let index = |list: &[SecurityGroupRef]| -> BTreeMap<String, Value> {
        list.iter().map(|g| (g.key.to_string(), json!({"name": g.name}))).collect()
    };
    let (a, b) = (index(old), index(new));
    let keys: std::collections::BTreeSet<_> = a.keys().chain(b.keys()).cloned().collect();
    for k in keys {
        let before = a.get(&k).cloned().unwrap_or(Value::Null);
        let after = b.get(&k).cloned().unwrap_or(Value::Null);
        push_if_ne(out, format!("/security_groups/{}", escape_segment(&k)), before, after);
    }
}

/// Every difference between two records (local groups excluded: a refresh
/// never touches them).
pub fn diff_records(old: &MemberRecord, new: &MemberRecord) -> Vec<FieldChange> {
    let mut out = Vec::new();
    push_if_ne(&mut out, "/status", json!(old.status.as_str()), json!(new.status.as_str()));
    push_if_ne(
        &mut out,
        "/disabled_reason",
        json!(old.disabled_reason.map(DisabledReason::as_str)),
        json!(new.disabled_reason.map(DisabledReason::as_str)),
    );
    push_if_ne(&mut out, "/merged_into", json!(old.merged_into), json!(new.merged_into));
    diff_details(&old.details, &new.details, &mut out);
    diff_memberships(&old.memberships, &new.memberships, &mut out);
    diff_groups(&old.ams_groups, &new.ams_groups, &mut out);
    out
}

/// Splits an AMS group list into accepted groups and data errors: a group
/// whose key equals a built-in or local group's key (case-insensitive) is a
/// data error for that group only, never a privilege.
pub fn screen_ams_groups(
    member: &MemberKey,
    groups: &[SecurityGroupRef],
    local_keys_folded: &HashSet<String>,
) -> (Vec<SecurityGroupRef>, Vec<DataError>) {
    let mut accepted = Vec::with_capacity(groups.len());
    let mut errors = Vec::new();
    for (i, g) in groups.iter().enumerate() {
        if is_builtin(g.key.as_str()) || local_keys_folded.contains(&g.key.folded()) {
            errors.push(DataError::new(
                member.as_str(),
                Part::SecurityGroups,
                format!("/groups/{i}/key"),
                format!("AMS group {:?} has the key of a built-in or local group; it was ignored", g.key.as_str()),
            ));
        } else {
            accepted.push(g.clone());
        }
    }
    (accepted, errors)
}

/// The three parts of a successful Member Refresh, normalized and validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedMember {
    pub details: MemberDetails,
    /// Every membership the AMS listed, before the community rules.
    pub memberships: Vec<Membership>,
    pub groups: Vec<SecurityGroupRef>,
}

/// What the refresh will write.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshPlan {
    pub new: MemberRecord,
    pub kind: ChangeKind,
    /// Field changes for history (empty for `Created`, and when nothing changed).
    pub changes: Vec<FieldChange>,
    /// Groups refused for colliding with built-in or local groups.
    pub group_errors: Vec<DataError>,
    /// Memberships the new state no longer has (for the removal threshold).
    pub memberships_removed: usize,
}

impl RefreshPlan {
    /// True when nothing about the member changes.
    pub fn is_unchanged(&self) -> bool {
        self.kind == ChangeKind::Changed && self.changes.is_empty()
    }
}

/// The effective status after the AMS answered with details: an admin's
/// disable sticks; otherwise the AMS status decides.
fn status_from_ams(old: Option<&MemberRecord>, ams: AmsStatus) -> (MemberStatus, Option<DisabledReason>) {
    if let Some(o) = old {
        if o.disabled_reason == Some(DisabledReason::Admin) {
            return (MemberStatus::Disabled, Some(DisabledReason::Admin));
        }
    }
    match ams {
        AmsStatus::Active => (MemberStatus::Active, None),
        AmsStatus::Disabled => (MemberStatus::Disabled, Some(DisabledReason::AmsStatus)),
    }
}

fn kind_for(old: &MemberRecord, new: &MemberRecord) -> ChangeKind {
    match (old.status, new.status) {
        (MemberStatus::Active, MemberStatus::Disabled) => ChangeKind::Disabled,
        (MemberStatus::Disabled, MemberStatus::Active) => ChangeKind::Enabled,
        _ => ChangeKind::Changed,
    }
}

/// Plans the refresh of a member whose three parts were fetched.
pub fn plan_fetched(
    old: Option<&MemberRecord>,
    fetched: FetchedMember,
    rules: &RuleSet,
    local_keys_folded: &HashSet<String>,
) -> RefreshPlan {
    let key = fetched.details.key.clone();
    let (status, disabled_reason) = status_from_ams(old, fetched.details.status);
    let memberships: Vec<Membership> =
        fetched.memberships.into_iter().filter(|m| rules.includes(&m.community)).collect();
    let (ams_groups, group_errors) = screen_ams_groups(&key, &fetched.groups, local_keys_folded);
    let new = MemberRecord {
        details: fetched.details,
        status,
        disabled_reason,
        merged_into: None,
        memberships,
        ams_groups,
        local_groups: old.map(|o| o.local_groups.clone()).unwrap_or_default(),
    };
    finish(old, new, group_errors)
}

/// Plans the refresh of a member the AMS no longer has (404, or 410 with an
/// optional merge target). Returns `None` for a member amsync never held:
/// there is nothing to disable.
pub fn plan_gone(old: Option<&MemberRecord>, merged_into: Option<MemberKey>) -> Option<RefreshPlan> {
    let old = old?;
    let mut new = old.clone();
    new.status = MemberStatus::Disabled;
    new.disabled_reason = Some(match (&merged_into, old.disabled_reason) {
        (_, Some(DisabledReason::Admin)) => DisabledReason::Admin,
        (Some(_), _) => DisabledReason::MergedInto,
        (None, _) => DisabledReason::AmsNotFound,
    });
    new.merged_into = merged_into;
    Some(finish(Some(old), new, Vec::new()))
}

/// Plans re-applying community rules from the stored full membership list.
pub fn plan_rules(old: &MemberRecord, all_memberships: &[Membership], rules: &RuleSet) -> RefreshPlan {
    let mut new = old.clone();
    new.memberships = all_memberships.iter().filter(|m| rules.includes(&m.community)).cloned().collect();
    finish(Some(old), new, Vec::new())
}

/// A membership as a store keeps it, identified within its member: the
/// community's key and the begin date.
pub type MembershipId = (String, NaiveDate);

/// What re-applying community rules changes of one member's kept
/// memberships.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReapplyDelta {
    /// Memberships the rules now include that were not kept.
    pub added: u64,
    /// Kept memberships the rules no longer include.
    pub removed: u64,
}

/// The re-apply rule: the memberships `rules` want kept are those of
/// `all` (every membership the AMS listed) whose community they include.
/// `None` when that is exactly `kept`.
pub fn reapply_delta(rules: &RuleSet, all: &[Membership], kept: &HashSet<MembershipId>) -> Option<ReapplyDelta> {
    let wanted: HashSet<MembershipId> =
        all.iter().filter(|m| rules.includes(&m.community)).map(|m| (m.community.key.to_string(), m.begin)).collect();
    if &wanted == kept {
        return None;
    }
    Some(ReapplyDelta {
        added: wanted.difference(kept).count() as u64,
        removed: kept.difference(&wanted).count() as u64,
    })
}

/// Plans re-applying `rules` to member `key`, which keeps `kept` of `all`
/// (see [`reapply_delta`]); `None` when nothing changes. Only memberships
/// differ between the old and new state, so the rest of the record stays
/// empty on both sides of the diff.
pub fn plan_reapply(
    key: MemberKey,
    all: &[Membership],
    kept: &HashSet<MembershipId>,
    rules: &RuleSet,
) -> Option<(RefreshPlan, ReapplyDelta)> {
    let delta = reapply_delta(rules, all, kept)?;
    let old = MemberRecord {
        details: MemberDetails::empty(key),
        status: MemberStatus::Active,
        disabled_reason: None,
        merged_into: None,
        memberships: all.iter().filter(|m| kept.contains(&(m.community.key.to_string(), m.begin))).cloned().collect(),
        ams_groups: Vec::new(),
        local_groups: Vec::new(),
    };
    Some((plan_rules(&old, all, rules), delta))
}

/// Plans a new state that the safety nets adjusted (a held disable keeps
/// the member active, held removals keep their memberships): the changes,
/// the kind and the removals are computed again from `old`.
pub fn replan(old: Option<&MemberRecord>, new: MemberRecord, group_errors: Vec<DataError>) -> RefreshPlan {
    finish(old, new, group_errors)
}

/// Plans an admin's disable (`disable = true`) or enable. A disable sticks
/// (`disabled_reason = admin`) whatever the source says afterwards; an
/// enable lifts only an admin's disable, and the status then follows what
/// the AMS last said. Enabling a member not disabled by an admin changes
/// nothing (the plan is unchanged).
pub fn plan_admin(old: &MemberRecord, disable: bool) -> RefreshPlan {
    let mut new = old.clone();
    if disable {
        new.status = MemberStatus::Disabled;
        new.disabled_reason = Some(DisabledReason::Admin);
    } else if old.disabled_reason == Some(DisabledReason::Admin) {
        let (status, reason) = status_from_ams(None, old.details.status);
        new.status = status;
        new.disabled_reason = reason;
        new.merged_into = None;
    }
    finish(Some(old), new, Vec::new())
}

fn finish(old: Option<&MemberRecord>, new: MemberRecord, group_errors: Vec<DataError>) -> RefreshPlan {
    match old {
        None => {
            RefreshPlan { new, kind: ChangeKind::Created, changes: Vec::new(), group_errors, memberships_removed: 0 }
        }
        Some(old) => {
            let changes = diff_records(old, &new);
            let new_ids: HashSet<_> = new.memberships.iter().map(Membership::id).collect();
            let memberships_removed = old.memberships.iter().filter(|m| !new_ids.contains(&m.id())).count();
            RefreshPlan { kind: kind_for(old, &new), new, changes, group_errors, memberships_removed }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::community::Community;
    use crate::keys::{CommunityKey, GroupKey};
    use crate::member::Phone;
    use crate::rules::{CommunityRule, RuleAction};

    fn key() -> MemberKey {
        MemberKey::parse("M1").unwrap()
    }

    fn membership(c: &str, gt: &str, begin: &str) -> Membership {
        Membership {
            community: Community {
                key: CommunityKey::parse(c).unwrap(),
                name: Some(c.into()),
                community_type: None,
                group_type: Some(gt.into()),
                group_subtype: None,
            },
            begin: begin.parse().unwrap(),
            end: None,
            role: Some("Member".into()),
        }
    }

    fn group(k: &str) -> SecurityGroupRef {
        SecurityGroupRef { key: GroupKey::parse(k).unwrap(), name: Some(k.into()) }
    }

    fn fetched() -> FetchedMember {
        let mut details = MemberDetails::empty(key());
        details.last_name = Some("Lovelace".into());
        FetchedMember {
            details,
            memberships: vec![
                membership("CH-NYC", "Chapter", "2026-01-01"),
                membership("CMT-A", "Committee", "2026-01-01"),
            ],
            groups: vec![group("MEMBER")],
        }
    }

    fn no_local() -> HashSet<String> {
        HashSet::new()
    }

    #[test]
    fn first_load_is_one_created_entry() {
        let plan = plan_fetched(None, fetched(), &RuleSet::default(), &no_local());
        assert_eq!(plan.kind, ChangeKind::Created);
        assert!(plan.changes.is_empty());
        assert_eq!(plan.new.memberships.len(), 2);
    }

    #[test]
    fn unchanged_refresh_has_no_changes() {
        let first = plan_fetched(None, fetched(), &RuleSet::default(), &no_local()).new;
        let again = plan_fetched(Some(&first), fetched(), &RuleSet::default(), &no_local());
        assert!(again.is_unchanged());
    }

    #[test]
    fn field_level_changes_are_named() {
        let first = plan_fetched(None, fetched(), &RuleSet::default(), &no_local()).new;
        let mut f = fetched();
        f.details.last_name = Some("Byron".into());
        f.details.phones = vec![Phone { kind: Some("Work".into()), number: "1".into() }];
        f.memberships.remove(0);
        f.groups.push(group("STAFF"));
        let plan = plan_fetched(Some(&first), f, &RuleSet::default(), &no_local());
        let fields: Vec<_> = plan.changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["/last_name", "/phones", "/memberships/CH-NYC/2026-01-01", "/security_groups/STAFF"]);
        assert_eq!(plan.changes[0].before, json!("Lovelace"));
        assert_eq!(plan.changes[2].after, Value::Null);
        assert_eq!(plan.memberships_removed, 1);
    }

    #[test]
    fn rules_filter_memberships_and_reapply_from_the_full_list() {
        let exclude = RuleSet::new(vec![CommunityRule {
            action: RuleAction::Exclude,
            group_type: Some("Committee".into()),
            group_subtype: None,
        }]);
        let f = fetched();
        let all = f.memberships.clone();
        let first = plan_fetched(None, f, &exclude, &no_local()).new;
        assert_eq!(first.memberships.len(), 1);
        let re = plan_rules(&first, &all, &RuleSet::default());
        assert_eq!(re.changes.len(), 1);
        assert_eq!(re.changes[0].field, "/memberships/CMT-A/2026-01-01");
    }

    #[test]
    fn a_reapply_changes_only_members_whose_kept_set_differs_from_what_the_rules_want() {
        let exclude = RuleSet::new(vec![CommunityRule {
            action: RuleAction::Exclude,
            group_type: Some("Committee".into()),
            group_subtype: None,
        }]);
        let all = fetched().memberships;
        let ids = |l: &[Membership]| l.iter().map(|m| (m.community.key.to_string(), m.begin)).collect::<HashSet<_>>();
        let everything = ids(&all);
        // Kept everything, the rules now exclude the committee: one removal.
        assert_eq!(reapply_delta(&RuleSet::default(), &all, &everything), None);
        let delta = reapply_delta(&exclude, &all, &everything).unwrap();
        assert_eq!(delta, ReapplyDelta { added: 0, removed: 1 });
        let (plan, again) = plan_reapply(key(), &all, &everything, &exclude).unwrap();
        assert_eq!(again, delta);
        assert_eq!(plan.new.memberships.len(), 1);
        assert_eq!(plan.changes.len(), 1);
        assert_eq!(plan.memberships_removed, 1);
        // A kept membership the AMS no longer lists is counted as removed.
        let mut stale = everything.clone();
        stale.insert(("GONE".into(), NaiveDate::from_ymd_opt(2020, 1, 1).unwrap()));
        assert_eq!(reapply_delta(&RuleSet::default(), &all, &stale), Some(ReapplyDelta { added: 0, removed: 1 }));
        assert!(plan_reapply(key(), &all, &ids(&plan.new.memberships), &exclude).is_none());
    }

    #[test]
    fn colliding_ams_group_is_a_data_error_not_a_privilege() {
        let mut f = fetched();
        f.groups.push(group("superadmin"));
        f.groups.push(group("EDITORS"));
        let local: HashSet<String> = ["editors".to_string()].into();
        let plan = plan_fetched(None, f, &RuleSet::default(), &local);
        assert_eq!(plan.new.ams_groups, vec![group("MEMBER")]);
        assert_eq!(plan.group_errors.len(), 2);
        assert_eq!(plan.group_errors[0].field, "/groups/1/key");
    }

    #[test]
    fn gone_disables_and_merge_records_the_target() {
        let first = plan_fetched(None, fetched(), &RuleSet::default(), &no_local()).new;
        let plan = plan_gone(Some(&first), None).unwrap();
        assert_eq!(plan.kind, ChangeKind::Disabled);
        assert_eq!(plan.new.disabled_reason, Some(DisabledReason::AmsNotFound));
        assert_eq!(plan.new.memberships, first.memberships, "data is kept");
        let target = MemberKey::parse("M9").unwrap();
        let plan = plan_gone(Some(&first), Some(target.clone())).unwrap();
        assert_eq!(plan.new.disabled_reason, Some(DisabledReason::MergedInto));
        assert_eq!(plan.new.merged_into, Some(target));
        assert!(plan_gone(None, None).is_none());
    }

    #[test]
    fn reappearing_member_is_enabled_but_admin_disable_sticks() {
        let first = plan_fetched(None, fetched(), &RuleSet::default(), &no_local()).new;
        let gone = plan_gone(Some(&first), None).unwrap().new;
        let back = plan_fetched(Some(&gone), fetched(), &RuleSet::default(), &no_local());
        assert_eq!(back.kind, ChangeKind::Enabled);
        assert!(back.new.is_active());
        let mut admin = first.clone();
        admin.status = MemberStatus::Disabled;
        admin.disabled_reason = Some(DisabledReason::Admin);
        let still = plan_fetched(Some(&admin), fetched(), &RuleSet::default(), &no_local());
        assert_eq!(still.new.disabled_reason, Some(DisabledReason::Admin));
        assert!(still.is_unchanged());
    }

    #[test]
    fn an_admin_disable_sticks_until_an_admin_enables() {
        let first = plan_fetched(None, fetched(), &RuleSet::default(), &no_local()).new;
        let off = plan_admin(&first, true);
        assert_eq!(off.kind, ChangeKind::Disabled);
        assert_eq!(off.new.disabled_reason, Some(DisabledReason::Admin));
        let fields: Vec<_> = off.changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["/status", "/disabled_reason"]);
        // The source saying active, or gone, does not lift it.
        assert_eq!(
            plan_fetched(Some(&off.new), fetched(), &RuleSet::default(), &no_local()).new.status,
            MemberStatus::Disabled
        );
        assert_eq!(plan_gone(Some(&off.new), None).unwrap().new.disabled_reason, Some(DisabledReason::Admin));
        let on = plan_admin(&off.new, false);
        assert_eq!(on.kind, ChangeKind::Enabled);
        assert!(on.new.is_active());
        // Enabled again, the status follows the AMS.
        let mut ams_off = off.new.clone();
        ams_off.details.status = AmsStatus::Disabled;
        let on = plan_admin(&ams_off, false);
        assert_eq!(on.new.disabled_reason, Some(DisabledReason::AmsStatus));
        assert_eq!(on.kind, ChangeKind::Changed);
        // Enabling a member an admin did not disable changes nothing.
        assert!(plan_admin(&first, false).is_unchanged());
        let gone = plan_gone(Some(&first), None).unwrap().new;
        assert!(plan_admin(&gone, false).is_unchanged());
    }

    #[test]
    fn replan_recomputes_after_an_adjustment() {
        let first = plan_fetched(None, fetched(), &RuleSet::default(), &no_local()).new;
        let mut f = fetched();
        f.memberships.remove(0);
        let plan = plan_fetched(Some(&first), f, &RuleSet::default(), &no_local());
        assert_eq!(plan.memberships_removed, 1);
        let mut kept = plan.new.clone();
        kept.memberships = first.memberships.clone();
        let again = replan(Some(&first), kept, Vec::new());
        assert_eq!(again.memberships_removed, 0);
        assert!(again.is_unchanged());
    }

    #[test]
    fn keys_are_escaped_in_paths() {
        assert_eq!(escape_segment("a/b~c"), "a~1b~0c");
    }
}
