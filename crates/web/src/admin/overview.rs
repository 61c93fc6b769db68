//! `GET /admin`: health at a glance — the last and next periodic refresh,
//! events sync, AMS reachability, the paused (or quarantined) state, the
//! Refresh Queue by state, throughput over the last hour, recent runs and
//! failures — and the buttons to refresh or pause.

use amsync_core::queue::QueueState;
use amsync_store::RunFilter;
use axum::extract::{Query, State};
use axum::response::Html;
use chrono::Utc;
use minijinja::{context, Value};
use serde::Deserialize;

use super::{chart, render, Dashboard, PageError};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OverviewQuery {
    /// A fixed notice after an action (`paused`, `resumed`).
    done: Option<String>,
}

/// The notice shown after an action, from a fixed list (never text from
/// the URL).
pub fn notice(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "paused" => Some("The sync is paused: no polling and no refreshes until you resume it."),
        "resumed" => Some("The sync is running again."),
        "requeued" => Some("Entries were requeued; the workers take them now."),
        _ => None,
    }
}

pub async fn render_overview(state: &AppState, d: &Dashboard, done: Option<&str>) -> Result<Html<String>, PageError> {
    let status = amsync_sync::sync_status(
        state.store.as_ref(),
        Some(state.engine.status()),
        &state.settings.periodic,
        &state.settings.events,
    )
    .await?;
    let runs = state.store.list_runs(&RunFilter { limit: 8, ..Default::default() }).await?;
    let failures = state.store.list_queue(Some(QueueState::Retrying), 8, None).await?;
    let per_minute = status.engine.as_ref().map(|e| e.refreshes_per_minute.clone()).unwrap_or_default();
    let oldest_wait = status.queue.oldest_waiting_since.map(|t| render::span((Utc::now() - t).num_seconds()));
    let ctx = context! {
        status => status,
        runs => runs,
        failures => failures,
        chart => Value::from_safe_string(chart::throughput_svg(&per_minute)),
        oldest_wait => oldest_wait,
        notice => notice(done),
    };
    super::page(state, d, "overview.html", "overview", "Overview", ctx).await
}

/// The dashboard's overview.
#[utoipa::path(get, path = "/admin", operation_id = "dashboard_overview", tag = "dashboard", params(OverviewQuery), responses((status = 200, description = "The page", content_type = "text/html"), (status = 303, description = "Not signed in: to the sign-in form")))]
pub async fn page(
    d: Dashboard,
    State(state): State<AppState>,
    Query(q): Query<OverviewQuery>,
) -> Result<Html<String>, PageError> {
    render_overview(&state, &d, q.done.as_deref()).await
}
