//! `[sso]` and `[sso.oidc]`: how members sign in (product.md job 8).
//!
//! The mode, the token's place and the configured keys are sign-on's own
//! types (`amsync_sso::config`), used here as they are: the file reads
//! straight into what the running code takes.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

pub use amsync_sso::{PskKeyConfig, SsoMode, SsoToken, TokenSource};

use serde::{Deserialize, Deserializer, Serialize};
use url::Url;

use crate::error::Problems;
use crate::secrets::{check_pair, pick, SecretSource};
use crate::tagged::{self, NoFields};
use crate::values::{opt_text, text};

/// `[sso]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SsoConfig {
    pub mode: SsoMode,
    /// The association's login page (`session-variable`).
    #[serde(with = "opt_text", skip_serializing_if = "Option::is_none")]
    pub login_url: Option<Url>,
    /// The association's logout page, for single logout.
    #[serde(with = "opt_text", skip_serializing_if = "Option::is_none")]
    pub logout_url: Option<Url>,
    /// The query parameter that carries amsync's callback URL to the login page.
    pub return_url_param: String,
    /// Where the token comes back.
    pub token: SsoToken,
    /// How a token becomes a member key.
    pub resolve: SsoResolve,
    /// Accept tokens amsync did not ask for (links from the association's site).
    pub allow_unsolicited: bool,
    /// Hosts (`host` or `host:port`) an absolute return URL may point at.
    pub allowed_return_hosts: Vec<String>,
    pub throttle: SsoThrottle,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oidc: Option<OidcConfig>,
}

impl Default for SsoConfig {
    fn default() -> Self {
        SsoConfig {
            mode: SsoMode::Credentials,
            login_url: None,
            logout_url: None,
            return_url_param: "ReturnUrl".into(),
            token: SsoToken::default(),
            resolve: SsoResolve::WebService,
            allow_unsolicited: false,
            allowed_return_hosts: Vec::new(),
            throttle: SsoThrottle::default(),
            oidc: None,
        }
    }
}

/// `sso.resolve`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SsoResolve {
    /// Decrypt the token with a pre-shared key (product.md, "Pre-shared-key token").
    Psk(PskResolve),
    /// Ask the credential service's ResolveToken.
    WebService,
}

impl<'de> Deserialize<'de> for SsoResolve {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (kind, rest) = tagged::split_tag(d, "kind", &["psk", "web-service"])?;
        match kind {
            "psk" => tagged::deserialize_part(rest).map(SsoResolve::Psk),
            _ => tagged::deserialize_part::<NoFields, _>(rest).map(|_| SsoResolve::WebService),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PskResolve {
    /// Several keys allow rotation; a token names its key by `kid`.
    pub keys: Vec<PskKeyConfig>,
    /// Oldest token accepted (`now - iat`), and longest validity (`exp - iat`).
    #[serde(default = "default_psk_max_age", with = "text")]
    pub max_age: Duration,
}

fn default_psk_max_age() -> Duration {
    Duration::from_secs(5 * 60)
}

/// `sso.throttle`: failed sign-ins allowed per `window` before refusing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SsoThrottle {
    pub per_account_and_address: u32,
    pub per_address: u32,
    #[serde(with = "text")]
    pub window: Duration,
}

impl Default for SsoThrottle {
    fn default() -> Self {
        SsoThrottle { per_account_and_address: 5, per_address: 20, window: Duration::from_secs(15 * 60) }
    }
}

/// `[sso.oidc]`: the OpenID Connect provider amsync relies on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    #[serde(with = "text")]
    pub issuer: Url,
    pub client_id: String,
    /// Absent for a public client (PKCE only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_file: Option<PathBuf>,
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// The ID-token claim that holds the member key.
    #[serde(default = "default_key_claim")]
    pub key_claim: String,
    /// `aud`/`azp` values accepted in ID tokens that mobile apps trade in.
    #[serde(default)]
    pub mobile_client_ids: Vec<String>,
}

fn default_scopes() -> Vec<String> {
    vec!["openid".into()]
}

fn default_key_claim() -> String {
    "sub".into()
}

impl OidcConfig {
    pub fn client_secret(&self) -> Option<SecretSource> {
        pick("sso.oidc.client_secret", &self.client_secret_env, &self.client_secret_file, None)
    }
}

impl SsoConfig {
    /// The pre-shared keys (kid and secret source), when `resolve.kind = "psk"`.
    pub fn psk_keys(&self) -> Vec<(String, SecretSource)> {
        let SsoResolve::Psk(psk) = &self.resolve else { return Vec::new() };
        psk.keys
            .iter()
            .enumerate()
            .filter_map(|(i, k)| {
                pick(&format!("sso.resolve.keys[{i}].key"), &k.key_env, &k.key_file, None).map(|s| (k.kid.clone(), s))
            })
            .collect()
    }

    /// Checks of `[sso]` alone; those that involve the credential service
    /// are in [`crate::Config::validate`].
    pub(crate) fn check(&self, p: &mut Problems) {
        let mode = self.mode.as_str();
        if self.mode == SsoMode::SessionVariable && self.login_url.is_none() {
            p.add("sso.login_url", format!("required when sso.mode = \"{mode}\""));
        }
        if self.mode == SsoMode::Oidc && self.oidc.is_none() {
            p.add("sso.oidc", format!("required when sso.mode = \"{mode}\""));
        }
        if self.return_url_param.is_empty() {
            p.add("sso.return_url_param", "must not be empty");
        }
        if let Some(problem) = self.token.name_problem() {
            p.add("sso.token.name", problem);
        }
        if let SsoResolve::Psk(psk) = &self.resolve {
            if self.mode == SsoMode::SessionVariable && psk.keys.is_empty() {
                p.add("sso.resolve.keys", "at least one key is needed");
            }
            if psk.max_age < Duration::from_secs(1) {
                p.add("sso.resolve.max_age", "must be at least 1s");
            }
            let mut kids = HashSet::new();
            for (i, k) in psk.keys.iter().enumerate() {
                if let Some(problem) = k.kid_problem() {
                    p.add(format!("sso.resolve.keys[{i}].kid"), problem);
                }
                if !kids.insert(k.kid.as_str()) {
                    p.add(format!("sso.resolve.keys[{i}].kid"), format!("{:?} is used twice", k.kid));
                }
                check_pair(p, &format!("sso.resolve.keys[{i}].key"), &k.key_env, &k.key_file, true);
            }
        }
        for (i, h) in self.allowed_return_hosts.iter().enumerate() {
            if !is_host_and_port(h) {
                p.add(format!("sso.allowed_return_hosts[{i}]"), format!("{h:?} is not a host or host:port"));
            }
        }
        if self.throttle.per_account_and_address == 0 || self.throttle.per_address == 0 {
            p.add("sso.throttle", "per_account_and_address and per_address must be at least 1");
        }
        if self.throttle.window.is_zero() {
            p.add("sso.throttle.window", "must be more than 0s");
        }
        if let Some(oidc) = &self.oidc {
            if oidc.client_id.is_empty() {
                p.add("sso.oidc.client_id", "must not be empty");
            }
            if !oidc.scopes.iter().any(|s| s == "openid") {
                p.add("sso.oidc.scopes", "must include \"openid\"");
            }
            if oidc.key_claim.is_empty() {
                p.add("sso.oidc.key_claim", "must not be empty");
            }
            check_pair(p, "sso.oidc.client_secret", &oidc.client_secret_env, &oidc.client_secret_file, false);
        }
    }
}

fn is_host_and_port(h: &str) -> bool {
    if h.is_empty() || h.contains(['/', '@', '?', '#']) || h.chars().any(char::is_whitespace) {
        return false;
    }
    Url::parse(&format!("http://{h}/")).is_ok_and(|u| u.host_str().is_some_and(|s| !s.is_empty()))
}
