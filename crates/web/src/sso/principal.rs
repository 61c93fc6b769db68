//! Who is behind a session or a mobile token, as `/me` and
//! `/api/v1/session` show it: the member and its effective groups.

use amsync_core::record::effective_groups;
use amsync_core::MemberKey;
use amsync_store::StoredMember;
use serde_json::{json, Value};

use crate::api::member_doc::GroupContext;
use crate::error::ApiError;
use crate::state::AppState;

/// The member and its effective groups, or `None` when it is unknown or
/// disabled (a disabled member's sessions are void).
pub async fn load(state: &AppState, key: &MemberKey) -> Result<Option<(StoredMember, Vec<Value>)>, ApiError> {
    let Some(m) = state.store.get_member(key).await? else { return Ok(None) };
    if !m.record.is_active() {
        return Ok(None);
    }
    let groups = GroupContext::from_groups(&state.store.security_groups().await?);
    let eff = effective_groups(&m.record, &groups.is_member, |k| groups.names.get(k).cloned().flatten());
    let list = eff.iter().map(|g| json!({"key": g.key, "name": g.name, "source": g.source})).collect();
    Ok(Some((m, list)))
}

/// Whether the effective groups include SuperAdmin.
pub fn is_super_admin(groups: &[Value]) -> bool {
    groups.iter().any(|g| g["key"].as_str() == Some(amsync_core::group::SUPER_ADMIN))
}

/// The member fields shown with a principal.
pub fn member_json(m: &StoredMember) -> Value {
    let d = &m.record.details;
    json!({
        "key": d.key,
        "first_name": d.first_name,
        "last_name": d.last_name,
        "email": d.email,
        "status": m.record.status.as_str(),
    })
}

/// The Public principal (signed out).
pub fn public_groups() -> Vec<Value> {
    vec![json!({"key": amsync_core::group::PUBLIC, "name": amsync_core::group::PUBLIC, "source": "builtin"})]
}
