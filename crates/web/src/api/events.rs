//! `/events`: the calendar.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Reader;
use crate::error::{ApiError, QueryParams};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// RFC 3339 instant: events ending at or after it.
    from: Option<String>,
    /// RFC 3339 instant: events starting at or before it.
    to: Option<String>,
}

fn instant(name: &str, v: Option<String>) -> Result<Option<DateTime<Utc>>, ApiError> {
    match v.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => DateTime::parse_from_rfc3339(&s)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|e| ApiError::BadRequest(format!("{name}: {s:?} is not an RFC 3339 instant ({e})"))),
    }
}

/// The calendar: events overlapping the interval.
#[utoipa::path(get, path = "/events", operation_id = "list_events", tag = "events", params(EventsQuery),
    responses((status = 200, description = "`{\"events\": [...]}`", content_type = "application/json"),
        (status = 400, description = "Not an RFC 3339 instant, or `to` before `from`"), (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn list(
    _: Reader,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<EventsQuery>,
) -> Result<Json<Value>, ApiError> {
    let from = instant("from", q.from)?;
    let to = instant("to", q.to)?;
    if let (Some(f), Some(t)) = (from, to) {
        if t < f {
            return Err(ApiError::BadRequest("to is before from".into()));
        }
    }
    let events = state.store.list_events(from, to).await?;
    Ok(Json(json!({ "events": events })))
}
