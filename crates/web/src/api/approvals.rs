//! `/approvals`: changes the deletion and removal thresholds held (product.md
//! job 10), and an admin's decision on them. An approval groups what one
//! run held of one kind (disables, membership removals) or one rule change;
//! applying releases exactly its pending changes, each re-validated against
//! the member's current state; rejecting keeps them unapplied until the
//! source's answer changes.

use amsync_store::{ApprovalDecision, ApprovalFilter, HoldStatus};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::audit::AuditNote;
use crate::auth::Admin;
use crate::error::{ApiError, JsonBody, QueryParams};
use crate::state::AppState;

/// Held changes listed per approval in a list (one approval lists them all).
const CHANGES_LISTED: usize = 100;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `pending`, `applied`, `rejected` or `dropped`; all when absent.
    status: Option<String>,
    /// At most this many (default 50, at most 500).
    limit: Option<usize>,
    /// Approvals older than this id (the previous page's `next_before`).
    before: Option<i64>,
}

/// Approvals, newest first, each with what it would change.
#[utoipa::path(get, path = "/approvals", operation_id = "list_approvals", tag = "safety", params(ListQuery),
    responses((status = 200, description = "`{\"approvals\": [{\"id\", \"kind\": \"disable\"|\"membership_removal\"|\"rule_change\", \"status\", \"reason\", \"run_id\", \"trigger\", \"counts\", \"changes\": [...]}], \"next_before\": id}`", content_type = "application/json"),
        (status = 400, description = "Unknown status"), (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn list(
    _: Admin,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(HoldStatus::parse(s).ok_or_else(|| {
            ApiError::BadRequest(format!("unknown status {s:?}: pending, applied, rejected or dropped"))
        })?),
    };
    let filter = ApprovalFilter {
        status,
        limit: super::limit(q.limit, 50, 500),
        before: q.before,
        changes_limit: CHANGES_LISTED,
    };
    let approvals = state.store.list_approvals(&filter).await?;
    let next = if approvals.len() == filter.limit { approvals.last().map(|a| a.id) } else { None };
    Ok(Json(json!({ "approvals": approvals, "next_before": next })))
}

/// One approval with every held change.
#[utoipa::path(get, path = "/approvals/{id}", operation_id = "get_approval", tag = "safety", params(("id" = i64, Path, description = "The approval id")),
    responses((status = 200, description = "The approval", content_type = "application/json"),
        (status = 404, description = "No such approval"), (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn get(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<amsync_store::Approval>, ApiError> {
    state.store.get_approval(id).await?.map(Json).ok_or_else(|| ApiError::NotFound(format!("approval {id} not found")))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// `apply` or `reject`.
    #[schema(value_type = String)]
    decision: ApprovalDecision,
}

/// Applies or rejects an approval. Applying releases exactly its pending
/// changes (a change whose member moved on meanwhile is dropped); an
/// applied rule change is stored and re-applied to every member.
#[utoipa::path(post, path = "/approvals/{id}", operation_id = "decide_approval", tag = "safety", params(("id" = i64, Path, description = "The approval id")), request_body = DecisionBody,
    responses((status = 200, description = "`{\"approval\": {...}, \"applied\", \"rejected\", \"dropped\", \"run_id\"?, \"reapplied\"?}`", content_type = "application/json"),
        (status = 400, description = "Not a decision"), (status = 404, description = "No such approval"), (status = 409, description = "The approval was decided already"),
        (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn decide(
    admin: Admin,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<DecisionBody>,
) -> Result<Response, ApiError> {
    let (report, reapplied) = state.engine.decide_approval(id, body.decision, admin.actor()).await?;
    let approval = state.store.get_approval(id).await?;
    let mut out = json!({
        "approval": approval,
        "applied": report.applied,
        "rejected": report.rejected,
        "dropped": report.dropped,
    });
    if let Some((run_id, summary)) = reapplied {
        out["run_id"] = json!(run_id);
        out["reapplied"] = json!(summary);
    }
    let detail = format!(
        "{}: {} applied, {} rejected, {} dropped",
        report.status.as_str(),
        report.applied,
        report.rejected,
        report.dropped
    );
    let note = AuditNote { target: Some(format!("approval {id}")), ..AuditNote::detail(detail) };
    Ok(note.attach(Json(out).into_response()))
}
