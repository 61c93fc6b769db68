//! `/security-groups`: built-in, AMS and local groups; IsMember
//! designations; local groups and their members (SuperAdmin's included).

use amsync_core::{GroupKey, GroupSource, MemberKey};
use amsync_store::GroupUpsert;
use axum::extract::{Path, State};
use axum::Json;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Admin;
use crate::error::{ApiError, JsonBody};
use crate::state::AppState;

/// Most groups one PUT may list.
const MAX_GROUPS: usize = 1000;
/// Most members one local group may be given in one PUT.
const MAX_MEMBERS: usize = 100_000;

fn group_key(raw: &str) -> Result<GroupKey, ApiError> {
    GroupKey::parse(raw).map_err(|e| ApiError::BadRequest(format!("group key: {e}")))
}

/// Every security group: built-in, AMS and local.
#[utoipa::path(get, path = "/security-groups", operation_id = "list_security_groups", tag = "security-groups",
    responses((status = 200, description = "`{\"groups\": [{\"key\", \"name\", \"source\", \"is_member\", \"first_seen\"}]}`", content_type = "application/json"),
        (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn list(_: Admin, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let groups = state.store.security_groups().await?;
    Ok(Json(json!({ "groups": groups })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupBody {
    #[schema(value_type = String)]
    key: GroupKey,
    /// `ams` (the default for a new key) or `local`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    source: Option<GroupSource>,
    #[serde(default)]
    name: Option<String>,
    /// "Counts as IsMember" (AMS groups only).
    #[serde(default)]
    is_member: Option<bool>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupsBody {
    groups: Vec<GroupBody>,
}

/// Upserts the groups listed (all or nothing); answers every group and how
/// many members' IsMember changed.
#[utoipa::path(put, path = "/security-groups", operation_id = "put_security_groups", tag = "security-groups", request_body = GroupsBody,
    responses((status = 200, description = "`{\"groups\": [...], \"affected_members\": n}`", content_type = "application/json"),
        (status = 400, description = "Empty, a bad key, a local group without a name, IsMember on a local group"),
        (status = 409, description = "A built-in group, or a local group with the key of an AMS group"), (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn put(
    _: Admin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<GroupsBody>,
) -> Result<Json<Value>, ApiError> {
    if body.groups.is_empty() {
        return Err(ApiError::BadRequest("groups is empty: list the groups to create or change".into()));
    }
    if body.groups.len() > MAX_GROUPS {
        return Err(ApiError::BadRequest(format!("groups: {} groups, at most {MAX_GROUPS}", body.groups.len())));
    }
    let upserts: Vec<GroupUpsert> = body
        .groups
        .into_iter()
        .map(|g| GroupUpsert { key: g.key, source: g.source, name: g.name, is_member: g.is_member })
        .collect();
    let changed = state.store.upsert_security_groups(&upserts, Utc::now()).await?;
    tracing::info!(groups = upserts.len(), affected_members = changed.affected_members, "security groups changed");
    let groups = state.store.security_groups().await?;
    Ok(Json(json!({ "groups": groups, "affected_members": changed.affected_members })))
}

/// Deletes a local group (its memberships, grants and content entries too).
#[utoipa::path(delete, path = "/security-groups/{key}", operation_id = "delete_security_group", tag = "security-groups",
    params(("key" = String, Path, description = "The group key")),
    responses((status = 200, description = "`{\"deleted\", \"affected_members\"}`", content_type = "application/json"),
        (status = 404, description = "Unknown group"), (status = 409, description = "A built-in or AMS group"), (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn delete(_: Admin, State(state): State<AppState>, Path(key): Path<String>) -> Result<Json<Value>, ApiError> {
    let key = group_key(&key)?;
    let changed = state.store.delete_security_group(&key, Utc::now()).await?;
    tracing::info!(group = key.as_str(), affected_members = changed.affected_members, "local group deleted");
    Ok(Json(json!({ "deleted": key, "affected_members": changed.affected_members })))
}

/// The members of a local group (SuperAdmin included).
#[utoipa::path(get, path = "/security-groups/{key}/members", operation_id = "security_group_members", tag = "security-groups",
    params(("key" = String, Path, description = "The group key")),
    responses((status = 200, description = "`{\"group\", \"members\": [...]}`", content_type = "application/json"),
        (status = 404, description = "Unknown group"), (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn members(
    _: Admin,
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let key = group_key(&key)?;
    let members = state.store.group_members(&key).await?;
    Ok(Json(json!({ "group": key, "members": members })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MembersBody {
    #[schema(value_type = Vec<String>)]
    members: Vec<MemberKey>,
}

/// Replaces the members of a local group (SuperAdmin included).
#[utoipa::path(put, path = "/security-groups/{key}/members", operation_id = "put_security_group_members", tag = "security-groups",
    params(("key" = String, Path, description = "The group key")), request_body = MembersBody,
    responses((status = 200, description = "`{\"group\", \"members\", \"added\", \"removed\"}`", content_type = "application/json"),
        (status = 400, description = "Unknown members"), (status = 404, description = "Unknown group"),
        (status = 409, description = "A computed or AMS group"), (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn put_members(
    _: Admin,
    State(state): State<AppState>,
    Path(key): Path<String>,
    JsonBody(body): JsonBody<MembersBody>,
) -> Result<Json<Value>, ApiError> {
    let key = group_key(&key)?;
    if body.members.len() > MAX_MEMBERS {
        return Err(ApiError::BadRequest(format!("members: {} members, at most {MAX_MEMBERS}", body.members.len())));
    }
    let changed = state.store.set_group_members(&key, &body.members, Utc::now()).await?;
    Ok(Json(json!({
        "group": key,
        "members": changed.members,
        "added": changed.added,
        "removed": changed.removed,
    })))
}
