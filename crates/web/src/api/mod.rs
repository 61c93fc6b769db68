//! `/api/v1`: one module per resource.

pub mod access;
pub mod approvals;
pub mod audit;
pub mod changes;
pub mod communities;
pub mod community_rules;
pub mod content;
pub mod data_protection;
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
        .routes(routes!(data_protection::export))
        .routes(routes!(data_protection::erase))
        .routes(routes!(data_protection::list))
        .routes(routes!(data_protection::lift))
}

/// Parses a key from a path segment (already percent-decoded by axum).
pub(crate) fn member_key(raw: &str) -> Result<amsync_core::MemberKey, crate::error::ApiError> {
    amsync_core::MemberKey::parse(raw).map_err(|e| crate::error::ApiError::BadRequest(format!("member key: {e}")))
}

/// Most member keys one request may list (`POST /refresh`,
/// `POST /queue/requeue`): beyond it, a full refresh or a requeue of all
/// dead letters is the tool.
pub(crate) const MAX_KEYS: usize = 10_000;

/// Parses the member keys of a request body's list `field`: at most `max`,
/// each a valid key; a refusal names the field and the entry.
pub(crate) fn member_keys(
    field: &str,
    raw: &[String],
    max: usize,
) -> Result<Vec<amsync_core::MemberKey>, crate::error::ApiError> {
    if raw.len() > max {
        return Err(crate::error::ApiError::BadRequest(format!(
            "{field}: {} keys, at most {max} in one request",
            raw.len()
        )));
    }
    raw.iter()
        .enumerate()
        .map(|(i, k)| {
            amsync_core::MemberKey::parse(k.as_str()).map_err(|e| {
                let shown: String = amsync_core::error::excerpt(k.as_bytes()).chars().take(70).collect();
                crate::error::ApiError::BadRequest(format!("{field}[{i}] ({shown:?}): member key: {e}"))
            })
        })
        .collect()
}

/// Refuses a query parameter longer than `max` characters, naming it.
pub(crate) fn short_param(name: &str, v: Option<String>, max: usize) -> Result<Option<String>, crate::error::ApiError> {
    match v {
        Some(s) if s.chars().count() > max => Err(crate::error::ApiError::BadRequest(format!(
            "{name}: {} characters, at most {max} are allowed",
            s.chars().count()
        ))),
        other => Ok(other),
    }
}

/// Clamps a page size to `1..=max`, `default` when absent.
pub(crate) fn limit(requested: Option<usize>, default: usize, max: usize) -> usize {
    requested.unwrap_or(default).clamp(1, max)
}
