//! `/members`: search, one member's document, its history.

use amsync_store::MemberQuery;
use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::member_doc::{member_document, GroupContext};
use crate::auth::Reader;
use crate::error::{ApiError, QueryParams};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    q: Option<String>,
    community: Option<String>,
    group: Option<String>,
    /// With `community`: only current memberships.
    current: Option<bool>,
    limit: Option<usize>,
    cursor: Option<String>,
}

pub async fn search(
    _: Reader,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<SearchQuery>,
) -> Result<Json<Value>, ApiError> {
    let query = MemberQuery {
        q: q.q.filter(|s| !s.is_empty()),
        community: q.community.filter(|s| !s.is_empty()),
        current_on: q.current.unwrap_or(false).then(|| state.today()),
        group: q.group.filter(|s| !s.is_empty()),
        limit: super::limit(q.limit, 50, 500),
        cursor: q.cursor.filter(|s| !s.is_empty()),
    };
    let page = state.store.search_members(&query).await?;
    Ok(Json(json!({ "members": page.items, "next_cursor": page.next_cursor })))
}

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    limit: Option<usize>,
    before: Option<i64>,
}

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
