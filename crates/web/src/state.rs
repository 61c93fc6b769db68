//! What every handler can reach.

use std::sync::Arc;

use amsync_store::Store;
use amsync_sync::{Engine, Schedule};
use chrono_tz::Tz;

use crate::access_cache::AccessCache;
use crate::auth::Tokens;
use crate::sso::SignOn;

/// Settings of the HTTP layer, from `[web]` and `[communities]`.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// `communities.timezone`: "today" for membership terms.
    pub timezone: Tz,
    /// `web.limits.max_body`, in bytes.
    pub max_body: usize,
    /// Schedules, for next-run times when the engine does not run here.
    pub periodic: Schedule,
    pub events: Schedule,
    /// Most keys a `"wait": true` refresh may carry.
    pub max_wait_keys: usize,
    /// How long a waiting refresh answers at the latest.
    pub wait_timeout: std::time::Duration,
    /// Cookies get `Secure` (and the `__Host-` prefix): `web.public_url` is https.
    pub secure_cookies: bool,
    /// Dashboard sessions: `sessions.lifetime` and `sessions.idle_timeout`.
    pub admin_session_lifetime: std::time::Duration,
    pub admin_session_idle: std::time::Duration,
}

impl Default for WebSettings {
    fn default() -> Self {
        WebSettings {
            timezone: chrono_tz::UTC,
            max_body: 2 * 1024 * 1024,
            periodic: Schedule::Interval(std::time::Duration::from_secs(1800)),
            events: Schedule::Interval(std::time::Duration::from_secs(1800)),
            max_wait_keys: 100,
            wait_timeout: std::time::Duration::from_secs(30),
            secure_cookies: false,
            admin_session_lifetime: std::time::Duration::from_secs(12 * 3600),
            admin_session_idle: std::time::Duration::from_secs(2 * 3600),
        }
    }
}

/// Checks that the database schema is current (`Err` says what is pending).
pub type Readiness = Arc<dyn Fn() -> futures::future::BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// Shared state of the router.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub engine: Arc<Engine>,
    pub tokens: Arc<Tokens>,
    pub settings: Arc<WebSettings>,
    /// The access policy, cached per access version.
    pub access: Arc<AccessCache>,
    /// Sign-on: settings, token verifier, credential service, OIDC, throttle.
    pub sign_on: Arc<SignOn>,
    /// Whether the database schema is current, for `/readyz`.
    pub readiness: Readiness,
}

impl AppState {
    /// "Today" in the communities' time zone.
    pub fn today(&self) -> chrono::NaiveDate {
        amsync_core::community::today(chrono::Utc::now(), self.settings.timezone)
    }
}
