//! `/api/v1`: one module per resource.

pub mod access;
pub mod approvals;
pub mod audit;
pub mod changes;
pub mod communities;
pub mod community_rules;
pub mod content;
pub mod events;
pub mod member_doc;
pub mod members;
pub mod queue;
pub mod refresh;
pub mod security_groups;
pub mod sync;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// The routes with their OpenAPI documentation (each handler carries a
/// `#[utoipa::path]`), relative to `/api/v1`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sync::status))
        .routes(routes!(sync::runs))
        .routes(routes!(sync::run))
        .routes(routes!(sync::pause))
        .routes(routes!(sync::resume))
        .routes(routes!(queue::list))
        .routes(routes!(queue::requeue))
        .routes(routes!(refresh::refresh))
        .routes(routes!(members::search))
        .routes(routes!(members::get_one))
        .routes(routes!(members::history))
        .routes(routes!(members::disable))
        .routes(routes!(members::enable))
        .routes(routes!(approvals::list))
        .routes(routes!(approvals::get, approvals::decide))
        .routes(routes!(events::list))
        .routes(routes!(audit::list))
        .routes(routes!(changes::list))
        .routes(routes!(communities::list))
        .routes(routes!(communities::members))
        .routes(routes!(communities::get_access, communities::put_access))
        .routes(routes!(community_rules::get, community_rules::put))
        .routes(routes!(security_groups::list, security_groups::put))
        .routes(routes!(security_groups::delete))
        .routes(routes!(security_groups::members, security_groups::put_members))
        .routes(routes!(content::get, content::put))
        .routes(routes!(access::decide))
}

/// Parses a key from a path segment (already percent-decoded by axum).
pub(crate) fn member_key(raw: &str) -> Result<amsync_core::MemberKey, crate::error::ApiError> {
    amsync_core::MemberKey::parse(raw).map_err(|e| crate::error::ApiError::BadRequest(format!("member key: {e}")))
}

/// Clamps a page size to `1..=max`, `default` when absent.
pub(crate) fn limit(requested: Option<usize>, default: usize, max: usize) -> usize {
    requested.unwrap_or(default).clamp(1, max)
}
