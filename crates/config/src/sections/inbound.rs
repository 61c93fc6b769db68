//! `[webhooks]`, `[push]` and `[scim]`: what other systems send to amsync,
//! and the webhooks amsync sends out.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::Problems;
use crate::secrets::{check_pair, pick, SecretSource};
use crate::values::text;

pub const DEFAULT_WEBHOOK_SECRET_ENV: &str = "AMSYNC_WEBHOOK_SECRET";
pub const DEFAULT_PUSH_TOKEN_ENV: &str = "AMSYNC_PUSH_TOKEN";
pub const DEFAULT_SCIM_TOKEN_ENV: &str = "AMSYNC_SCIM_TOKEN";

/// `[webhooks]`: signed change notifications in, and out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhooksConfig {
    /// HMAC key of incoming webhooks (its UTF-8 bytes); `AMSYNC_WEBHOOK_SECRET` when neither is given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_file: Option<PathBuf>,
    /// A second key accepted during rotation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_secret_env: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_secret_file: Option<PathBuf>,
    /// Webhooks amsync sends when members change.
    pub outbound: Vec<OutboundWebhook>,
}

/// One outbound webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboundWebhook {
    #[serde(with = "text")]
    pub url: Url,
    /// HMAC key of the signature amsync adds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_file: Option<PathBuf>,
    /// Event names sent (such as `member.changed`); all when empty.
    #[serde(default)]
    pub events: Vec<String>,
}

impl WebhooksConfig {
    /// The incoming webhooks' key; webhooks are refused while it is unset.
    pub fn secret(&self) -> SecretSource {
        pick("webhooks.secret", &self.secret_env, &self.secret_file, Some(DEFAULT_WEBHOOK_SECRET_ENV))
            .expect("a default is given")
    }

    pub fn next_secret(&self) -> Option<SecretSource> {
        pick("webhooks.next_secret", &self.next_secret_env, &self.next_secret_file, None)
    }

    /// The key of outbound webhook `index`.
    pub fn outbound_secret(&self, index: usize) -> Option<SecretSource> {
        let hook = self.outbound.get(index)?;
        pick(&format!("webhooks.outbound[{index}].secret"), &hook.secret_env, &hook.secret_file, None)
    }

    pub(crate) fn check(&self, p: &mut Problems) {
        check_pair(p, "webhooks.secret", &self.secret_env, &self.secret_file, false);
        check_pair(p, "webhooks.next_secret", &self.next_secret_env, &self.next_secret_file, false);
        for (i, hook) in self.outbound.iter().enumerate() {
            check_pair(p, &format!("webhooks.outbound[{i}].secret"), &hook.secret_env, &hook.secret_file, true);
            for (j, e) in hook.events.iter().enumerate() {
                if e.is_empty() || e.chars().any(char::is_whitespace) {
                    p.add(
                        format!("webhooks.outbound[{i}].events[{j}]"),
                        "must be an event name such as \"member.changed\"",
                    );
                }
            }
        }
    }
}

/// `[push]`: the push API's bearer token (system of record `push`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PushConfig {
    /// `AMSYNC_PUSH_TOKEN` when neither is given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token_env: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token_file: Option<PathBuf>,
}

impl PushConfig {
    pub fn token(&self) -> SecretSource {
        pick("push.token", &self.token_env, &self.token_file, Some(DEFAULT_PUSH_TOKEN_ENV)).expect("a default is given")
    }

    pub fn next_token(&self) -> Option<SecretSource> {
        pick("push.next_token", &self.next_token_env, &self.next_token_file, None)
    }

    pub(crate) fn check(&self, p: &mut Problems) {
        check_pair(p, "push.token", &self.token_env, &self.token_file, false);
        check_pair(p, "push.next_token", &self.next_token_env, &self.next_token_file, false);
    }
}

/// `[scim]`: amsync's SCIM 2.0 service provider endpoint (needs `ams.kind = "push"`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScimConfig {
    pub enabled: bool,
    /// `AMSYNC_SCIM_TOKEN` when neither is given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token_env: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token_file: Option<PathBuf>,
}

impl ScimConfig {
    pub fn token(&self) -> SecretSource {
        pick("scim.token", &self.token_env, &self.token_file, Some(DEFAULT_SCIM_TOKEN_ENV)).expect("a default is given")
    }

    pub fn next_token(&self) -> Option<SecretSource> {
        pick("scim.next_token", &self.next_token_env, &self.next_token_file, None)
    }

    pub(crate) fn check(&self, p: &mut Problems) {
        check_pair(p, "scim.token", &self.token_env, &self.token_file, false);
        check_pair(p, "scim.next_token", &self.next_token_env, &self.next_token_file, false);
    }
}
