//! `/members`: search, one member's document, its history, and an admin's
//! disable and enable.

use amsync_store::MemberQuery;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::member_doc::{member_document, GroupContext};
use crate::audit::AuditNote;
use crate::auth::{Admin, Reader};
use crate::error::{ApiError, QueryParams};
use crate::state::AppState;

/// Longest search text: as long as the longest name it could match.
const MAX_SEARCH_TEXT: usize = amsync_core::member::MAX_SHORT_TEXT;
const MAX_KEY_CHARS: usize = amsync_core::keys::MAX_KEY_CHARS;
/// A cursor is a key in hex (two characters per byte of at most 64 × 4).
const MAX_CURSOR: usize = 512;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Matches key, names and e-mail (case-insensitive).
    q: Option<String>,
    /// Members with a membership of this community.
    community: Option<String>,
    /// Members in this security group.
    group: Option<String>,
    /// With `community`: only current memberships.
    current: Option<bool>,
    /// At most this many (default 50, at most 500).
    limit: Option<usize>,
    /// The previous page's `next_cursor`.
    cursor: Option<String>,
}

/// Member search.
#[utoipa::path(get, path = "/members", operation_id = "search_members", tag = "members", params(SearchQuery),
    responses((status = 200, description = "`{\"members\": [...], \"next_cursor\": …}`", content_type = "application/json"),
        (status = 400, description = "A bad cursor"), (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn search(
    _: Reader,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<SearchQuery>,
) -> Result<Json<Value>, ApiError> {
    let query = MemberQuery {
        q: super::short_param("q", q.q, MAX_SEARCH_TEXT)?.filter(|s| !s.is_empty()),
        community: super::short_param("community", q.community, MAX_KEY_CHARS)?.filter(|s| !s.is_empty()),
        current_on: q.current.unwrap_or(false).then(|| state.today()),
        group: super::short_param("group", q.group, MAX_KEY_CHARS)?.filter(|s| !s.is_empty()),
        limit: super::limit(q.limit, 50, 500),
        cursor: super::short_param("cursor", q.cursor, MAX_CURSOR)?.filter(|s| !s.is_empty()),
    };
    let page = state.store.search_members(&query).await?;
    Ok(Json(json!({ "members": page.items, "next_cursor": page.next_cursor })))
}

/// The member document.
#[utoipa::path(get, path = "/members/{key}", operation_id = "get_member", tag = "members", params(("key" = String, Path, description = "The member key")),
    responses((status = 200, description = "The member document", content_type = "application/json"),
        (status = 404, description = "Unknown member"), (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn get_one(
    _: Reader,
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let key = super::member_key(&key)?;
    let member =
        state.store.get_member(&key).await?.ok_or_else(|| ApiError::NotFound(format!("member {key} not found")))?;
    let groups = GroupContext::from_groups(&state.store.security_groups().await?);
    Ok(Json(member_document(&member, &groups, state.today())))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// At most this many (default 100, at most 1000).
    limit: Option<usize>,
    /// Entries older than this id (the previous page's `next_before`).
    before: Option<i64>,
}

/// The member's refreshes with field-level changes, newest first.
#[utoipa::path(get, path = "/members/{key}/history", operation_id = "member_history", tag = "members",
    params(("key" = String, Path, description = "The member key"), HistoryQuery),
    responses((status = 200, description = "`{\"changes\": [...], \"next_before\": id}`", content_type = "application/json"),
        (status = 404, description = "Unknown member"), (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn history(
    _: Reader,
    State(state): State<AppState>,
    Path(key): Path<String>,
    QueryParams(q): QueryParams<HistoryQuery>,
) -> Result<Json<Value>, ApiError> {
    let key = super::member_key(&key)?;
    if state.store.get_member(&key).await?.is_none() {
        return Err(ApiError::NotFound(format!("member {key} not found")));
    }
    let limit = super::limit(q.limit, 100, 1000);
    let entries = state.store.member_history(&key, limit, q.before).await?;
    let next = if entries.len() == limit { entries.last().map(|e| e.id) } else { None };
    Ok(Json(json!({ "changes": entries, "next_before": next })))
}

/// An admin's disable or enable, answered with what it did.
async fn set_disabled(admin: Admin, state: AppState, key: String, disable: bool) -> Result<Response, ApiError> {
    let key = super::member_key(&key)?;
    let change = state.engine.set_member_disabled(&key, disable, admin.actor()).await?;
    let verb = if disable { "disabled" } else { "enabled" };
    let detail = if change.changed { format!("member {verb}") } else { format!("already {verb}; nothing changed") };
    let note = AuditNote { target: Some(format!("member {key}")), ..AuditNote::detail(detail) };
    Ok(note.attach(Json(change).into_response()))
}

/// Disables a member as an admin: `disabled_reason = admin` sticks through
/// refreshes that say active and through signing in; sessions and mobile
/// tokens are revoked at once. Never held by the deletion threshold (it
/// counts in its window).
#[utoipa::path(post, path = "/members/{key}/disable", operation_id = "disable_member", tag = "members", params(("key" = String, Path, description = "The member key")),
    responses((status = 200, description = "`{\"key\", \"changed\", \"status\", \"disabled_reason\"}`", content_type = "application/json"),
        (status = 404, description = "Unknown member"), (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn disable(
    admin: Admin,
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Response, ApiError> {
    set_disabled(admin, state, key, true).await
}

/// Lifts an admin's disable; the member's status then follows what the AMS
/// last said, and it is refreshed at once. A member its source disabled is
/// not an admin's to enable (409).
#[utoipa::path(post, path = "/members/{key}/enable", operation_id = "enable_member", tag = "members", params(("key" = String, Path, description = "The member key")),
    responses((status = 200, description = "`{\"key\", \"changed\", \"status\", \"disabled_reason\"}`", content_type = "application/json"),
        (status = 404, description = "Unknown member"), (status = 409, description = "Disabled by its source, not by an admin"),
        (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn enable(
    admin: Admin,
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Response, ApiError> {
    set_disabled(admin, state, key, false).await
}
