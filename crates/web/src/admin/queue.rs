//! `GET /admin/queue?state=`: the Refresh Queue by state, with counts; for
//! each entry its trigger, attempts, the next retry, and the last failure
//! with its reason and the AMS response excerpt. Dead letters have a
//! requeue button each, and one for all of them.

use amsync_core::queue::QueueState;
use axum::extract::{Query, State};
use axum::response::Html;
use minijinja::context;
use serde::Deserialize;

use super::{Dashboard, PageError};
use crate::state::AppState;

const PAGE: usize = 50;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    /// `queued`, `running`, `retrying` or `dead`.
    state: Option<String>,
    /// Entries after this id.
    after: Option<i64>,
    /// `requeued`: shows how many entries an action requeued (`n`).
    done: Option<String>,
    n: Option<u64>,
}

/// The Refresh Queue by state.
#[utoipa::path(get, path = "/admin/queue", operation_id = "dashboard_queue", tag = "dashboard", params(QueueQuery),
    responses((status = 200, description = "The page", content_type = "text/html"), (status = 303, description = "Not signed in: to the sign-in form"), (status = 400, description = "Unknown state")))]
pub async fn page(
    d: Dashboard,
    State(state): State<AppState>,
    Query(q): Query<QueueQuery>,
) -> Result<Html<String>, PageError> {
    let counts = state.store.queue_counts().await?;
    let chosen = match q.state.as_deref() {
        Some(s) if !s.is_empty() => s.parse::<QueueState>().map_err(PageError::BadRequest)?,
        // The state that most needs eyes first.
        _ if counts.dead > 0 => QueueState::Dead,
        _ if counts.retrying > 0 => QueueState::Retrying,
        _ if counts.running > 0 => QueueState::Running,
        _ => QueueState::Queued,
    };
    let entries = state.store.list_queue(Some(chosen), PAGE, q.after).await?;
    let next_after = if entries.len() == PAGE { entries.last().map(|e| e.id) } else { None };
    let tabs: Vec<(&str, u64)> = vec![
        ("queued", counts.queued),
        ("running", counts.running),
        ("retrying", counts.retrying),
        ("dead", counts.dead),
    ];
    let notice = match (q.done.as_deref(), q.n) {
        (Some("requeued"), Some(n)) => Some(format!("{n} entries were requeued.")),
        _ => None,
    };
    let ctx = context! {
        tabs => tabs,
        chosen => chosen.as_str(),
        entries => entries,
        next_after => next_after,
        counts => counts,
        notice => notice,
    };
    super::page(&state, &d, "queue.html", "queue", "Refresh Queue", ctx).await
}
