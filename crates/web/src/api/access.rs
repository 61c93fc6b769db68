//! `GET /access`: may this member (or a signed-out visitor) see this
//! resource? `{"allowed": bool, "reason": "..."}`.
//!
//! One store read (the member and the access version, in one snapshot) and
//! an in-memory decision against the cached policy.

use amsync_core::access::{answer, AccessAnswer, Principal};
use axum::extract::State;
use axum::Json;
use chrono::NaiveDate;
use serde::Deserialize;

use crate::auth::Reader;
use crate::error::{ApiError, QueryParams};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AccessQuery {
    /// No member: a signed-out visitor (Public).
    member: Option<String>,
    /// `discussion:C`, `library:C`, `microsite:C`, `content:ID`, `event:K`.
    resource: Option<String>,
    /// Decide as on this day (`YYYY-MM-DD`, the communities' calendar)
    /// instead of today: "will she still see it after her term ends?"
    day: Option<String>,
}

/// May this member (or a signed-out visitor) see this resource, and why.
#[utoipa::path(get, path = "/access", operation_id = "access_decision", tag = "access", params(AccessQuery), security(("admin_token" = []), ("site_token" = []), ("dashboard_session" = [])),
    responses((status = 200, description = "`{\"allowed\": bool, \"reason\": \"...\"}`; an unknown resource is not allowed and the reason says so", content_type = "application/json"),
        (status = 400, description = "No resource, a bad day or member key"), (status = 404, description = "Unknown member"), (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn decide(
    _: Reader,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<AccessQuery>,
) -> Result<Json<AccessAnswer>, ApiError> {
    let resource = q
        .resource
        .filter(|r| !r.is_empty())
        .ok_or_else(|| ApiError::BadRequest("resource is required, e.g. resource=discussion:CH-NYC".into()))?;
    let day = match q.day.filter(|d| !d.is_empty()) {
        None => state.today(),
        Some(d) => NaiveDate::parse_from_str(&d, "%Y-%m-%d")
            .map_err(|_| ApiError::BadRequest(format!("day: {d:?} is not a date (YYYY-MM-DD)")))?,
    };
    let store = state.store.as_ref();
    let (version, record) = match q.member.filter(|m| !m.is_empty()) {
        None => (store.access_version().await?, None),
        Some(raw) => {
            let key = super::member_key(&raw)?;
            let facts = store.member_for_access(&key).await?;
            let record = facts.member.ok_or_else(|| ApiError::NotFound(format!("member {key} not found")))?;
            (facts.version, Some(record))
        }
    };
    let cached = state.access.policy(store, version).await?;
    let principal = match &record {
        None => Principal::public(),
        Some(r) => Principal::from_record(r, &cached.is_member_groups),
    };
    Ok(Json(answer(&principal, &resource, &cached.policy, day)))
}
