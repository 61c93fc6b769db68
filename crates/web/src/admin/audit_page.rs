//! `GET /admin/audit`: the audit log of admin actions, newest first.

use amsync_store::AuditFilter;
use axum::extract::{Query, State};
use axum::response::Html;
use minijinja::context;
use serde::Deserialize;

use super::{Dashboard, PageError};
use crate::state::AppState;

const PAGE: usize = 50;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this actor's actions.
    actor: Option<String>,
    /// Entries older than this id.
    before: Option<i64>,
}

/// The audit log.
#[utoipa::path(get, path = "/admin/audit", operation_id = "dashboard_audit", tag = "dashboard", params(AuditQuery), responses((status = 200, description = "The page", content_type = "text/html"), (status = 303, description = "Not signed in: to the sign-in form")))]
pub async fn page(
    d: Dashboard,
    State(state): State<AppState>,
    Query(q): Query<AuditQuery>,
) -> Result<Html<String>, PageError> {
    let actor = q.actor.filter(|a| !a.is_empty());
    let filter = AuditFilter { actor: actor.clone(), limit: PAGE, before: q.before };
    let entries = state.store.list_audit(&filter).await?;
    let next_before = if entries.len() == PAGE { entries.last().map(|e| e.id) } else { None };
    let ctx = context! { entries => entries, next_before => next_before, actor_filter => actor };
    super::page(&state, &d, "audit.html", "audit", "Audit log", ctx).await
}
