//! The sub-tables of the source kinds that are not plain HTTP: `[ams.soap]`,
//! `[ams.sql]`, `[ams.scim]`. They are read and checked now; the factory
//! refuses their kinds until the sources land (issue 15).

use std::path::PathBuf;

use amsync_config_kit::secrets::{check_pair, pick};
use amsync_config_kit::values::text;
use amsync_config_kit::{Problems, SecretSource};
use serde::{Deserialize, Serialize};
use url::Url;

/// `[ams.soap]`: a SOAP service that answers the contract's methods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoapSourceConfig {
    #[serde(with = "text")]
    pub endpoint: Url,
    /// The service's security key, sent in the SOAP header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_key_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_key_file: Option<PathBuf>,
    /// The XML namespace of the request elements.
    #[serde(default = "default_soap_namespace")]
    pub request_namespace: String,
    /// Prefix of the `SOAPAction` header; the request namespace when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_prefix: Option<String>,
    /// The service's operation names, one per contract method.
    #[serde(default)]
    pub operations: SoapOperations,
}

fn default_soap_namespace() -> String {
    "http://tempuri.org/".to_string()
}

impl SoapSourceConfig {
    pub fn security_key(&self) -> Option<SecretSource> {
        pick("ams.soap.security_key", &self.security_key_env, &self.security_key_file, None)
    }

    /// The `SOAPAction` prefix in effect.
    pub fn action_prefix(&self) -> &str {
        self.action_prefix.as_deref().unwrap_or(&self.request_namespace)
    }

    pub(crate) fn check(&self, p: &mut Problems) {
        check_pair(p, "ams.soap.security_key", &self.security_key_env, &self.security_key_file, false);
        if self.request_namespace.is_empty() {
            p.add("ams.soap.request_namespace", "must not be empty");
        }
        for (name, op) in self.operations.named() {
            if op.is_empty() {
                p.add(format!("ams.soap.operations.{name}"), "must not be empty");
            }
        }
    }
}

/// Operation names of a SOAP service; the defaults are the contract's method names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SoapOperations {
    pub get_changed_members: String,
    pub get_member_details: String,
    pub get_member_communities: String,
    pub get_member_security_groups: String,
    pub get_changed_events: String,
    pub authenticate_credentials: String,
    pub resolve_token: String,
}

impl Default for SoapOperations {
    fn default() -> Self {
        SoapOperations {
            get_changed_members: "GetChangedMembers".into(),
            get_member_details: "GetMemberDetails".into(),
            get_member_communities: "GetMemberCommunities".into(),
            get_member_security_groups: "GetMemberSecurityGroups".into(),
            get_changed_events: "GetChangedEvents".into(),
            authenticate_credentials: "AuthenticateCredentials".into(),
            resolve_token: "ResolveToken".into(),
        }
    }
}

impl SoapOperations {
    fn named(&self) -> [(&'static str, &str); 7] {
        [
            ("get_changed_members", &self.get_changed_members),
            ("get_member_details", &self.get_member_details),
            ("get_member_communities", &self.get_member_communities),
            ("get_member_security_groups", &self.get_member_security_groups),
            ("get_changed_events", &self.get_changed_events),
            ("authenticate_credentials", &self.authenticate_credentials),
            ("resolve_token", &self.resolve_token),
        ]
    }
}

/// `[ams.sql]`: the AMS's own database, read with one query per method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlSourceConfig {
    /// The database URL holds a password, so it is always a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_file: Option<PathBuf>,
    /// GetChangedMembers: rows of (key, changed_at) changed since `:since`.
    pub changed_members: String,
    /// GetMemberDetails for `:key`.
    pub member_details: String,
    /// GetMemberCommunities for `:key`.
    pub member_communities: String,
    /// GetMemberSecurityGroups for `:key`.
    pub member_security_groups: String,
    /// GetChangedEvents since `:since`.
    pub changed_events: String,
}

impl SqlSourceConfig {
    pub fn url(&self) -> Option<SecretSource> {
        pick("ams.sql.url", &self.url_env, &self.url_file, None)
    }

    pub(crate) fn check(&self, p: &mut Problems) {
        check_pair(p, "ams.sql.url", &self.url_env, &self.url_file, true);
        let queries = [
            ("changed_members", &self.changed_members),
            ("member_details", &self.member_details),
            ("member_communities", &self.member_communities),
            ("member_security_groups", &self.member_security_groups),
            ("changed_events", &self.changed_events),
        ];
        for (name, q) in queries {
            if q.trim().is_empty() {
                p.add(format!("ams.sql.{name}"), "the query must not be empty");
            }
        }
    }
}

/// The default URN of the SCIM schema extension that carries memberships.
pub const DEFAULT_SCIM_COMMUNITY_EXTENSION: &str = "urn:ietf:params:scim:schemas:extension:amsync:2.0:Community";

fn default_scim_extension() -> String {
    DEFAULT_SCIM_COMMUNITY_EXTENSION.to_string()
}

/// `[ams.scim]`: a SCIM 2.0 service provider that amsync polls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScimSourceConfig {
    #[serde(with = "text")]
    pub base_url: Url,
    /// Bearer token for the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// URN of the schema extension that carries community memberships.
    #[serde(default = "default_scim_extension")]
    pub community_extension: String,
}

impl ScimSourceConfig {
    pub fn token(&self) -> Option<SecretSource> {
        pick("ams.scim.token", &self.token_env, &self.token_file, None)
    }

    pub(crate) fn check(&self, p: &mut Problems) {
        check_pair(p, "ams.scim.token", &self.token_env, &self.token_file, true);
        if !self.community_extension.starts_with("urn:") {
            p.add("ams.scim.community_extension", "must be a URN (starting with \"urn:\")");
        }
    }
}
