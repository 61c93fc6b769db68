//! `/queue`: entries by state, and requeueing dead letters.

use amsync_core::queue::QueueState;
use amsync_store::RequeueSelector;
use axum::extract::State;
use axum::Json;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Admin;
use crate::error::{ApiError, JsonBody, QueryParams};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `queued`, `running`, `retrying` or `dead`; every state when absent.
    state: Option<String>,
    /// At most this many (default 100, at most 1000).
    limit: Option<usize>,
    /// Entries after this id (the previous page's `next_after`).
    after: Option<i64>,
}

/// Queue entries, oldest first, with their last error.
#[utoipa::path(get, path = "/queue", operation_id = "list_queue", tag = "queue", params(ListQuery),
    responses((status = 200, description = "`{\"entries\": [...], \"next_after\": id}`", content_type = "application/json"),
        (status = 400, description = "Unknown state"), (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn list(
    _: Admin,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let filter = match q.state.as_deref() {
        None | Some("") => None,
        Some(s) => Some(s.parse::<QueueState>().map_err(ApiError::BadRequest)?),
    };
    let limit = super::limit(q.limit, 100, 1000);
    let entries = state.store.list_queue(filter, limit, q.after).await?;
    let next = if entries.len() == limit { entries.last().map(|e| e.id) } else { None };
    Ok(Json(json!({ "entries": entries, "next_after": next })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequeueBody {
    #[serde(default)]
    all_dead: bool,
    #[serde(default)]
    keys: Option<Vec<String>>,
}

/// Dead letters (`{"all_dead": true}`) or given keys back to queued; an
/// empty body is refused.
#[utoipa::path(post, path = "/queue/requeue", operation_id = "requeue", tag = "queue", request_body = RequeueBody,
    responses((status = 200, description = "`{\"requeued\": n}`", content_type = "application/json"),
        (status = 400, description = "Nothing or both selected, or a bad key"), (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn requeue(
    _: Admin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RequeueBody>,
) -> Result<Json<Value>, ApiError> {
    let selector = match (body.all_dead, body.keys) {
        (true, None) => RequeueSelector::AllDead,
        (false, Some(keys)) if !keys.is_empty() => {
            RequeueSelector::Keys(super::member_keys("keys", &keys, super::MAX_KEYS)?)
        }
        (true, Some(_)) => return Err(ApiError::BadRequest("give either all_dead or keys, not both".into())),
        _ => return Err(ApiError::BadRequest("say what to requeue: {\"all_dead\": true} or {\"keys\": [...]}".into())),
    };
    let n = state.store.requeue(&selector, Utc::now()).await?;
    state.engine.wake_workers();
    Ok(Json(json!({ "requeued": n })))
}
