//! Why a sign-in was refused, how that is logged (with a reason, never a
//! secret) and what the member sees.

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::pages;

/// A refused sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Too many failures from this address (or for this account from it).
    Throttled(Duration),
    /// The credential service said no.
    BadCredentials,
    /// The SSO token (or ID token) was not accepted; `reason` is a short code.
    TokenRefused {
        reason: &'static str,
    },
    /// The callback's state is not the one this browser was given (login CSRF).
    StateMismatch,
    /// The request lacks what the mode needs (no token, no code…).
    BadRequest {
        reason: &'static str,
    },
    /// The form's CSRF value is missing or wrong.
    Csrf,
    /// Not known to the AMS (or, with a push source, not arrived yet).
    UnknownMember {
        push: bool,
    },
    Disabled,
    /// The AMS, credential service or provider did not answer.
    AmsUnavailable,
    /// Our own failure (the store).
    Internal(String),
}

impl Refusal {
    pub fn internal(e: impl std::fmt::Display) -> Refusal {
        Refusal::Internal(e.to_string())
    }

    /// The short reason logged and counted.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Throttled(_) => "throttled",
            Refusal::BadCredentials => "bad_credentials",
            Refusal::TokenRefused { reason } => reason,
            Refusal::StateMismatch => "state_mismatch",
            Refusal::BadRequest { reason } => reason,
            Refusal::Csrf => "csrf",
            Refusal::UnknownMember { .. } => "unknown_member",
            Refusal::Disabled => "disabled",
            Refusal::AmsUnavailable => "ams_unavailable",
            Refusal::Internal(_) => "internal",
        }
    }

    /// Whether it counts as a failed sign-in for the throttle. Only what a
    /// guesser controls counts; our own or the AMS's trouble does not.
    pub fn counts_as_failure(&self) -> bool {
        matches!(self, Refusal::BadCredentials | Refusal::TokenRefused { .. } | Refusal::StateMismatch)
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            Refusal::BadCredentials | Refusal::TokenRefused { .. } => StatusCode::UNAUTHORIZED,
            Refusal::StateMismatch | Refusal::BadRequest { .. } | Refusal::Csrf => StatusCode::BAD_REQUEST,
            Refusal::UnknownMember { .. } | Refusal::Disabled => StatusCode::FORBIDDEN,
            Refusal::AmsUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Refusal::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the member reads.
    pub fn message(&self) -> String {
        match self {
            Refusal::Throttled(wait) => format!(
                "Too many failed sign-ins from your address. Please wait {} seconds and try again.",
                wait.as_secs().max(1)
            ),
            Refusal::BadCredentials => "The username or password is not right.".into(),
            Refusal::TokenRefused { .. } => "This sign-in link is not valid any more. Please sign in again.".into(),
            Refusal::StateMismatch => "This sign-in did not start in this browser. Please sign in again.".into(),
            Refusal::BadRequest { .. } => "The sign-in answer was incomplete. Please sign in again.".into(),
            Refusal::Csrf => "The form expired. Please reload the page and try again.".into(),
            Refusal::UnknownMember { push: true } => {
                "Your membership record has not reached the community yet. Please try again later.".into()
            }
            Refusal::UnknownMember { push: false } => {
                "The association's membership system does not know this account.".into()
            }
            Refusal::Disabled => {
                "This account is disabled. Please contact the association if you think this is a mistake.".into()
            }
            Refusal::AmsUnavailable => {
                "The association's membership system is not answering right now. Please try again in a few minutes."
                    .into()
            }
            Refusal::Internal(_) => "Something went wrong on our side. Please try again.".into(),
        }
    }

    /// Logs a sign-in's final refusal and counts it in
    /// `amsync_logins_total{kind, outcome=<reason code>}`.
    pub fn record(&self, kind: &'static str, route: &'static str, client: std::net::IpAddr) {
        self.log(route, client);
        crate::metrics::login_outcome(kind, self.code());
    }

    /// Logs the refusal: the reason and the client, never a secret.
    pub fn log(&self, route: &'static str, client: std::net::IpAddr) {
        match self {
            Refusal::Internal(detail) => {
                tracing::error!(route, client = %client, error = %amsync_core::escaped(detail), "sign-in failed")
            }
            other => tracing::warn!(route, client = %client, reason = other.code(), "sign-in refused"),
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            Refusal::Throttled(wait) => Some(retry_after_secs(*wait)),
            Refusal::AmsUnavailable => Some(30),
            _ => None,
        }
    }

    /// As an HTML page (browser routes).
    pub fn page(&self) -> Response {
        let mut resp = (self.status(), pages::refusal(&self.message())).into_response();
        self.add_retry_after(&mut resp);
        resp
    }

    /// As the API's JSON error (mobile tokens).
    pub fn json(&self) -> Response {
        let code = match self.status() {
            StatusCode::TOO_MANY_REQUESTS => "throttled",
            StatusCode::UNAUTHORIZED => "unauthenticated",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::SERVICE_UNAVAILABLE => "unavailable",
            StatusCode::INTERNAL_SERVER_ERROR => "internal",
            _ => "bad_request",
        };
        let body = json!({"error": {"code": code, "reason": self.code(), "message": self.message()}});
        let mut resp = (self.status(), Json(body)).into_response();
        self.add_retry_after(&mut resp);
        resp
    }

    /// Adds `Retry-After` where the refusal has one (throttled, unavailable).
    pub fn add_retry_after(&self, resp: &mut Response) {
        if let Some(s) = self.retry_after() {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
    }
}

/// A throttle's wait as `Retry-After` seconds: rounded up, at least 1.
pub fn retry_after_secs(wait: std::time::Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}
