//! Data protection (admin only): a member's export (everything amsync
//! holds about it), its erase (every row removed, a tombstone left on the
//! key so no refresh brings it back), and the tombstones.
//!
//! - `GET /members/{key}/export`: JSON, as a download;
//! - `POST /members/{key}/erase` with an optional `{"reason": "…"}`;
//! - `GET /tombstones`, `DELETE /tombstones/{key}` (lifts one: the next
//!   refresh brings the record back).
//!
//! Erases and lifts are admin actions, so the audit log records them (with
//! the key as target); the export carries no secret (sessions and mobile
//! tokens without their hashes).

use amsync_store::{EraseRequest, MemberExport, StoredPayload, MAX_ERASE_REASON};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};

use super::member_doc::{member_document, GroupContext};
use crate::audit::{ActorSlot, AuditNote};
use crate::auth::Admin;
use crate::error::{ApiError, OptionalJsonBody, QueryParams};
use crate::state::AppState;

/// A stored AMS answer: its text when it is UTF-8, else base64.
fn payload_json(p: &StoredPayload) -> Value {
    let mut v = json!({ "part": p.part, "encoding": p.encoding, "at": p.at });
    match std::str::from_utf8(&p.body) {
        Ok(text) => v["body"] = json!(text),
        Err(_) => v["body_base64"] = json!(base64::engine::general_purpose::STANDARD.encode(&p.body)),
    }
    v
}

async fn export_json(state: &AppState, e: &MemberExport) -> Result<Value, ApiError> {
    let member = match &e.member {
        Some(m) => {
            let groups = GroupContext::from_groups(&state.store.security_groups().await?);
            member_document(m, &groups, state.today())
        }
        None => Value::Null,
    };
    Ok(json!({
        "key": e.key,
        "exported_at": chrono::Utc::now(),
        "member": member,
        "ams_memberships": e.ams_memberships,
        "local_groups": e.local_groups,
        "payloads": e.payloads.iter().map(payload_json).collect::<Vec<_>>(),
        "history": e.history,
        "refresh": e.refresh,
        "queue": e.queue,
        "sessions": e.sessions,
        "mobile_tokens": e.mobile_tokens,
        "change_feed": e.change_feed,
        "held_changes": e.held_changes,
        "threshold_ledger": e.threshold_ledger,
        "audit": e.audit,
        "tombstone": e.tombstone,
    }))
}

/// A file name for the download: the key's safe characters only.
fn file_name(key: &str) -> String {
    let safe: String = key.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    format!("amsync-export-{}.json", if safe.is_empty() { "member" } else { &safe })
}

/// Everything amsync holds about one member: the record, memberships
/// (as shown and as the AMS listed them), local groups, the stored AMS
/// answers, history, refresh bookkeeping and queue entries, sessions and
/// mobile tokens (metadata only), change-feed entries, changes the
/// thresholds held and what their window counted of it, audit entries
/// about it, and its tombstone.
#[utoipa::path(get, path = "/members/{key}/export", operation_id = "export_member", tag = "data-protection",
    params(("key" = String, Path, description = "The member key")),
    responses((status = 200, description = "The export, as a JSON download", content_type = "application/json"),
        (status = 400, description = "A bad key"), (status = 404, description = "Nothing is held about the key"),
        (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that")))]
pub async fn export(_: Admin, State(state): State<AppState>, Path(key): Path<String>) -> Result<Response, ApiError> {
    let key = super::member_key(&key)?;
    let e = state
        .store
        .export_member(&key)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("nothing is held about member {key}")))?;
    let doc = export_json(&state, &e).await?;
    tracing::info!(member = %key, "member export served");
    let mut resp = Json(doc).into_response();
    let disposition = format!("attachment; filename=\"{}\"", file_name(key.as_str()));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseBody {
    /// A short reason, such as the request's reference (at most 256 characters).
    #[serde(default)]
    reason: Option<String>,
}

/// Erases a member: removes every row about it (record, memberships,
/// groups, AMS answers, history, bookkeeping, queue entries, sessions,
/// mobile tokens, change-feed entries, held changes; its key is cleared
/// from the thresholds' ledger) and leaves a tombstone on the key, so no
/// refresh brings the record back until the tombstone is lifted. The
/// change feed gets an `erased` entry; a pending approval left with
/// nothing pending is dropped. A key nothing is held about is tombstoned
/// too.
#[utoipa::path(post, path = "/members/{key}/erase", operation_id = "erase_member", tag = "data-protection",
    params(("key" = String, Path, description = "The member key")), request_body(content = EraseBody, description = "Optional"),
    responses((status = 200, description = "`{\"key\", \"removed\": {...}, \"tombstone\": {...}, \"already_tombstoned\"}`", content_type = "application/json"),
        (status = 400, description = "A bad key or body"), (status = 401, description = "No or unknown token or session"),
        (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn erase(
    _: Admin,
    Extension(slot): Extension<ActorSlot>,
    State(state): State<AppState>,
    Path(key): Path<String>,
    OptionalJsonBody(body): OptionalJsonBody<EraseBody>,
) -> Result<Response, ApiError> {
    let key = super::member_key(&key)?;
    let body = body.unwrap_or_default();
    let reason = body.reason.map(|r| r.trim().to_string()).filter(|r| !r.is_empty());
    if let Some(r) = &reason {
        amsync_core::member::check_len(Some(r), MAX_ERASE_REASON)
            .map_err(|m| ApiError::BadRequest(format!("erase of member {key}: reason: {m}")))?;
    }
    let actor = slot.actor().unwrap_or_else(|| amsync_store::ADMIN_TOKEN_ACTOR.to_string());
    let report =
        state.store.erase_member(&EraseRequest { key: key.clone(), actor, reason, at: chrono::Utc::now() }).await?;
    let detail = format!("{} rows removed; key tombstoned", report.removed.total());
    let note = AuditNote { target: Some(key.to_string()), detail: Some(detail), ..AuditNote::default() };
    let doc = json!({
        "key": key,
        "removed": report.removed,
        "tombstone": report.tombstone,
        "already_tombstoned": report.already_tombstoned,
    });
    Ok(note.attach(Json(doc).into_response()))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TombstonesQuery {
    /// At most this many (default 100, at most 1000).
    limit: Option<usize>,
    /// Tombstones after this key (the previous page's `next_after`).
    after: Option<String>,
}

/// Erased keys, in key order: refreshes write nothing about them.
#[utoipa::path(get, path = "/tombstones", operation_id = "list_tombstones", tag = "data-protection", params(TombstonesQuery),
    responses((status = 200, description = "`{\"tombstones\": [{\"key\", \"erased_at\", \"actor\", \"reason\"}], \"next_after\"}`", content_type = "application/json"),
        (status = 400, description = "A bad key in after"), (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that")))]
pub async fn list(
    _: Admin,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<TombstonesQuery>,
) -> Result<Json<Value>, ApiError> {
    let after = match q.after.as_deref().filter(|a| !a.is_empty()) {
        Some(a) => Some(amsync_core::MemberKey::parse(a).map_err(|e| ApiError::BadRequest(format!("after: {e}")))?),
        None => None,
    };
    let limit = super::limit(q.limit, 100, 1000);
    let stones = state.store.list_tombstones(limit, after.as_ref()).await?;
    let next = if stones.len() == limit { stones.last().map(|t| t.key.clone()) } else { None };
    Ok(Json(json!({ "tombstones": stones, "next_after": next })))
}

/// Lifts the tombstone on a key: the next refresh of the key (periodic,
/// at sign-in, or `POST /refresh`) brings the record back.
#[utoipa::path(delete, path = "/tombstones/{key}", operation_id = "lift_tombstone", tag = "data-protection",
    params(("key" = String, Path, description = "The member key")),
    responses((status = 200, description = "`{\"key\", \"lifted\": true}`", content_type = "application/json"),
        (status = 400, description = "A bad key"), (status = 404, description = "The key has no tombstone"),
        (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn lift(_: Admin, State(state): State<AppState>, Path(key): Path<String>) -> Result<Response, ApiError> {
    let key = super::member_key(&key)?;
    if !state.store.lift_tombstone(&key).await? {
        return Err(ApiError::NotFound(format!("member {key} has no tombstone")));
    }
    let note =
        AuditNote { target: Some(key.to_string()), detail: Some("tombstone lifted".into()), ..AuditNote::default() };
    Ok(note.attach((StatusCode::OK, Json(json!({ "key": key, "lifted": true }))).into_response()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_names_keep_only_safe_characters() {
        assert_eq!(file_name("M000123"), "amsync-export-M000123.json");
        assert_eq!(file_name("a/b\"c d"), "amsync-export-abcd.json");
        assert_eq!(file_name("é"), "amsync-export-member.json");
    }

    #[test]
    fn payloads_are_text_when_they_can_be() {
        let at = chrono::Utc::now();
        let text = StoredPayload { part: "details".into(), encoding: "json".into(), at, body: b"{}".to_vec() };
        assert_eq!(payload_json(&text)["body"], "{}");
        let bin = StoredPayload { part: "details".into(), encoding: "xml".into(), at, body: vec![0xff, 0xfe] };
        assert_eq!(payload_json(&bin)["body_base64"], "//4=");
    }
}
