//! Recording admin actions in the audit log (product.md job 9).
//!
//! One middleware ([`record`]) wraps every route. For a state-changing
//! request it puts an empty [`ActorSlot`] in the request's extensions; the
//! access extractors ([`crate::auth::Admin`], the dashboard's session) fill
//! it with who the caller is once they have let it in. After the handler
//! answers, a filled slot means an admin acted: the middleware appends one
//! entry — who, what (method and route, or the handler's own words), target
//! (the path, or what the handler names), the status and the request id.
//! Nothing of the request body or query is recorded, so no secret is.
//!
//! Handlers add words with an [`AuditNote`] in the response's extensions.

use std::sync::{Arc, Mutex};

use amsync_store::NewAuditEntry;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use chrono::Utc;

use crate::state::AppState;

/// Who acted, filled in by the access extractor that admitted the call.
#[derive(Debug, Clone, Default)]
pub struct ActorSlot(Arc<Mutex<Option<String>>>);

impl ActorSlot {
    fn take(&self) -> Option<String> {
        self.0.lock().expect("actor slot lock").take()
    }

    /// Who acts, as the access extractor named them (for handlers that
    /// record the actor themselves, such as an erase's tombstone).
    pub fn actor(&self) -> Option<String> {
        self.0.lock().expect("actor slot lock").clone()
    }

    /// Names who acts.
    pub fn fill(&self, actor: &str) {
        *self.0.lock().expect("actor slot lock") = Some(actor.to_string());
    }
}

/// Names the caller of a request that is being audited (a no-op for
/// requests that are not: reads).
pub fn note_actor(extensions: &http::Extensions, actor: &str) {
    if let Some(slot) = extensions.get::<ActorSlot>() {
        slot.fill(actor);
    }
}

/// What a handler says about its action, in the response's extensions.
#[derive(Debug, Clone, Default)]
pub struct AuditNote {
    /// Replaces `"METHOD /route"` (dashboard actions say what they did).
    pub action: Option<String>,
    /// Replaces the request path.
    pub target: Option<String>,
    /// A short sentence: `"3 entries requeued"`. Never a secret.
    pub detail: Option<String>,
}

impl AuditNote {
    pub fn detail(detail: impl Into<String>) -> AuditNote {
        AuditNote { detail: Some(detail.into()), ..AuditNote::default() }
    }

    /// Adds the note to a response.
    pub fn attach(self, mut resp: Response) -> Response {
        resp.extensions_mut().insert(self);
        resp
    }
}

/// Whether a method changes state.
pub fn is_state_changing(method: &http::Method) -> bool {
    !matches!(*method, http::Method::GET | http::Method::HEAD | http::Method::OPTIONS)
}

/// The middleware (see the module doc).
pub async fn record(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if !is_state_changing(req.method()) {
        return next.run(req).await;
    }
    let slot = ActorSlot::default();
    req.extensions_mut().insert(slot.clone());
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string());
    let action = format!("{} {}", req.method(), route.as_deref().unwrap_or(req.uri().path()));
    let path = req.uri().path().to_string();
    let request_id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_string);
    let resp = next.run(req).await;
    let Some(actor) = slot.take() else { return resp };
    let note = resp.extensions().get::<AuditNote>().cloned().unwrap_or_default();
    let entry = NewAuditEntry {
        at: Utc::now(),
        actor,
        action: note.action.unwrap_or(action),
        target: Some(note.target.unwrap_or(path)),
        detail: note.detail,
        status: resp.status().as_u16(),
        request_id,
    };
    tracing::info!(
        actor = %amsync_core::escaped(&entry.actor), action = %amsync_core::escaped(&entry.action), target = entry.target.as_deref().unwrap_or("-"),
        status = entry.status, "admin action"
    );
    if let Err(e) = state.store.record_audit(&entry).await {
        tracing::error!(error = %amsync_core::escaped(&e), action = %amsync_core::escaped(&entry.action), "recording an admin action in the audit log failed");
    }
    resp
}
