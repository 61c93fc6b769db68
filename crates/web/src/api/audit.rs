//! `GET /audit`: the audit log of admin actions, newest first.

use amsync_store::AuditFilter;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Admin;
use crate::error::{ApiError, QueryParams};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    actor: Option<String>,
    limit: Option<usize>,
    before: Option<i64>,
}

pub async fn list(
    _: Admin,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<AuditQuery>,
) -> Result<Json<Value>, ApiError> {
    let filter = AuditFilter {
        actor: q.actor.filter(|a| !a.is_empty()),
        limit: super::limit(q.limit, 100, 1000),
        before: q.before,
    };
    let entries = state.store.list_audit(&filter).await?;
    let next = if entries.len() == filter.limit { entries.last().map(|e| e.id) } else { None };
    Ok(Json(json!({ "entries": entries, "next_before": next })))
}
