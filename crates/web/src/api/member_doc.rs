//! The member document of `GET /api/v1/members/{key}` (product.md, "Shapes
//! of the main answers"): the contract's detail fields at the top level,
//! plus effective status, memberships with `current`, effective groups and
//! refresh bookkeeping.

use std::collections::{HashMap, HashSet};

use amsync_core::record::effective_groups;
use amsync_core::GroupKey;
use amsync_store::{GroupInfo, StoredMember};
use chrono::NaiveDate;
use serde_json::{json, Map, Value};

/// What is needed besides the member to shape its document.
pub struct GroupContext {
    pub is_member: HashSet<GroupKey>,
    pub names: HashMap<GroupKey, Option<String>>,
}

impl GroupContext {
    pub fn from_groups(groups: &[GroupInfo]) -> GroupContext {
        GroupContext {
            is_member: groups.iter().filter(|g| g.is_member).map(|g| g.key.clone()).collect(),
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
    let eff = effective_groups(r, |k| groups.is_member.contains(k), |k| groups.names.get(k).cloned().flatten());
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
