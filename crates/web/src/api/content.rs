//! `/content/{id}`: a content or navigation item and the security groups
//! that may see it (Public included).

use amsync_core::access::ContentId;
use amsync_core::GroupKey;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use serde::Deserialize;

use crate::auth::Admin;
use crate::error::{ApiError, JsonBody};
use crate::state::AppState;
use amsync_store::ContentItem;

fn content_id(raw: &str) -> Result<ContentId, ApiError> {
    ContentId::parse(raw).map_err(|e| ApiError::BadRequest(format!("content id: {e}")))
}

/// A content or navigation item and its groups.
#[utoipa::path(get, path = "/content/{id}", operation_id = "get_content", tag = "access",
    params(("id" = String, Path, description = "The content item's id")),
    responses((status = 200, description = "`{\"id\", \"name\", \"groups\", \"created_at\", \"updated_at\"}`", content_type = "application/json"),
        (status = 404, description = "Unknown item"), (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn get(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ContentItem>, ApiError> {
    let id = content_id(&id)?;
    let item = state.store.content_item(&id).await?;
    item.map(Json).ok_or_else(|| ApiError::NotFound(format!("content item {id} not found")))
}

/// Most groups one item may list.
const MAX_GROUPS: usize = 1000;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContentBody {
    #[serde(default)]
    name: Option<String>,
    /// The security groups that may see it (Public included).
    #[schema(value_type = Vec<String>)]
    groups: Vec<GroupKey>,
}

/// Creates (201) or replaces (200) the item.
#[utoipa::path(put, path = "/content/{id}", operation_id = "put_content", tag = "access",
    params(("id" = String, Path, description = "The content item's id")), request_body = ContentBody,
    responses((status = 200, description = "Replaced; the item as stored", content_type = "application/json"),
        (status = 201, description = "Created; the item as stored", content_type = "application/json"),
        (status = 400, description = "A bad id or an unknown group"), (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn put(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ContentBody>,
) -> Result<(StatusCode, Json<ContentItem>), ApiError> {
    let id = content_id(&id)?;
    if body.groups.len() > MAX_GROUPS {
        return Err(ApiError::BadRequest(format!(
            "content item {id}: groups: {} groups, at most {MAX_GROUPS}",
            body.groups.len()
        )));
    }
    amsync_core::member::check_len(body.name.as_deref(), amsync_core::member::MAX_SHORT_TEXT)
        .map_err(|m| ApiError::BadRequest(format!("content item {id}: name: {m}")))?;
    let (item, created) = state.store.put_content_item(&id, body.name.as_deref(), &body.groups, Utc::now()).await?;
    tracing::info!(content = id.as_str(), groups = item.groups.len(), created, "content item stored");
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(item)))
}
