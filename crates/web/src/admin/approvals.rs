//! `GET /admin/approvals`: the held changes — what each approval would do
//! (members, disables, membership removals, a rule change with its dry
//! run) and why it was held — with buttons to apply or reject it;
//! `POST /admin/approvals/{id}` decides, exactly like
//! `POST /api/v1/approvals/{id}`, and is recorded in the audit log.

use amsync_store::{ApprovalDecision, ApprovalFilter, HoldStatus};
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use minijinja::context;
use serde::Deserialize;

use super::{Dashboard, PageError};
use crate::audit::AuditNote;
use crate::state::AppState;

/// Approvals per page, and held changes shown per approval.
const PAGE: usize = 50;
const CHANGES_SHOWN: usize = 50;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApprovalsQuery {
    /// `pending` (the default), `applied`, `rejected`, `dropped` or `all`.
    status: Option<String>,
    /// A fixed notice after a decision (`applied`, `rejected`).
    done: Option<String>,
}

fn notice(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "applied" => Some("Applied: the held changes that still stood were released."),
        "rejected" => Some("Rejected: these changes stay unapplied until the AMS answers otherwise."),
        _ => None,
    }
}

/// The held changes.
#[utoipa::path(get, path = "/admin/approvals", operation_id = "dashboard_approvals", tag = "dashboard", params(ApprovalsQuery), responses((status = 200, description = "The page", content_type = "text/html"), (status = 303, description = "Not signed in: to the sign-in form")))]
pub async fn page(
    d: Dashboard,
    State(state): State<AppState>,
    Query(q): Query<ApprovalsQuery>,
) -> Result<Html<String>, PageError> {
    let chosen = q.status.as_deref().filter(|s| !s.is_empty()).unwrap_or("pending");
    let status = match chosen {
        "all" => None,
        s => Some(HoldStatus::parse(s).ok_or_else(|| PageError::BadRequest(format!("unknown status {s:?}")))?),
    };
    let filter = ApprovalFilter { status, limit: PAGE, before: None, changes_limit: CHANGES_SHOWN };
    let approvals = state.store.list_approvals(&filter).await?;
    let thresholds = state.store.threshold_status(chrono::Utc::now()).await?;
    let ctx = context! {
        approvals => approvals,
        chosen => chosen,
        tabs => ["pending", "applied", "rejected", "dropped", "all"],
        thresholds => thresholds,
        notice => notice(q.done.as_deref()),
    };
    super::page(&state, &d, "approvals.html", "approvals", "Held changes", ctx).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DecisionForm {
    #[serde(default)]
    csrf: String,
    /// `apply` or `reject`.
    decision: String,
}

/// Applies or rejects an approval.
#[utoipa::path(post, path = "/admin/approvals/{id}", operation_id = "dashboard_decide_approval", tag = "dashboard",
    params(("id" = i64, Path, description = "The approval id")),
    request_body(content = DecisionForm, content_type = "application/x-www-form-urlencoded"), responses((status = 303, description = "Done: to the page that shows it (or to the sign-in form)"), (status = 400, description = "A bad value"), (status = 403, description = "Missing or wrong CSRF token"), (status = 409, description = "Decided already")))]
pub async fn decide(
    d: Dashboard,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Form(f): Form<DecisionForm>,
) -> Result<Response, PageError> {
    d.check_csrf(&f.csrf)?;
    let decision = match f.decision.as_str() {
        "apply" => ApprovalDecision::Apply,
        "reject" => ApprovalDecision::Reject,
        other => return Err(PageError::BadRequest(format!("unknown decision {other:?}"))),
    };
    let (report, _) = state.engine.decide_approval(id, decision, &d.session.actor).await?;
    let done = if decision == ApprovalDecision::Apply { "applied" } else { "rejected" };
    let detail = format!(
        "{}: {} applied, {} rejected, {} dropped",
        report.status.as_str(),
        report.applied,
        report.rejected,
        report.dropped
    );
    let note = AuditNote {
        action: Some(format!("dashboard: {} approval", f.decision)),
        target: Some(format!("approval {id}")),
        detail: Some(detail),
    };
    Ok(note.attach(Redirect::to(&format!("/admin/approvals?status=all&done={done}")).into_response()))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct MemberStatusForm {
    #[serde(default)]
    csrf: String,
}

async fn set_disabled(
    d: Dashboard,
    state: AppState,
    raw: String,
    csrf: &str,
    disable: bool,
) -> Result<Response, PageError> {
    d.check_csrf(csrf)?;
    let key =
        amsync_core::MemberKey::parse(raw.as_str()).map_err(|e| PageError::BadRequest(format!("member key: {e}")))?;
    let change = state.engine.set_member_disabled(&key, disable, &d.session.actor).await?;
    let verb = if disable { "disable" } else { "enable" };
    let detail = if change.changed { format!("member {verb}d") } else { "nothing changed".to_string() };
    let note = AuditNote {
        action: Some(format!("dashboard: {verb} member")),
        target: Some(format!("member {key}")),
        detail: Some(detail),
    };
    let back = format!("/admin/members/{}", super::render::encode_component(key.as_str()));
    Ok(note.attach(Redirect::to(&back).into_response()))
}

/// Disables a member as an admin (it sticks until an admin enables it).
#[utoipa::path(post, path = "/admin/members/{key}/disable", operation_id = "dashboard_disable_member", tag = "dashboard",
    params(("key" = String, Path, description = "The member key")),
    request_body(content = MemberStatusForm, content_type = "application/x-www-form-urlencoded"), responses((status = 303, description = "Done: back to the member (or to the sign-in form)"), (status = 403, description = "Missing or wrong CSRF token"), (status = 404, description = "Unknown member")))]
pub async fn disable_member(
    d: Dashboard,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    Form(f): Form<MemberStatusForm>,
) -> Result<Response, PageError> {
    set_disabled(d, state, raw, &f.csrf, true).await
}

/// Lifts an admin's disable.
#[utoipa::path(post, path = "/admin/members/{key}/enable", operation_id = "dashboard_enable_member", tag = "dashboard",
    params(("key" = String, Path, description = "The member key")),
    request_body(content = MemberStatusForm, content_type = "application/x-www-form-urlencoded"), responses((status = 303, description = "Done: back to the member (or to the sign-in form)"), (status = 403, description = "Missing or wrong CSRF token"), (status = 404, description = "Unknown member"), (status = 409, description = "Disabled by its source, not by an admin")))]
pub async fn enable_member(
    d: Dashboard,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    Form(f): Form<MemberStatusForm>,
) -> Result<Response, PageError> {
    set_disabled(d, state, raw, &f.csrf, false).await
}
