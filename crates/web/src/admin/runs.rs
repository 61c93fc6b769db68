//! `GET /admin/runs`: the runs of every kind of trigger, filterable by kind
//! and outcome, newest first; `GET /admin/runs/{id}`: one run with its
//! counters and progress, followed live while it runs.

use amsync_core::Trigger;
use amsync_store::{RunFilter, RunOutcome};
use axum::extract::{Path, Query, State};
use axum::response::Html;
use minijinja::context;
use serde::Deserialize;

use super::{Dashboard, PageError};
use crate::state::AppState;

const PAGE: usize = 50;
const OUTCOMES: [RunOutcome; 4] = [RunOutcome::Running, RunOutcome::Succeeded, RunOutcome::Partial, RunOutcome::Failed];

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunsQuery {
    /// A trigger (`periodic`, `full`, `manual`, …).
    kind: Option<String>,
    /// `running`, `succeeded`, `partial` or `failed`.
    outcome: Option<String>,
    /// Runs older than this id.
    before: Option<i64>,
}

/// Runs, filterable by kind and outcome.
#[utoipa::path(get, path = "/admin/runs", operation_id = "dashboard_runs", tag = "dashboard", params(RunsQuery),
    responses((status = 200, description = "The page", content_type = "text/html"), (status = 303, description = "Not signed in: to the sign-in form"), (status = 400, description = "Unknown kind or outcome")))]
pub async fn list(
    d: Dashboard,
    State(state): State<AppState>,
    Query(q): Query<RunsQuery>,
) -> Result<Html<String>, PageError> {
    let kind = match q.kind.as_deref() {
        None | Some("") => None,
        Some(k) => Some(k.parse::<Trigger>().map_err(|e| PageError::BadRequest(e.to_string()))?),
    };
    let outcome = match q.outcome.as_deref() {
        None | Some("") => None,
        Some(o) => Some(
            OUTCOMES
                .into_iter()
                .find(|x| x.as_str() == o)
                .ok_or_else(|| PageError::BadRequest(format!("unknown outcome {o:?}")))?,
        ),
    };
    let runs = state.store.list_runs(&RunFilter { kind, outcome, limit: PAGE, before: q.before }).await?;
    let next_before = if runs.len() == PAGE { runs.last().map(|r| r.id) } else { None };
    let ctx = context! {
        runs => runs,
        next_before => next_before,
        kinds => Trigger::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        outcomes => OUTCOMES.iter().map(|o| o.as_str()).collect::<Vec<_>>(),
        kind => kind.map(Trigger::as_str),
        outcome => outcome.map(RunOutcome::as_str),
    };
    super::page(&state, &d, "runs.html", "runs", "Runs", ctx).await
}

/// One run, its progress followed live.
#[utoipa::path(get, path = "/admin/runs/{id}", operation_id = "dashboard_run", tag = "dashboard", params(("id" = i64, Path, description = "The run id")),
    responses((status = 200, description = "The page", content_type = "text/html"), (status = 303, description = "Not signed in: to the sign-in form"), (status = 404, description = "No such run")))]
pub async fn one(d: Dashboard, State(state): State<AppState>, Path(id): Path<i64>) -> Result<Html<String>, PageError> {
    let run = state.store.get_run(id).await?.ok_or_else(|| PageError::NotFound(format!("There is no run {id}.")))?;
    let total = run.counts.enqueued + run.counts.merged;
    let params_text = serde_json::to_string_pretty(&run.params).unwrap_or_default();
    let settled = total.saturating_sub(run.pending);
    let ctx = context! {
        params_text => params_text,
        run => run,
        total => total,
        settled => settled,
    };
    super::page(&state, &d, "run.html", "runs", &format!("Run {id}"), ctx).await
}
