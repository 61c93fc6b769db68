//! The dashboard's buttons. Each is a form carrying the session's CSRF
//! token; each does what the matching API call does, redirects to where its
//! effect shows (a run's progress page, the queue), and is recorded in the
//! audit log with what it did.
//!
//! - `POST /admin/refresh`: one member, several keys, a community's
//!   members, or everyone (a full refresh);
//! - `POST /admin/queue/requeue`: given keys, or every dead letter;
//! - `POST /admin/pause`, `POST /admin/resume`: AMS maintenance.

use amsync_core::{MemberKey, Trigger};
use amsync_store::RequeueSelector;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use super::{Dashboard, PageError};
use crate::api::refresh::{community_members, start_full_refresh};
use crate::audit::AuditNote;
use crate::state::AppState;

/// Keys typed into a form: separated by spaces, commas, semicolons or lines.
pub fn parse_keys(text: &str) -> Result<Vec<MemberKey>, PageError> {
    let mut keys = Vec::new();
    for k in text.split(|c: char| c.is_whitespace() || c == ',' || c == ';').filter(|k| !k.is_empty()) {
        let key = MemberKey::parse(k).map_err(|e| PageError::BadRequest(format!("member key {k:?}: {e}")))?;
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    if keys.is_empty() {
        return Err(PageError::BadRequest("Give at least one member key.".into()));
    }
    Ok(keys)
}

fn note(action: &str, target: impl Into<String>, detail: impl Into<String>) -> AuditNote {
    AuditNote { action: Some(format!("dashboard: {action}")), target: Some(target.into()), detail: Some(detail.into()) }
}

fn key_list(keys: &[MemberKey]) -> String {
    const SHOWN: usize = 20;
    let mut s = keys.iter().take(SHOWN).map(MemberKey::as_str).collect::<Vec<_>>().join(", ");
    if keys.len() > SHOWN {
        s.push_str(&format!(" and {} more", keys.len() - SHOWN));
    }
    s
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RefreshForm {
    #[serde(default)]
    csrf: String,
    /// `member`, `keys`, `community` or `all`.
    what: String,
    #[serde(default)]
    keys: String,
    #[serde(default)]
    community: String,
}

/// Refreshes one member, several keys, a community's members or everyone.
#[utoipa::path(post, path = "/admin/refresh", operation_id = "dashboard_refresh", tag = "dashboard",
    request_body(content = RefreshForm, content_type = "application/x-www-form-urlencoded"), responses((status = 303, description = "Done: to the page that shows it (or to the sign-in form)"), (status = 400, description = "A bad value"), (status = 403, description = "Missing or wrong CSRF token")))]
pub async fn refresh(
    d: Dashboard,
    State(state): State<AppState>,
    Form(f): Form<RefreshForm>,
) -> Result<Response, PageError> {
    d.check_csrf(&f.csrf)?;
    let (run_id, audit) = match f.what.as_str() {
        "all" => {
            let run = start_full_refresh(&state).await?;
            (run, note("full refresh", "everyone", format!("run {run}")))
        }
        "member" | "keys" => {
            let keys = parse_keys(&f.keys)?;
            let params = json!({ "keys": keys.len(), "via": "dashboard" });
            let run = state.engine.refresh_keys(&keys, Trigger::Manual, params).await?;
            (run, note("refresh", key_list(&keys), format!("run {run}, {} member(s)", keys.len())))
        }
        "community" => {
            let community = f.community.trim();
            amsync_core::CommunityKey::parse(community)
                .map_err(|e| PageError::BadRequest(format!("community: {e}")))?;
            let keys = community_members(&state, community).await?;
            let params = json!({ "keys": keys.len(), "community": community, "via": "dashboard" });
            let run = state.engine.refresh_keys(&keys, Trigger::Manual, params).await?;
            let detail = format!("run {run}, {} member(s)", keys.len());
            (run, note("refresh community", format!("community {community}"), detail))
        }
        other => return Err(PageError::BadRequest(format!("unknown refresh {other:?}"))),
    };
    Ok(audit.attach(Redirect::to(&format!("/admin/runs/{run_id}")).into_response()))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RequeueForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    keys: String,
    /// `1` for every dead letter.
    #[serde(default)]
    all_dead: Option<String>,
}

/// Requeues given keys, or every dead letter.
#[utoipa::path(post, path = "/admin/queue/requeue", operation_id = "dashboard_requeue", tag = "dashboard",
    request_body(content = RequeueForm, content_type = "application/x-www-form-urlencoded"), responses((status = 303, description = "Done: to the page that shows it (or to the sign-in form)"), (status = 400, description = "A bad value"), (status = 403, description = "Missing or wrong CSRF token")))]
pub async fn requeue(
    d: Dashboard,
    State(state): State<AppState>,
    Form(f): Form<RequeueForm>,
) -> Result<Response, PageError> {
    d.check_csrf(&f.csrf)?;
    let (selector, target) = if f.all_dead.as_deref() == Some("1") {
        (RequeueSelector::AllDead, "all dead letters".to_string())
    } else {
        let keys = parse_keys(&f.keys)?;
        let target = key_list(&keys);
        (RequeueSelector::Keys(keys), target)
    };
    let n = state.store.requeue(&selector, Utc::now()).await?;
    state.engine.wake_workers();
    let resp = Redirect::to(&format!("/admin/queue?state=queued&done=requeued&n={n}")).into_response();
    Ok(note("requeue", target, format!("{n} entries requeued")).attach(resp))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PauseForm {
    #[serde(default)]
    csrf: String,
}

/// Pauses the sync (AMS maintenance).
#[utoipa::path(post, path = "/admin/pause", operation_id = "dashboard_pause", tag = "dashboard",
    request_body(content = PauseForm, content_type = "application/x-www-form-urlencoded"), responses((status = 303, description = "Done: to the page that shows it (or to the sign-in form)"), (status = 400, description = "A bad value"), (status = 403, description = "Missing or wrong CSRF token")))]
pub async fn pause(
    d: Dashboard,
    State(state): State<AppState>,
    Form(f): Form<PauseForm>,
) -> Result<Response, PageError> {
    d.check_csrf(&f.csrf)?;
    state.engine.pause("admin").await?;
    let resp = Redirect::to("/admin?done=paused").into_response();
    Ok(note("pause", "sync", "polling and refreshing stopped").attach(resp))
}

/// Resumes the sync.
#[utoipa::path(post, path = "/admin/resume", operation_id = "dashboard_resume", tag = "dashboard",
    request_body(content = PauseForm, content_type = "application/x-www-form-urlencoded"), responses((status = 303, description = "Done: to the page that shows it (or to the sign-in form)"), (status = 400, description = "A bad value"), (status = 403, description = "Missing or wrong CSRF token")))]
pub async fn resume(
    d: Dashboard,
    State(state): State<AppState>,
    Form(f): Form<PauseForm>,
) -> Result<Response, PageError> {
    d.check_csrf(&f.csrf)?;
    state.engine.resume().await?;
    let resp = Redirect::to("/admin?done=resumed").into_response();
    Ok(note("resume", "sync", "polling and refreshing restarted").attach(resp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_split_deduplicated_and_checked() {
        let keys = parse_keys(" M1, M2;M1\nM3 ").unwrap();
        assert_eq!(keys.iter().map(MemberKey::as_str).collect::<Vec<_>>(), ["M1", "M2", "M3"]);
        assert!(parse_keys("  ,; ").is_err());
        assert!(parse_keys(&"x".repeat(65)).is_err());
    }

    #[test]
    fn long_key_lists_are_shortened_for_the_audit_log() {
        let keys: Vec<MemberKey> = (0..25).map(|i| MemberKey::parse(format!("M{i}")).unwrap()).collect();
        assert!(key_list(&keys).ends_with("M19 and 5 more"));
    }
}
