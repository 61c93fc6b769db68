//! The member document of `GET /api/v1/members/{key}` (product.md, "Shapes
//! of the main answers"): the contract's detail fields at the top level,
//! plus effective status, memberships with `current`, effective groups and
//! refresh bookkeeping.

use std::collections::HashMap;

use amsync_core::group::IsMemberGroups;
use amsync_core::record::effective_groups;
use amsync_core::GroupKey;
use amsync_store::{GroupInfo, StoredMember};
use chrono::NaiveDate;
use serde_json::{json, Map, Value};

/// What is needed besides the member to shape its document.
pub struct GroupContext {
    /// The AMS groups that count as IsMember.
    pub is_member: IsMemberGroups,
    pub names: HashMap<GroupKey, Option<String>>,
}

impl GroupContext {
    pub fn from_groups(groups: &[GroupInfo]) -> GroupContext {
        GroupContext {
            is_member: IsMemberGroups::new(groups.iter().filter(|g| g.is_member).map(|g| &g.key)),
            names: groups.iter().map(|g| (g.key.clone(), g.name.clone())).collect(),
        }
    }
}

pub fn member_document(m: &StoredMember, groups: &GroupContext, today: NaiveDate) -> Value {
    let r = &m.record;
    let mut doc = match serde_json::to_value(&r.details) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    doc.insert("ams_status".into(), json!(r.details.status.as_str()));
    doc.insert("status".into(), json!(r.status.as_str()));
    if let Some(reason) = r.disabled_reason {
        doc.insert("disabled_reason".into(), json!(reason.as_str()));
    }
    if let Some(target) = &r.merged_into {
        doc.insert("merged_into".into(), json!(target));
    }
    let memberships: Vec<Value> = r
        .memberships
        .iter()
        .map(|ms| {
            json!({
                "community": ms.community,
                "begin": ms.begin,
                "end": ms.end,
                "role": ms.role,
                "current": ms.is_current(today),
            })
        })
        .collect();
    doc.insert("memberships".into(), Value::Array(memberships));
    let eff = effective_groups(r, &groups.is_member, |k| groups.names.get(k).cloned().flatten());
    doc.insert("security_groups".into(), json!(eff));
    // What the AMS says, also for a disabled member (whose effective groups are empty).
    doc.insert("ams_groups".into(), json!(r.ams_groups));
    doc.insert("last_refreshed_at".into(), json!(m.last_refreshed_at));
    doc.insert("created_at".into(), json!(m.created_at));
    doc.insert("updated_at".into(), json!(m.updated_at));
    if let Some(err) = &m.last_error {
        doc.insert("last_error".into(), json!({ "failure": err, "at": m.last_error_at }));
    }
    Value::Object(doc)
}

#[cfg(test)]
mod tests {
    use amsync_core::record::{MemberRecord, MemberStatus};
    use amsync_core::{GroupSource, MemberDetails, MemberKey, SecurityGroupRef};
    use chrono::Utc;

    use super::*;

    fn member_holding(group: &str) -> StoredMember {
        let key = MemberKey::parse("M1").unwrap();
        let record = MemberRecord {
            details: MemberDetails::empty(key),
            status: MemberStatus::Active,
            disabled_reason: None,
            merged_into: None,
            memberships: Vec::new(),
            ams_groups: vec![SecurityGroupRef { key: GroupKey::parse(group).unwrap(), name: None }],
            local_groups: Vec::new(),
        };
        let now = Utc::now();
        StoredMember {
            record,
            created_at: now,
            updated_at: now,
            last_refreshed_at: None,
            last_trigger: None,
            last_error: None,
            last_error_at: None,
        }
    }

    #[test]
    fn the_document_shows_is_member_by_the_same_rule_as_access_whatever_the_spelling() {
        // The group was registered as MEMBER; this member's AMS spells it
        // `member`. Access decisions compare case-insensitively, so must
        // the document.
        let designated = GroupInfo {
            key: GroupKey::parse("MEMBER").unwrap(),
            name: None,
            source: GroupSource::Ams,
            is_member: true,
            first_seen: None,
        };
        let doc = member_document(
            &member_holding("member"),
            &GroupContext::from_groups(&[designated]),
            Utc::now().date_naive(),
        );
        let keys: Vec<&str> =
            doc["security_groups"].as_array().unwrap().iter().filter_map(|g| g["key"].as_str()).collect();
        assert!(keys.contains(&"IsMember"), "{keys:?}");
    }
}
