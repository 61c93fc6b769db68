//! How amsync authenticates itself to an HTTP service: the AMS (`ams.auth`)
//! or the credential service (`auth.auth`). Only the secret's *name* is
//! here; the factory resolves it into the cell the source reads per call.

use std::path::PathBuf;

use amsync_config_kit::secrets::{check_pair, pick};
use amsync_config_kit::values::text;
use amsync_config_kit::{tagged, Problems, SecretSource};
use serde::{Deserialize, Deserializer, Serialize};
use url::Url;

/// Authentication to an HTTP service (the AMS or the credential service).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HttpAuth {
    /// A header with a fixed value.
    ApiKey(ApiKeyAuth),
    /// HTTP basic authentication.
    Basic(BasicAuth),
    /// OAuth 2.0 client credentials.
    Oauth2(OAuth2Auth),
}

impl<'de> Deserialize<'de> for HttpAuth {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (kind, rest) = tagged::split_tag(d, "kind", &["api_key", "basic", "oauth2"])?;
        match kind {
            "api_key" => tagged::deserialize_part(rest).map(HttpAuth::ApiKey),
            "basic" => tagged::deserialize_part(rest).map(HttpAuth::Basic),
            _ => tagged::deserialize_part(rest).map(HttpAuth::Oauth2),
        }
    }
}

impl HttpAuth {
    /// The secret this authentication needs, as configured at `at` (such as `ams.auth`).
    pub fn secret(&self, at: &str) -> Option<SecretSource> {
        match self {
            HttpAuth::ApiKey(a) => pick(&format!("{at}.value"), &a.value_env, &a.value_file, None),
            HttpAuth::Basic(b) => pick(&format!("{at}.password"), &b.password_env, &b.password_file, None),
            HttpAuth::Oauth2(o) => {
                pick(&format!("{at}.client_secret"), &o.client_secret_env, &o.client_secret_file, None)
            }
        }
    }

    /// The rules of an authentication configured at `at` (`ams.auth`, `auth.auth`).
    pub fn check(&self, p: &mut Problems, at: &str) {
        match self {
            HttpAuth::ApiKey(a) => {
                if !is_header_name(&a.header) {
                    p.add(format!("{at}.header"), format!("{:?} is not an HTTP header name", a.header));
                }
                check_pair(p, &format!("{at}.value"), &a.value_env, &a.value_file, true);
            }
            HttpAuth::Basic(b) => {
                if b.username.is_empty() || b.username.contains(':') {
                    p.add(format!("{at}.username"), "must be non-empty and without ':'");
                }
                check_pair(p, &format!("{at}.password"), &b.password_env, &b.password_file, true);
            }
            HttpAuth::Oauth2(o) => {
                if o.client_id.is_empty() {
                    p.add(format!("{at}.client_id"), "must not be empty");
                }
                check_pair(p, &format!("{at}.client_secret"), &o.client_secret_env, &o.client_secret_file, true);
            }
        }
    }
}

fn is_header_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// The default header of the `api_key` authentication.
pub const DEFAULT_API_KEY_HEADER: &str = "X-Api-Key";

fn default_api_key_header() -> String {
    DEFAULT_API_KEY_HEADER.to_string()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyAuth {
    #[serde(default = "default_api_key_header")]
    pub header: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth2Auth {
    #[serde(with = "text")]
    pub token_url: Url,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}
