//! `/api/v1`: one module per resource.

pub mod audit;
pub mod events;
pub mod member_doc;
pub mod members;
pub mod queue;
pub mod refresh;
pub mod sync;

use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sync/status", get(sync::status))
        .route("/sync/runs", get(sync::runs))
        .route("/sync/runs/{id}", get(sync::run))
        .route("/sync/pause", post(sync::pause))
        .route("/sync/resume", post(sync::resume))
        .route("/queue", get(queue::list))
        .route("/queue/requeue", post(queue::requeue))
        .route("/refresh", post(refresh::refresh))
        .route("/members", get(members::search))
        .route("/members/{key}", get(members::get_one))
        .route("/members/{key}/history", get(members::history))
        .route("/events", get(events::list))
        .route("/audit", get(audit::list))
}

/// Parses a key from a path segment (already percent-decoded by axum).
pub(crate) fn member_key(raw: &str) -> Result<amsync_core::MemberKey, crate::error::ApiError> {
    amsync_core::MemberKey::parse(raw).map_err(|e| crate::error::ApiError::BadRequest(format!("member key: {e}")))
}

/// Clamps a page size to `1..=max`, `default` when absent.
pub(crate) fn limit(requested: Option<usize>, default: usize, max: usize) -> usize {
    requested.unwrap_or(default).clamp(1, max)
}
