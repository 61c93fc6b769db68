//! What a simulated AMS is started with.

use serde::{Deserialize, Serialize};

/// How callers must authenticate to the data and auth methods.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum SimAuth {
    /// Every caller is let in.
    #[default]
    None,
    /// A header (e.g. `X-Api-Key`) must carry this value.
    ApiKey { header: String, value: String },
    /// HTTP basic authentication.
    Basic { user: String, pass: String },
    /// OAuth 2.0 client credentials: `POST /oauth/token` hands out bearer
    /// tokens that expire after `token_ttl_secs` (its `expires_in`; any
    /// value up to `u64::MAX`, to test clients against absurd answers).
    #[serde(rename = "oauth2")]
    OAuth2 { client_id: String, client_secret: String, token_ttl_secs: u64 },
}

impl SimAuth {
    /// The mode's name (never its secret).
    pub fn kind(&self) -> &'static str {
        match self {
            SimAuth::None => "none",
            SimAuth::ApiKey { .. } => "api_key",
            SimAuth::Basic { .. } => "basic",
            SimAuth::OAuth2 { .. } => "oauth2",
        }
    }
}

/// The simulated AMS's settings. Faults given here are the starting fault
/// configuration; `PUT /_sim/faults` (or [`crate::Sim::set_faults`]) replaces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimConfig {
    /// Members generated at start (`M000001`…).
    pub members: usize,
    pub seed: u64,
    /// Events generated at start.
    pub events: usize,
    /// Entries per page of the changed listings.
    pub page_size: usize,
    /// Delay added to every data and auth call.
    pub latency_ms: u64,
    /// Share of calls answered 500/502/503.
    pub error_rate: f64,
    /// Share of calls that sleep `hang_ms` before answering.
    pub hang_rate: f64,
    pub hang_ms: u64,
    /// Share of successful calls whose body is truncated or garbled.
    pub malformed_rate: f64,
    pub auth: SimAuth,
    /// Encodings whose member documents are all rendered at start rather
    /// than on first request.
    pub prerender: Vec<crate::render::Enc>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            members: 1000,
            seed: 42,
            events: 40,
            page_size: 500,
            latency_ms: 0,
            error_rate: 0.0,
            hang_rate: 0.0,
            hang_ms: 30_000,
            malformed_rate: 0.0,
            auth: SimAuth::None,
            prerender: Vec::new(),
        }
    }
}
