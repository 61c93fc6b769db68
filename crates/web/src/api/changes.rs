//! `GET /changes`: the change feed the community site follows.
//!
//! Items come in commit order under a sequence number the single writer
//! assigns inside each commit, so a reader never sees a later item before
//! an earlier one: a site that stores `next_cursor` misses nothing, not even
//! a refresh that committed late. The cursor is opaque to the site.
//! Disables and erasures are tombstones: the site drops what it holds.

use amsync_core::diff::ChangeKind;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Reader;
use crate::error::{ApiError, QueryParams};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// A `next_cursor` from an earlier answer; absent: from the start.
    after: Option<String>,
    /// At most this many (default 100, at most 1000).
    limit: Option<usize>,
}

const CURSOR_PREFIX: char = 'c';

fn encode_cursor(seq: i64) -> String {
    format!("{CURSOR_PREFIX}{seq:x}")
}

fn decode_cursor(cursor: &str) -> Result<i64, ApiError> {
    cursor
        .strip_prefix(CURSOR_PREFIX)
        .filter(|hex| !hex.is_empty() && hex.len() <= 16)
        .and_then(|hex| i64::from_str_radix(hex, 16).ok())
        .filter(|seq| *seq >= 0)
        .ok_or_else(|| ApiError::BadRequest("after: the cursor is not one this server gave".into()))
}

/// Members changed, disabled or erased, in commit order.
#[utoipa::path(get, path = "/changes", operation_id = "change_feed", tag = "changes", params(ChangesQuery), security(("admin_token" = []), ("site_token" = []), ("dashboard_session" = [])),
    responses((status = 200, description = "`{\"changes\": [{\"key\", \"kind\", \"at\", \"tombstone\"}], \"next_cursor\": \"…\", \"more\": bool}`", content_type = "application/json"),
        (status = 400, description = "A cursor this server did not give"), (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn list(
    _: Reader,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ChangesQuery>,
) -> Result<Json<Value>, ApiError> {
    let after = match q.after.as_deref().filter(|a| !a.is_empty()) {
        None => 0,
        Some(c) => decode_cursor(c)?,
    };
    let limit = super::limit(q.limit, 100, 1000);
    let items = state.store.changes_after(after, limit).await?;
    let next = items.last().map_or(after, |i| i.seq);
    let changes: Vec<Value> = items
        .iter()
        .map(|i| {
            let tombstone = matches!(i.kind, ChangeKind::Disabled | ChangeKind::Erased);
            json!({ "key": i.key, "kind": i.kind, "at": i.at, "tombstone": tombstone })
        })
        .collect();
    let more = changes.len() == limit;
    Ok(Json(json!({ "changes": changes, "next_cursor": encode_cursor(next), "more": more })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_strangers_are_refused() {
        for seq in [0, 1, 255, i64::MAX] {
            assert_eq!(decode_cursor(&encode_cursor(seq)).unwrap(), seq);
        }
        for bad in ["", "c", "12", "cxyz", "c-1", "c10000000000000000"] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }
}
