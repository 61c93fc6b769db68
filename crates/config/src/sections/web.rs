//! `[web]`, `[web.limits]` and `[sessions]`: the HTTP listener, its tokens
//! and limits, and how long sign-ins last.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::Problems;
use crate::secrets::{check_pair, pick, SecretSource};
use crate::values::{bytes, text, vec_text};

pub const DEFAULT_ADMIN_TOKEN_ENV: &str = "AMSYNC_ADMIN_TOKEN";
pub const DEFAULT_SITE_TOKEN_ENV: &str = "AMSYNC_SITE_TOKEN";

/// `[web]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebConfig {
    #[serde(with = "text")]
    pub listen: SocketAddr,
    /// How browsers and the PSK token's `aud` name amsync.
    #[serde(with = "text")]
    pub public_url: Url,
    /// Proxies whose `X-Forwarded-For` is believed.
    #[serde(with = "vec_text")]
    pub trusted_proxies: Vec<IpNet>,
    /// The admin token (API and dashboard); `AMSYNC_ADMIN_TOKEN` when neither is given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_token_env: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_token_file: Option<PathBuf>,
    /// A second admin token accepted during rotation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_admin_token_env: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_admin_token_file: Option<PathBuf>,
    /// The read-only token of the community site's back end; `AMSYNC_SITE_TOKEN` when neither is given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site_token_env: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site_token_file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_site_token_env: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_site_token_file: Option<PathBuf>,
    pub limits: WebLimits,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
            public_url: Url::parse("http://127.0.0.1:8080").expect("a valid URL"),
            trusted_proxies: Vec::new(),
            admin_token_env: None,
            admin_token_file: None,
            next_admin_token_env: None,
            next_admin_token_file: None,
            site_token_env: None,
            site_token_file: None,
            next_site_token_env: None,
            next_site_token_file: None,
            limits: WebLimits::default(),
        }
    }
}

impl WebConfig {
    /// The admin token's source (required to serve).
    pub fn admin_token(&self) -> SecretSource {
        pick("web.admin_token", &self.admin_token_env, &self.admin_token_file, Some(DEFAULT_ADMIN_TOKEN_ENV))
            .expect("a default is given")
    }

    pub fn next_admin_token(&self) -> Option<SecretSource> {
        pick("web.next_admin_token", &self.next_admin_token_env, &self.next_admin_token_file, None)
    }

    /// The site token's source; the site token is off while it is unset.
    pub fn site_token(&self) -> SecretSource {
        pick("web.site_token", &self.site_token_env, &self.site_token_file, Some(DEFAULT_SITE_TOKEN_ENV))
            .expect("a default is given")
    }

    pub fn next_site_token(&self) -> Option<SecretSource> {
        pick("web.next_site_token", &self.next_site_token_env, &self.next_site_token_file, None)
    }

    /// Whether `addr` is a trusted proxy.
    pub fn is_trusted_proxy(&self, addr: std::net::IpAddr) -> bool {
        self.trusted_proxies.iter().any(|n| n.contains(&addr))
    }

    pub(crate) fn check(&self, p: &mut Problems) {
        if self.public_url.query().is_some() || self.public_url.fragment().is_some() {
            p.add("web.public_url", "must not have a query or a fragment");
        }
        check_pair(p, "web.admin_token", &self.admin_token_env, &self.admin_token_file, false);
        check_pair(p, "web.next_admin_token", &self.next_admin_token_env, &self.next_admin_token_file, false);
        check_pair(p, "web.site_token", &self.site_token_env, &self.site_token_file, false);
        check_pair(p, "web.next_site_token", &self.next_site_token_env, &self.next_site_token_file, false);
        if self.admin_token().to_string() == self.site_token().to_string() {
            p.add("web.site_token_env", "must name a different secret than the admin token");
        }
        self.limits.check(p);
    }
}

/// `[web.limits]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebLimits {
    /// Largest request body, in bytes.
    #[serde(with = "bytes")]
    pub max_body: u64,
}

impl Default for WebLimits {
    fn default() -> Self {
        WebLimits { max_body: 2 << 20 }
    }
}

impl WebLimits {
    fn check(&self, p: &mut Problems) {
        if self.max_body < 1024 {
            p.add("web.limits.max_body", "must be at least 1KiB");
        }
    }
}

/// `[sessions]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionsConfig {
    /// Longest life of a browser session.
    #[serde(with = "text")]
    pub lifetime: Duration,
    /// A browser session unused this long ends.
    #[serde(with = "text")]
    pub idle_timeout: Duration,
    /// Life of a mobile bearer token.
    #[serde(with = "text")]
    pub mobile_token_lifetime: Duration,
}

impl Default for SessionsConfig {
    fn default() -> Self {
        SessionsConfig {
            lifetime: Duration::from_secs(12 * 3600),
            idle_timeout: Duration::from_secs(2 * 3600),
            mobile_token_lifetime: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

impl SessionsConfig {
    pub(crate) fn check(&self, p: &mut Problems) {
        for (key, d) in [
            ("sessions.lifetime", self.lifetime),
            ("sessions.idle_timeout", self.idle_timeout),
            ("sessions.mobile_token_lifetime", self.mobile_token_lifetime),
        ] {
            if d < Duration::from_secs(60) {
                p.add(key, "must be at least 1m");
            }
        }
        if self.idle_timeout > self.lifetime {
            p.add("sessions.idle_timeout", "must not be longer than sessions.lifetime");
        }
    }
}
