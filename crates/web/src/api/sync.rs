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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunsQuery {
    kind: Option<String>,
    outcome: Option<String>,
    limit: Option<usize>,
    before: Option<i64>,
}

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

pub async fn run(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<amsync_store::Run>, ApiError> {
    state.store.get_run(id).await?.map(Json).ok_or_else(|| ApiError::NotFound(format!("run {id} not found")))
}

pub async fn pause(_: Admin, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.engine.pause("admin").await?;
    Ok(Json(json!({ "paused": true })))
}

pub async fn resume(_: Admin, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.engine.resume().await?;
    Ok(Json(json!({ "paused": false })))
}
