//! `/events`: the calendar.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Reader;
use crate::error::{ApiError, QueryParams};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    from: Option<String>,
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
