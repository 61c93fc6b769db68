//! `POST /RefreshService.asmx`: the contract's data in the SOAP 1.1
//! RefreshService dialect ([`crate::soap`]), from the same store and
//! events as the JSON/XML contract, behind the same fault injection.
//!
//! The operation is the `SOAPAction` header's last segment. The caller is
//! authenticated by the `securityKey` parameter when the sim wants an API
//! key (its value is the security key), else by HTTP as the contract is.
//! Faults become SOAP faults (HTTP 500): an injected error `soap:Server
//! "injected fault"` (a 502/503 stays a gateway's plain answer), a refused
//! key `soap:Client "Invalid security key"`, an injected not-found
//! `soap:Client "Member … not found"`; a malformed answer is garbled XML.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State as Extract;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;

use super::{server_error, unauthorized};
use crate::config::SimAuth;
use crate::faults::{garble, Method, Outcome};
use crate::render::{Doc, Enc};
use crate::sim::State;
use crate::soap::{self, Operation};
use crate::stats::Counted;
use crate::store::Lookup;

fn answer(status: StatusCode, body: impl Into<axum::body::Body>) -> Response {
    let mut r = Response::new(body.into());
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(soap::CONTENT_TYPE));
    r
}

fn fault(code: &str, string: &str) -> Response {
    answer(StatusCode::INTERNAL_SERVER_ERROR, soap::fault(code, string))
}

fn counted(op: Operation) -> (Counted, Method) {
    match op {
        Operation::GetChangedMembers => (Counted::ChangedMembers, Method::ChangedMembers),
        Operation::GetMemberDetails => (Counted::Details, Method::Details),
        Operation::GetMemberCommunityGroups => (Counted::Communities, Method::Communities),
        Operation::GetMemberSecurityGroups => (Counted::SecurityGroups, Method::SecurityGroups),
        Operation::GetEvents => (Counted::ChangedEvents, Method::ChangedEvents),
        Operation::AuthenticateUser => (Counted::Credentials, Method::Credentials),
        Operation::ResolveToken => (Counted::ResolveToken, Method::ResolveToken),
    }
}

/// Unix seconds of `updatedSince`; absent or empty is none (the full
/// listing). A bad one is refused with the faultstring of a client fault.
fn since(value: Option<&String>) -> Result<Option<i64>, String> {
    match value.map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.timestamp()))
            .map_err(|e| format!("updatedSince is not a date: {e}")),
    }
}

pub async fn refresh_service(Extract(state): Extract<Arc<State>>, headers: HeaderMap, body: Bytes) -> Response {
    let action = headers.get("soapaction").and_then(|v| v.to_str().ok()).unwrap_or("");
    let Some(op) = Operation::of_action(action) else {
        return fault("Client", &format!("Server did not recognize the value of HTTP Header SOAPAction: {action}."));
    };
    let (count, method) = counted(op);
    state.stats.count(count);
    let params = match soap::params(&body) {
        Ok(p) => p,
        Err(e) => return fault("Client", &format!("The request is not a SOAP envelope: {e}")),
    };
    // The security key is the API key, when the sim wants one; other modes are HTTP's.
    match state.gate.mode() {
        SimAuth::ApiKey { value, .. } => {
            if params.get("security_key") != Some(&value) {
                return fault("Client", "Invalid security key");
            }
        }
        mode => {
            if !state.gate.allows(&headers) {
                return unauthorized(Enc::Xml, &mode);
            }
        }
    }
    let key = params.get("member_key").cloned();
    let plan = state.faults.plan(method, key.as_deref());
    if plan.injected {
        state.stats.fault();
    }
    if !plan.delay.is_zero() {
        tokio::select! {
            _ = tokio::time::sleep(plan.delay) => {}
            _ = state.shutdown.cancelled() => {}
        }
    }
    let garbled = match plan.outcome {
        Outcome::Normal | Outcome::CursorCycle => false,
        Outcome::Malformed => true,
        Outcome::Error { status: 500, .. } => return fault("Server", "injected fault"),
        Outcome::Error { status, retry_after } => return server_error(Enc::Xml, status, retry_after),
        Outcome::NotFound => {
            return fault("Client", &format!("Member {} not found", key.as_deref().unwrap_or("")));
        }
        Outcome::Unauthorized => return fault("Client", "Invalid security key"),
    };
    let body = match operate(&state, op, &params) {
        Ok(body) => body,
        Err(faultstring) => return fault("Client", &faultstring),
    };
    if garbled {
        answer(StatusCode::OK, garble(&body, true))
    } else {
        answer(StatusCode::OK, body)
    }
}

/// The operation's answer, or the faultstring of a client fault.
fn operate(
    state: &State,
    op: Operation,
    params: &std::collections::HashMap<&'static str, String>,
) -> Result<Vec<u8>, String> {
    let name = op.name();
    let member = |doc: Doc| {
        let key = params.get("member_key").cloned().unwrap_or_default();
        (state.store.document(&key, doc, Enc::Xml), key)
    };
    Ok(match op {
        Operation::GetChangedMembers => {
            let page = state.store.changed_page(since(params.get("updated_since"))?, None, usize::MAX);
            soap::changed_members(&page.items)
        }
        Operation::GetEvents => {
            let page = state.events.changed_page(since(params.get("updated_since"))?, None, usize::MAX);
            soap::events(name, page.items)
        }
        Operation::GetMemberDetails => match member(Doc::Details).0 {
            Lookup::Found(doc) => soap::response(name, Some(soap::root_content(&doc))),
            Lookup::Merged(into) => soap::gone(name, Some(&into)),
            // A record that is not there is a null result.
            Lookup::NotFound => soap::response(name, None),
        },
        Operation::GetMemberCommunityGroups | Operation::GetMemberSecurityGroups => {
            let doc = if op == Operation::GetMemberCommunityGroups { Doc::Communities } else { Doc::Groups };
            match member(doc) {
                (Lookup::Found(doc), _) => soap::response(name, Some(soap::root_content(&doc))),
                (_, key) => return Err(format!("Member {key} not found")),
            }
        }
        Operation::AuthenticateUser => {
            let user = params.get("username").map(String::as_str).unwrap_or("");
            let pass = params.get("password").map(String::as_str).unwrap_or("");
            soap::member_key(name, state.store.authenticate(user, pass).as_deref())
        }
        Operation::ResolveToken => {
            let token = params.get("token").map(String::as_str).unwrap_or("");
            let key = state.tokens.resolve(token).filter(|key| state.store.active_index(key).is_some());
            soap::member_key(name, key.as_deref())
        }
    })
}
