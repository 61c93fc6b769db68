//! What sign-on needs from the configuration. The mode and the token's
//! place are sign-on's own configuration types (`amsync_sso::config`, read
//! straight from the file); the node builder fills the rest from `[sso]`,
//! `[sessions]` and `[web]`.

use std::time::Duration;

use ipnet::IpNet;
use url::Url;

pub use amsync_sso::{SsoMode, SsoToken, TokenSource};

/// `[sessions]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSettings {
    pub lifetime: Duration,
    pub idle_timeout: Duration,
    pub mobile_token_lifetime: Duration,
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            lifetime: Duration::from_secs(12 * 3600),
            idle_timeout: Duration::from_secs(2 * 3600),
            mobile_token_lifetime: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// Everything sign-on reads from the configuration.
#[derive(Debug, Clone)]
pub struct SignOnSettings {
    pub mode: SsoMode,
    /// `web.public_url`: cookies are `Secure` when it is https; the PSK `aud`.
    pub public_url: Url,
    /// `web.trusted_proxies`: whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// `sso.login_url` (session-variable).
    pub login_url: Option<Url>,
    /// `sso.logout_url`: the association's page for single logout.
    pub logout_url: Option<Url>,
    /// `sso.return_url_param`: carries our callback URL to the login page.
    pub return_url_param: String,
    /// `sso.token`: where the token comes back.
    pub token: SsoToken,
    /// `sso.allow_unsolicited`.
    pub allow_unsolicited: bool,
    /// `sso.allowed_return_hosts`.
    pub allowed_return_hosts: Vec<String>,
    pub sessions: SessionSettings,
    /// `ams.kind = "push"`: no login-time refresh.
    pub push_source: bool,
    /// Longest wait for the serial refresh of a member unknown locally.
    pub login_refresh_timeout: Duration,
    /// Longest wait for the credential service (AuthenticateCredentials,
    /// ResolveToken) and the OpenID Connect provider.
    pub service_timeout: Duration,
    /// How long the SSO state cookie lives (the time to sign in at the
    /// association's page).
    pub state_lifetime: Duration,
}

impl SignOnSettings {
    /// Defaults for `mode` and `public_url`; the rest as product.md's
    /// configuration example has them.
    pub fn new(mode: SsoMode, public_url: Url) -> SignOnSettings {
        SignOnSettings {
            mode,
            public_url,
            trusted_proxies: Vec::new(),
            login_url: None,
            logout_url: None,
            return_url_param: "ReturnUrl".into(),
            token: SsoToken::default(),
            allow_unsolicited: false,
            allowed_return_hosts: Vec::new(),
            sessions: SessionSettings::default(),
            push_source: false,
            login_refresh_timeout: Duration::from_secs(15),
            service_timeout: Duration::from_secs(10),
            state_lifetime: Duration::from_secs(10 * 60),
        }
    }

    /// Cookies carry `Secure` (and the `__Host-` prefix) when amsync is
    /// reached over https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// `{public_url}/sso/callback`.
    pub fn callback_url(&self) -> Url {
        self.public_path("/sso/callback")
    }

    /// A path under `web.public_url` (which may itself carry a path prefix).
    pub fn public_path(&self, path: &str) -> Url {
        let mut url = self.public_url.clone();
        let base = url.path().trim_end_matches('/').to_string();
        url.set_path(&format!("{base}{path}"));
        url.set_query(None);
        url.set_fragment(None);
        url
    }
}
