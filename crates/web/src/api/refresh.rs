//! `POST /refresh`: everyone, some keys, or a community's members.

use amsync_core::Trigger;
use amsync_store::MemberQuery;
use amsync_sync::PollMode;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Admin;
use crate::error::{ApiError, JsonBody};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    #[serde(default)]
    all: bool,
    #[serde(default)]
    keys: Option<Vec<String>>,
    #[serde(default)]
    community: Option<String>,
    #[serde(default)]
    wait: bool,
}

/// Refreshes everyone (`{"all": true}`), some keys or a community's
/// members; answers 202 with the run id (`"wait": true`, for at most 100
/// keys, answers when done or after 30 s).
#[utoipa::path(post, path = "/refresh", operation_id = "refresh", tag = "refresh", request_body = RefreshBody,
    responses((status = 202, description = "`{\"run_id\": id}`", content_type = "application/json"),
        (status = 200, description = "With `wait`: done, `{\"run_id\", \"done\": true, \"run\"}`", content_type = "application/json"),
        (status = 400, description = "Not exactly one of all, keys, community; or wait for too many keys"),
        (status = 404, description = "No member of that community is known"),
        (status = 409, description = "The sync is paused"), (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn refresh(
    _: Admin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let chosen = [body.all, body.keys.is_some(), body.community.is_some()].iter().filter(|b| **b).count();
    if chosen != 1 {
        return Err(ApiError::BadRequest("give exactly one of all, keys or community".into()));
    }
    if body.all {
        if body.wait {
            return Err(ApiError::BadRequest("wait is allowed only for up to 100 keys".into()));
        }
        let run_id = start_full_refresh(&state).await?;
        return Ok((StatusCode::ACCEPTED, Json(json!({ "run_id": run_id }))));
    }
    let keys = if let Some(keys) = body.keys {
        if keys.is_empty() {
            return Err(ApiError::BadRequest("keys is empty".into()));
        }
        super::member_keys("keys", &keys, super::MAX_KEYS)?
    } else {
        let community = body.community.unwrap_or_default();
        amsync_core::CommunityKey::parse(community.as_str())
            .map_err(|e| ApiError::BadRequest(format!("community: {e}")))?;
        community_members(&state, &community).await?
    };
    if body.wait && keys.len() > state.settings.max_wait_keys {
        return Err(ApiError::BadRequest(format!(
            "wait is allowed only for up to {} keys",
            state.settings.max_wait_keys
        )));
    }
    let params = json!({ "keys": keys.len() });
    let run_id = state.engine.refresh_keys(&keys, Trigger::Manual, params).await?;
    if body.wait {
        let run = state.engine.wait_for_run(run_id, Some(state.settings.wait_timeout)).await?;
        let done = run.as_ref().is_some_and(|r| r.outcome != amsync_store::RunOutcome::Running);
        let status = if done { StatusCode::OK } else { StatusCode::ACCEPTED };
        return Ok((status, Json(json!({ "run_id": run_id, "done": done, "run": run }))));
    }
    Ok((StatusCode::ACCEPTED, Json(json!({ "run_id": run_id }))))
}

/// Starts a full refresh in the background; answers with its run id as
/// soon as the run exists (the listing can take a while).
pub(crate) async fn start_full_refresh(state: &AppState) -> Result<amsync_store::RunId, ApiError> {
    let engine = state.engine.clone();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let report = engine.poll_members_reporting(PollMode::Full, tx).await;
        if let Err(e) = report {
            tracing::error!(error = %amsync_core::escaped(&e), "full refresh failed");
        }
    });
    Ok(rx.await.map_err(|_| ApiError::Internal("the full refresh did not start".into()))??)
}

/// Every member with a membership of the community (past, current or future).
pub(crate) async fn community_members(
    state: &AppState,
    community: &str,
) -> Result<Vec<amsync_core::MemberKey>, ApiError> {
    let mut keys = Vec::new();
    let mut cursor = None;
    loop {
        let q = MemberQuery { community: Some(community.to_string()), limit: 1000, cursor, ..Default::default() };
        let page = state.store.search_members(&q).await?;
        keys.extend(page.items.into_iter().map(|m| m.key));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    if keys.is_empty() {
        return Err(ApiError::NotFound(format!("no members of community {community:?} are known")));
    }
    Ok(keys)
}
