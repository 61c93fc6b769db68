//! The contract's methods, in JSON or XML by the `Accept` header, behind the
//! configured authentication and the fault injection.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State as Extract};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::request_body::fields;
use super::{contains_xml, encoding, error_body, respond, server_error, unauthorized};
use crate::cursor::Cursor;
use crate::faults::{garble, Method, Outcome};
use crate::render::{json, xml, Doc, Enc};
use crate::sim::State;
use crate::stats::Counted;
use crate::store::Lookup;

type St = Extract<Arc<State>>;

/// How an admitted call is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Normal,
    /// The body garbled.
    Garbled,
    /// A listing page whose `next_cursor` cycles (`cursor_cycle`).
    CursorCycle,
}

/// Authentication and faults.
async fn admit(
    state: &State,
    method: Method,
    key: Option<&str>,
    headers: &HeaderMap,
    enc: Enc,
) -> Result<Answer, Response> {
    if !state.gate.allows(headers) {
        return Err(unauthorized(enc, &state.gate.mode()));
    }
    let plan = state.faults.plan(method, key);
    if plan.injected {
        state.stats.fault();
    }
    pause(state, plan.delay).await;
    match plan.outcome {
        Outcome::Normal => Ok(Answer::Normal),
        Outcome::Malformed => Ok(Answer::Garbled),
        Outcome::CursorCycle => Ok(Answer::CursorCycle),
        Outcome::Error { status, retry_after } => Err(server_error(enc, status, retry_after)),
        Outcome::NotFound => Err(error_body(StatusCode::NOT_FOUND, enc, "not found")),
        Outcome::Unauthorized => Err(unauthorized(enc, &state.gate.mode())),
    }
}

fn ok(enc: Enc, body: Bytes, answer: Answer) -> Response {
    if answer == Answer::Garbled {
        respond(StatusCode::OK, enc, garble(&body, enc == Enc::Xml))
    } else {
        respond(StatusCode::OK, enc, body)
    }
}

/// Health answers whenever the server runs; only the global latency,
/// error and hang faults reach it (an AMS that is failing fails its health
/// check too), and it needs no authentication.
pub async fn health(Extract(state): St, headers: HeaderMap) -> Response {
    state.stats.count(Counted::Health);
    let enc = encoding(&headers);
    let plan = state.faults.plan_health();
    if plan.injected {
        state.stats.fault();
    }
    pause(&state, plan.delay).await;
    if let Outcome::Error { status, retry_after } = plan.outcome {
        return server_error(enc, status, retry_after);
    }
    let body: &'static [u8] = match enc {
        Enc::Json => br#"{"status":"ok"}"#,
        Enc::Xml => b"<?xml version=\"1.0\" encoding=\"utf-8\"?><Health>ok</Health>",
    };
    respond(StatusCode::OK, enc, body)
}

/// Sleeps for an injected delay, or until the sim shuts down.
async fn pause(state: &State, delay: std::time::Duration) {
    if !delay.is_zero() {
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = state.shutdown.cancelled() => {}
        }
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    since: Option<String>,
    cursor: Option<String>,
}

/// Parses `since` and `cursor`; a bad one is refused with the reason (a 400).
fn list_position(q: &ListQuery) -> Result<(Option<i64>, Option<Cursor>), String> {
    let since = match q.since.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match chrono::DateTime::parse_from_rfc3339(s) {
            Ok(t) => Some(t.timestamp()),
            Err(e) => return Err(format!("since is not RFC 3339: {e}")),
        },
    };
    let cursor = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => match Cursor::decode(c) {
            Some(c) => Some(c),
            None => return Err("unknown cursor".into()),
        },
    };
    Ok((since, cursor))
}

pub async fn changed_members(Extract(state): St, headers: HeaderMap, Query(q): Query<ListQuery>) -> Response {
    state.stats.count(Counted::ChangedMembers);
    let enc = encoding(&headers);
    let answer = match admit(&state, Method::ChangedMembers, None, &headers, enc).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let (since, cursor) = match list_position(&q) {
        Ok(p) => p,
        Err(reason) => return error_body(StatusCode::BAD_REQUEST, enc, &reason),
    };
    let mut page = state.store.changed_page(since, cursor, state.page_size);
    if answer == Answer::CursorCycle {
        page.next_cursor = Some(crate::cursor::cycled(cursor, since.is_none()));
    }
    let body = match enc {
        Enc::Json => json::changed_members(&page),
        Enc::Xml => xml::changed_members(&page),
    };
    ok(enc, body.into(), answer)
}

pub async fn changed_events(Extract(state): St, headers: HeaderMap, Query(q): Query<ListQuery>) -> Response {
    state.stats.count(Counted::ChangedEvents);
    let enc = encoding(&headers);
    let answer = match admit(&state, Method::ChangedEvents, None, &headers, enc).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let (since, cursor) = match list_position(&q) {
        Ok(p) => p,
        Err(reason) => return error_body(StatusCode::BAD_REQUEST, enc, &reason),
    };
    let mut page = state.events.changed_page(since, cursor, state.page_size);
    if answer == Answer::CursorCycle {
        page.next_cursor = Some(crate::cursor::cycled(cursor, since.is_none()));
    }
    let body = match enc {
        Enc::Json => json::changed_events(&page),
        Enc::Xml => xml::changed_events(&page),
    };
    ok(enc, body.into(), answer)
}

async fn member_document(state: &State, key: &str, headers: &HeaderMap, doc: Doc) -> Response {
    let (counted, method) = match doc {
        Doc::Details => (Counted::Details, Method::Details),
        Doc::Communities => (Counted::Communities, Method::Communities),
        Doc::Groups => (Counted::SecurityGroups, Method::SecurityGroups),
    };
    state.stats.count(counted);
    let enc = encoding(headers);
    let answer = match admit(state, method, Some(key), headers, enc).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    match state.store.document(key, doc, enc) {
        Lookup::Found(body) => ok(enc, body, answer),
        Lookup::Merged(into) if doc == Doc::Details => {
            let body = match enc {
                Enc::Json => json::gone(Some(&into)),
                Enc::Xml => xml::gone(Some(&into)),
            };
            respond(StatusCode::GONE, enc, body)
        }
        Lookup::Merged(_) | Lookup::NotFound => error_body(StatusCode::NOT_FOUND, enc, "no such member"),
    }
}

pub async fn details(Extract(state): St, Path(key): Path<String>, headers: HeaderMap) -> Response {
    member_document(&state, &key, &headers, Doc::Details).await
}

pub async fn communities(Extract(state): St, Path(key): Path<String>, headers: HeaderMap) -> Response {
    member_document(&state, &key, &headers, Doc::Communities).await
}

pub async fn security_groups(Extract(state): St, Path(key): Path<String>, headers: HeaderMap) -> Response {
    member_document(&state, &key, &headers, Doc::Groups).await
}

/// The request body is XML when its content type says so.
fn body_is_xml(headers: &HeaderMap) -> bool {
    headers.get(CONTENT_TYPE).is_some_and(|v| contains_xml(v.as_bytes()))
}

/// The answer's encoding: as asked by `Accept`, else like the request body.
fn answer_encoding(headers: &HeaderMap) -> Enc {
    if headers.contains_key(axum::http::header::ACCEPT) {
        encoding(headers)
    } else if body_is_xml(headers) {
        Enc::Xml
    } else {
        Enc::Json
    }
}

fn member_key_answer(enc: Enc, key: &str) -> Response {
    let body = match enc {
        Enc::Json => json::member_key(key),
        Enc::Xml => xml::member_key(key),
    };
    respond(StatusCode::OK, enc, body)
}

pub async fn credentials(Extract(state): St, headers: HeaderMap, body: Bytes) -> Response {
    state.stats.count(Counted::Credentials);
    let enc = answer_encoding(&headers);
    if let Err(r) = admit(&state, Method::Credentials, None, &headers, enc).await {
        return r;
    }
    let f = match fields(&body, body_is_xml(&headers), &["username", "password"]) {
        Ok(f) => f,
        Err(e) => return error_body(StatusCode::BAD_REQUEST, enc, &e),
    };
    let (Some(username), Some(password)) = (f.get("username"), f.get("password")) else {
        return error_body(StatusCode::BAD_REQUEST, enc, "username and password are required");
    };
    match state.store.authenticate(username, password) {
        Some(key) => member_key_answer(enc, &key),
        None => error_body(StatusCode::UNAUTHORIZED, enc, "invalid credentials"),
    }
}

pub async fn resolve_token(Extract(state): St, headers: HeaderMap, body: Bytes) -> Response {
    state.stats.count(Counted::ResolveToken);
    let enc = answer_encoding(&headers);
    if let Err(r) = admit(&state, Method::ResolveToken, None, &headers, enc).await {
        return r;
    }
    let f = match fields(&body, body_is_xml(&headers), &["token"]) {
        Ok(f) => f,
        Err(e) => return error_body(StatusCode::BAD_REQUEST, enc, &e),
    };
    let Some(token) = f.get("token") else {
        return error_body(StatusCode::BAD_REQUEST, enc, "token is required");
    };
    match state.tokens.resolve(token).filter(|key| state.store.active_index(key).is_some()) {
        Some(key) => member_key_answer(enc, &key),
        None => error_body(StatusCode::UNAUTHORIZED, enc, "unknown or expired token"),
    }
}

/// `POST /oauth/token` with `grant_type=client_credentials`.
pub async fn oauth_token(Extract(state): St, headers: HeaderMap, body: Bytes) -> Response {
    state.stats.count(Counted::OAuthToken);
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let oauth_error = |status: StatusCode, error: &str| {
        respond(status, Enc::Json, serde_json::to_vec(&serde_json::json!({ "error": error })).unwrap_or_default())
    };
    match state.gate.grant(&headers, &form) {
        crate::auth::TokenGrant::Granted { token, expires_in } => respond(
            StatusCode::OK,
            Enc::Json,
            serde_json::to_vec(&serde_json::json!({
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": expires_in,
            }))
            .unwrap_or_default(),
        ),
        crate::auth::TokenGrant::NotOffered => oauth_error(StatusCode::NOT_FOUND, "oauth2 is not configured"),
        crate::auth::TokenGrant::BadGrant => oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
        crate::auth::TokenGrant::BadClient => oauth_error(StatusCode::UNAUTHORIZED, "invalid_client"),
    }
}
