//! `/community-rules`: which communities come over, changed at run time.
//! A PUT is first computed as a dry run from the stored AMS payloads; within
//! the membership removal threshold it stores the rules and re-applies them
//! to every member (a `rules` run, in each changed member's history),
//! without calling the AMS; past it nothing changes and the change is held
//! for an admin's approval (`202` with the approval).

use amsync_core::member::{check_len, MAX_SHORT_TEXT};
use amsync_core::rules::{CommunityRule, RuleSet};
use amsync_sync::RuleProposal;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Admin;
use crate::error::{ApiError, JsonBody};
use crate::state::AppState;

/// Most rules a set may hold: each community is matched against them in order.
const MAX_RULES: usize = 1000;

/// One re-apply at a time on this node: two interleaved ones could leave
/// members split between the two rule sets.
static REAPPLY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The community rules.
#[utoipa::path(get, path = "/community-rules", operation_id = "get_community_rules", tag = "communities",
    responses((status = 200, description = "`{\"rules\": [{\"action\", \"group_type\", \"group_subtype\"}]}`", content_type = "application/json"),
        (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn get(_: Admin, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let rules = state.store.community_rules().await?;
    Ok(Json(json!({ "rules": rules.rules })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesBody {
    /// `{"action": "include"|"exclude", "group_type"?, "group_subtype"?}`, first match wins.
    #[schema(value_type = Vec<Object>)]
    rules: Vec<CommunityRule>,
}

fn validate(rules: &[CommunityRule]) -> Result<(), ApiError> {
    if rules.len() > MAX_RULES {
        return Err(ApiError::BadRequest(format!("rules: {} rules, at most {MAX_RULES}", rules.len())));
    }
    for (i, r) in rules.iter().enumerate() {
        for (field, v) in [("group_type", &r.group_type), ("group_subtype", &r.group_subtype)] {
            check_len(v.as_deref(), MAX_SHORT_TEXT)
                .map_err(|m| ApiError::BadRequest(format!("rules[{i}].{field}: {m}")))?;
        }
    }
    Ok(())
}

/// Stores the rules and re-applies them to every member from the stored
/// AMS answers, without calling the AMS; past the membership removal
/// threshold, holds the change for approval instead (202).
#[utoipa::path(put, path = "/community-rules", operation_id = "put_community_rules", tag = "communities", request_body = RulesBody,
    responses((status = 200, description = "`{\"rules\", \"run_id\", \"reapplied\": {\"members\", \"changed\", \"memberships_added\", \"memberships_removed\"}}`", content_type = "application/json"),
        (status = 202, description = "Held past the threshold, nothing changed: `{\"held\": true, \"approval_id\", \"reason\", \"dry_run\": {...}, \"approval\": {...}}`", content_type = "application/json"),
        (status = 400, description = "Not a rule set"), (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn put(
    _: Admin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RulesBody>,
) -> Result<Response, ApiError> {
    validate(&body.rules)?;
    let rules = RuleSet::new(body.rules);
    let _one_at_a_time = REAPPLY.lock().await;
    let started = std::time::Instant::now();
    match state.engine.propose_rules(&rules).await? {
        RuleProposal::Applied { run_id, summary } => {
            tracing::info!(
                run_id,
                members = summary.members,
                changed = summary.changed,
                ms = started.elapsed().as_millis() as u64,
                "community rules changed and re-applied"
            );
            Ok(Json(json!({ "rules": rules.rules, "run_id": run_id, "reapplied": summary })).into_response())
        }
        RuleProposal::Held { approval } => {
            let body = json!({
                "held": true,
                "approval_id": approval.id,
                "reason": approval.reason,
                "dry_run": approval.summary,
                "approval": approval,
            });
            let note = crate::audit::AuditNote::detail(format!("held for approval {}", approval.id));
            Ok(note.attach((StatusCode::ACCEPTED, Json(body)).into_response()))
        }
    }
}
