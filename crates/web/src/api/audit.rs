//! `GET /audit`: the audit log of admin actions, newest first.

use amsync_store::AuditFilter;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Admin;
use crate::error::{ApiError, QueryParams};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this actor's actions (`admin token`, or a member key).
    actor: Option<String>,
    /// At most this many (default 100, at most 1000).
    limit: Option<usize>,
    /// Entries older than this id (the previous page's `next_before`).
    before: Option<i64>,
}

/// Admin actions: who, what, target, when, status, request id; newest first.
#[utoipa::path(get, path = "/audit", operation_id = "list_audit", tag = "audit", params(AuditQuery),
    responses((status = 200, description = "`{\"entries\": [...], \"next_before\": id}`", content_type = "application/json"), (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn list(
    _: Admin,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<AuditQuery>,
) -> Result<Json<Value>, ApiError> {
    let filter = AuditFilter {
        actor: super::short_param("actor", q.actor, amsync_core::member::MAX_SHORT_TEXT)?.filter(|a| !a.is_empty()),
        limit: super::limit(q.limit, 100, 1000),
        before: q.before,
    };
    let entries = state.store.list_audit(&filter).await?;
    let next = if entries.len() == filter.limit { entries.last().map(|e| e.id) } else { None };
    Ok(Json(json!({ "entries": entries, "next_before": next })))
}
