//! `/sync/*`: health summary, runs, pause and resume.

use amsync_core::Trigger;
use amsync_store::{RunFilter, RunOutcome};
use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Admin;
use crate::error::{ApiError, QueryParams};
use crate::state::AppState;

/// Last and next periodic refresh, watermark, queue by state, rates,
/// AMS reachability, quarantine, events sync, tasks restarted after a failure.
#[utoipa::path(get, path = "/sync/status", operation_id = "sync_status", tag = "sync",
    responses((status = 200, description = "The health summary", content_type = "application/json"), (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn status(_: Admin, State(state): State<AppState>) -> Result<Json<amsync_sync::SyncStatus>, ApiError> {
    let s = amsync_sync::sync_status(
        state.store.as_ref(),
        Some(state.engine.status()),
        &state.settings.periodic,
        &state.settings.events,
    )
    .await?;
    Ok(Json(s))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RunsQuery {
    /// A trigger: `periodic`, `full`, `events`, `login`, `manual`, `rules`, `webhook`, `merge`, `push`, `scim`, `admin`.
    kind: Option<String>,
    /// `running`, `succeeded`, `partial` or `failed`.
    outcome: Option<String>,
    /// At most this many (default 50, at most 500).
    limit: Option<usize>,
    /// Runs older than this id (the previous page's `next_before`).
    before: Option<i64>,
}

/// Run history, newest first.
#[utoipa::path(get, path = "/sync/runs", operation_id = "list_runs", tag = "sync", params(RunsQuery),
    responses((status = 200, description = "`{\"runs\": [...], \"next_before\": id}`", content_type = "application/json"),
        (status = 400, description = "Unknown kind or outcome"), (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn runs(
    _: Admin,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<RunsQuery>,
) -> Result<Json<Value>, ApiError> {
    let kind = match q.kind.as_deref() {
        None | Some("") => None,
        Some(k) => Some(k.parse::<Trigger>().map_err(|e| ApiError::BadRequest(e.to_string()))?),
    };
    let outcome = match q.outcome.as_deref() {
        None | Some("") => None,
        Some(o) => Some(
            [RunOutcome::Running, RunOutcome::Succeeded, RunOutcome::Partial, RunOutcome::Failed]
                .into_iter()
                .find(|x| x.as_str() == o)
                .ok_or_else(|| ApiError::BadRequest(format!("unknown outcome {o:?}")))?,
        ),
    };
    let filter = RunFilter { kind, outcome, limit: super::limit(q.limit, 50, 500), before: q.before };
    let runs = state.store.list_runs(&filter).await?;
    let next = if runs.len() == filter.limit { runs.last().map(|r| r.id) } else { None };
    Ok(Json(json!({ "runs": runs, "next_before": next })))
}

/// One run with its counters and progress (`pending`).
#[utoipa::path(get, path = "/sync/runs/{id}", operation_id = "get_run", tag = "sync", params(("id" = i64, Path, description = "The run id")),
    responses((status = 200, description = "The run", content_type = "application/json"),
        (status = 404, description = "No such run"), (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn run(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<amsync_store::Run>, ApiError> {
    state.store.get_run(id).await?.map(Json).ok_or_else(|| ApiError::NotFound(format!("run {id} not found")))
}

/// Stops polling and refreshing (AMS maintenance).
#[utoipa::path(post, path = "/sync/pause", operation_id = "pause_sync", tag = "sync",
    responses((status = 200, description = "`{\"paused\": true}`", content_type = "application/json"), (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn pause(_: Admin, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.engine.pause("admin").await?;
    Ok(Json(json!({ "paused": true })))
}

/// Restarts polling and refreshing.
#[utoipa::path(post, path = "/sync/resume", operation_id = "resume_sync", tag = "sync",
    responses((status = 200, description = "`{\"paused\": false}`", content_type = "application/json"), (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn resume(_: Admin, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.engine.resume().await?;
    Ok(Json(json!({ "paused": false })))
}
