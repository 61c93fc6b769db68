//! `/communities`: the communities the rules include with their member
//! counts today, a community's members, and the groups granted access to it.

use amsync_core::{CommunityKey, GroupKey};
use amsync_store::MemberQuery;
use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::{Admin, Reader};
use crate::error::{ApiError, JsonBody, QueryParams};
use crate::state::AppState;

fn community_key(raw: &str) -> Result<CommunityKey, ApiError> {
    CommunityKey::parse(raw).map_err(|e| ApiError::BadRequest(format!("community key: {e}")))
}

/// A community the rules include, or 404 (an excluded one is hidden everywhere).
async fn known(state: &AppState, key: &CommunityKey) -> Result<(), ApiError> {
    match state.store.community(key).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::NotFound(format!("community {key} not found"))),
    }
}

/// The communities the rules include, with the members current today.
#[utoipa::path(get, path = "/communities", operation_id = "list_communities", tag = "communities", security(("admin_token" = []), ("site_token" = []), ("dashboard_session" = [])),
    responses((status = 200, description = "`{\"communities\": [{\"key\", \"name\", \"type\", \"group_type\", \"group_subtype\", \"current_members\"}]}`", content_type = "application/json"),
        (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn list(_: Reader, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let communities = state.store.list_communities(state.today()).await?;
    Ok(Json(json!({ "communities": communities })))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MembersQuery {
    /// Only members whose membership is current today.
    current: Option<bool>,
    /// At most this many (default 50, at most 500).
    limit: Option<usize>,
    /// The previous page's `next_cursor`.
    cursor: Option<String>,
}

/// A community's members (all, or those current today), page by page.
#[utoipa::path(get, path = "/communities/{key}/members", operation_id = "community_members", tag = "communities",
    params(("key" = String, Path, description = "The community key"), MembersQuery), security(("admin_token" = []), ("site_token" = []), ("dashboard_session" = [])),
    responses((status = 200, description = "`{\"members\": [...], \"next_cursor\": …}`", content_type = "application/json"),
        (status = 400, description = "A bad key or cursor"), (status = 404, description = "Unknown or excluded community"), (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn members(
    _: Reader,
    State(state): State<AppState>,
    Path(key): Path<String>,
    QueryParams(q): QueryParams<MembersQuery>,
) -> Result<Json<Value>, ApiError> {
    let key = community_key(&key)?;
    known(&state, &key).await?;
    let query = MemberQuery {
        community: Some(key.into_string()),
        current_on: q.current.unwrap_or(false).then(|| state.today()),
        limit: super::limit(q.limit, 50, 500),
        cursor: q.cursor.filter(|c| !c.is_empty()),
        ..Default::default()
    };
    let page = state.store.search_members(&query).await?;
    Ok(Json(json!({ "members": page.items, "next_cursor": page.next_cursor })))
}

/// The security groups granted access to a community.
#[utoipa::path(get, path = "/communities/{key}/access", operation_id = "get_community_access", tag = "communities",
    params(("key" = String, Path, description = "The community key")),
    responses((status = 200, description = "`{\"community\", \"groups\": [...]}`", content_type = "application/json"),
        (status = 404, description = "Unknown or excluded community"), (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn get_access(
    _: Admin,
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let key = community_key(&key)?;
    known(&state, &key).await?;
    let groups = state.store.community_grants(&key).await?;
    Ok(Json(json!({ "community": key, "groups": groups })))
}

/// Most groups one community may grant access to.
const MAX_GRANTS: usize = 1000;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessBody {
    /// Security group keys (Public and Authenticated allowed, deliberately).
    #[schema(value_type = Vec<String>)]
    groups: Vec<GroupKey>,
}

/// Replaces the groups that may also see the community's discussion,
/// library and microsite (and its limited events).
#[utoipa::path(put, path = "/communities/{key}/access", operation_id = "put_community_access", tag = "communities",
    params(("key" = String, Path, description = "The community key")), request_body = AccessBody,
    responses((status = 200, description = "`{\"community\", \"groups\": [...]}` as stored", content_type = "application/json"),
        (status = 400, description = "An unknown group"), (status = 404, description = "Unknown or excluded community"), (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn put_access(
    _: Admin,
    State(state): State<AppState>,
    Path(key): Path<String>,
    JsonBody(body): JsonBody<AccessBody>,
) -> Result<Json<Value>, ApiError> {
    let key = community_key(&key)?;
    if body.groups.len() > MAX_GRANTS {
        return Err(ApiError::BadRequest(format!(
            "community {key}: groups: {} groups, at most {MAX_GRANTS}",
            body.groups.len()
        )));
    }
    let groups = state.store.set_community_grants(&key, &body.groups).await?;
    tracing::info!(community = key.as_str(), groups = groups.len(), "community access granted");
    Ok(Json(json!({ "community": key, "groups": groups })))
}
