//! The control API under `/_sim` (JSON, no authentication, no faults): the
//! truth about members, changes, faults, stats, tokens and the credential
//! callers must present.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State as Extract};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::StreamExt;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::changes::ChangeRequest;
use crate::config::SimAuth;
use crate::error::SimError;
use crate::faults::Faults;
use crate::render::Enc;
use crate::sim::{Sim, State};

type St = Extract<Arc<State>>;

pub(super) fn router() -> Router<Arc<State>> {
    Router::new()
        .route("/members", post(create))
        .route("/members/{key}", get(truth))
        .route("/members/{key}/change", post(change))
        .route("/members/{key}/delete", post(delete))
        .route("/members/{key}/merge", post(merge))
        .route("/truth", get(all_truths))
        .route("/churn", post(churn))
        .route("/events", get(events))
        .route("/events/{key}/change", post(change_event))
        .route("/events/{key}/cancel", post(cancel_event))
        .route("/tokens", post(issue_token))
        .route("/faults", get(get_faults).put(put_faults))
        .route("/auth", get(get_auth).put(put_auth))
        .route("/stats", get(stats))
        .route("/stats/reset", post(reset_stats))
}

fn sim(state: Arc<State>) -> Sim {
    Sim { state }
}

impl IntoResponse for SimError {
    fn into_response(self) -> Response {
        let status = match &self {
            SimError::UnknownMember(_) | SimError::UnknownEvent(_) => StatusCode::NOT_FOUND,
            SimError::MemberGone(_) => StatusCode::CONFLICT,
            SimError::BadRequest(_) => StatusCode::BAD_REQUEST,
        };
        (status, Json(serde_json::json!({ "error": self.to_string() }))).into_response()
    }
}

/// A JSON body that may be absent or empty (then `T::default()`).
fn optional_body<T: DeserializeOwned + Default>(body: &Bytes) -> Result<T, SimError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| SimError::BadRequest(e.to_string()))
}

fn required_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, SimError> {
    serde_json::from_slice(body).map_err(|e| SimError::BadRequest(e.to_string()))
}

async fn truth(Extract(state): St, Path(key): Path<String>) -> Response {
    match sim(state).truth(&key) {
        Ok(t) => Json(t).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Every member's truth as one JSON array, streamed in chunks so a large
/// sim does not build the whole answer in memory first.
async fn all_truths(Extract(state): St) -> Response {
    const CHUNK: u32 = 500;
    let count = state.store.count();
    let chunks = count.div_ceil(CHUNK);
    let stream = futures::stream::iter(0..=chunks).map(move |c| {
        let mut out = Vec::new();
        if c == 0 {
            out.push(b'[');
        }
        if c == chunks {
            out.push(b']');
            return Ok::<_, std::convert::Infallible>(Bytes::from(out));
        }
        for index in c * CHUNK..((c + 1) * CHUNK).min(count) {
            if let Some(t) = state.store.truth_at(index) {
                if index > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut out, &t).expect("truth serializes");
            }
        }
        Ok(Bytes::from(out))
    });
    let mut r = Response::new(Body::from_stream(stream));
    r.headers_mut()
        .insert(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static(Enc::Json.content_type()));
    r
}

async fn create(Extract(state): St, body: Bytes) -> Response {
    let request: ChangeRequest = match optional_body(&body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    match sim(state).create(&request) {
        Ok(t) => (StatusCode::CREATED, Json(t)).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn change(Extract(state): St, Path(key): Path<String>, body: Bytes) -> Response {
    let request: ChangeRequest = match optional_body(&body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    match sim(state).change(&key, &request) {
        Ok(t) => Json(t).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn delete(Extract(state): St, Path(key): Path<String>) -> Response {
    match sim(state).delete(&key) {
        Ok(t) => Json(t).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct MergeBody {
    into: String,
}

async fn merge(Extract(state): St, Path(key): Path<String>, body: Bytes) -> Response {
    let request: MergeBody = match required_body(&body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    match sim(state).merge(&key, &request.into) {
        Ok(t) => Json(t).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct ChurnBody {
    count: usize,
}

async fn churn(Extract(state): St, body: Bytes) -> Response {
    let request: ChurnBody = match required_body(&body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let sim = sim(state);
    // Large churns take a while; keep them off the async workers.
    match tokio::task::spawn_blocking(move || sim.churn(request.count)).await {
        Ok(keys) => Json(serde_json::json!({ "changed": keys })).into_response(),
        Err(e) => SimError::BadRequest(format!("churn failed: {e}")).into_response(),
    }
}

async fn events(Extract(state): St) -> Response {
    Json(sim(state).events()).into_response()
}

async fn change_event(Extract(state): St, Path(key): Path<String>, body: Bytes) -> Response {
    let fields: serde_json::Map<String, serde_json::Value> = match optional_body(&body) {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    match sim(state).change_event(&key, Some(&fields)) {
        Ok(e) => Json(e).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn cancel_event(Extract(state): St, Path(key): Path<String>) -> Response {
    match sim(state).cancel_event(&key) {
        Ok(e) => Json(e).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct TokenBody {
    key: String,
}

async fn issue_token(Extract(state): St, body: Bytes) -> Response {
    let request: TokenBody = match required_body(&body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    match sim(state).issue_token(&request.key) {
        Ok(token) => Json(serde_json::json!({ "token": token })).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn get_faults(Extract(state): St) -> Response {
    Json(sim(state).faults()).into_response()
}

async fn put_faults(Extract(state): St, body: Bytes) -> Response {
    let faults: Faults = match required_body(&body) {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let sim = sim(state);
    sim.set_faults(faults);
    Json(sim.faults()).into_response()
}

async fn get_auth(Extract(state): St) -> Response {
    Json(sim(state).auth()).into_response()
}

async fn put_auth(Extract(state): St, body: Bytes) -> Response {
    let auth: SimAuth = match required_body(&body) {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let sim = sim(state);
    sim.set_auth(auth);
    Json(sim.auth()).into_response()
}

async fn stats(Extract(state): St) -> Response {
    Json(sim(state).stats()).into_response()
}

async fn reset_stats(Extract(state): St) -> Response {
    let sim = sim(state);
    sim.reset_stats();
    Json(sim.stats()).into_response()
}
