//! The sub-tables of the source kinds that are not plain HTTP: `[ams.soap]`,
//! `[ams.sql]`, `[ams.scim]`. All are read and checked; the factory runs
//! `soap` and refuses `sql` and `scim` until their sources land (issue 15).

use std::path::PathBuf;
use std::time::Duration;

use amsync_config_kit::secrets::{check_pair, pick};
use amsync_config_kit::values::{bytes, text};
use amsync_config_kit::{Problems, SecretSource};
use serde::{Deserialize, Serialize};
use url::Url;

/// `[ams.soap]`: a SOAP 1.1 service in the RefreshService dialect that
/// answers the contract's methods (docs/sources/soap.md). The limits of
/// `[ams]` (`timeout`, `max_concurrency`, `max_rate`, `max_body`) apply to
/// its calls; the full listing, which SOAP cannot page, has its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoapSourceConfig {
    /// The service's URL, such as `https://ams.example.org/RefreshService.asmx`.
    #[serde(with = "text")]
    pub endpoint: Url,
    /// The service's security key, sent as the `securityKey` parameter of
    /// every operation.
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
    /// Largest GetChangedMembers answer read, in bytes. SOAP has no paging,
    /// so the full listing is one answer; it is read as a stream, never
    /// held whole, and refused past this size.
    #[serde(default = "default_max_listing_bytes", with = "bytes")]
    pub max_listing_bytes: u64,
    /// Limit of one GetChangedMembers call, from connect to the last byte
    /// (`ams.timeout` bounds the other operations).
    #[serde(default = "default_listing_timeout", with = "text")]
    pub listing_timeout: Duration,
    /// How SOAP faults are told apart (a fault is matched by its faultstring).
    #[serde(default)]
    pub faults: SoapFaults,
}

/// The namespace of the RefreshService dialect's requests.
pub const DEFAULT_SOAP_NAMESPACE: &str = "http://cobalt.net/";

fn default_soap_namespace() -> String {
    DEFAULT_SOAP_NAMESPACE.to_string()
}

fn default_max_listing_bytes() -> u64 {
    1 << 30
}

fn default_listing_timeout() -> Duration {
    Duration::from_secs(300)
}

impl SoapSourceConfig {
    /// `[ams.soap]` at `endpoint` with the dialect's defaults and no key
    /// (for tools and tests that build a source without a file).
    pub fn at(endpoint: Url) -> SoapSourceConfig {
        SoapSourceConfig {
            endpoint,
            security_key_env: None,
            security_key_file: None,
            request_namespace: default_soap_namespace(),
            action_prefix: None,
            operations: SoapOperations::default(),
            max_listing_bytes: default_max_listing_bytes(),
            listing_timeout: default_listing_timeout(),
            faults: SoapFaults::default(),
        }
    }

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
        if self.action_prefix.as_deref().is_some_and(|a| a.chars().any(char::is_control)) {
            p.add("ams.soap.action_prefix", "must not contain control characters (it is sent as a header)");
        }
        for (name, op) in self.operations.named() {
            if !is_xml_name(op) {
                p.add(format!("ams.soap.operations.{name}"), format!("{op:?} is not an XML element name"));
            }
        }
        if self.max_listing_bytes == 0 {
            p.add("ams.soap.max_listing_bytes", "must be more than 0 bytes");
        }
        if self.listing_timeout.is_zero() {
            p.add("ams.soap.listing_timeout", "must be more than 0s");
        }
        for (name, list) in [("unauthorized", &self.faults.unauthorized), ("not_found", &self.faults.not_found)] {
            if list.iter().any(|phrase| phrase.trim().is_empty()) {
                p.add(format!("ams.soap.faults.{name}"), "a phrase must not be empty (it would match every fault)");
            }
        }
    }
}

/// An operation is sent as an element name (and in the `SOAPAction`).
fn is_xml_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Operation names of a SOAP service, one per contract method; the
/// defaults are the RefreshService dialect's.
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
            get_member_communities: "GetMemberCommunityGroups".into(),
            get_member_security_groups: "GetMemberSecurityGroups".into(),
            get_changed_events: "GetEvents".into(),
            authenticate_credentials: "AuthenticateUser".into(),
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

/// `[ams.soap.faults]`: phrases that tell what a SOAP fault means, matched
/// case-insensitively in its faultstring. A fault matching none is a
/// failure of the operation: transient for a `Server` faultcode, permanent
/// for any other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SoapFaults {
    /// The service refuses our security key: the source pauses as for an
    /// HTTP 401.
    pub unauthorized: Vec<String>,
    /// The member is not there: GetMemberDetails answers "gone" (404),
    /// AuthenticateUser and ResolveToken "refused".
    pub not_found: Vec<String>,
}

impl Default for SoapFaults {
    fn default() -> Self {
        SoapFaults {
            unauthorized: ["security key", "securitykey", "not authorized", "unauthorized", "access denied"]
                .map(String::from)
                .to_vec(),
            not_found: ["not found", "does not exist", "no such member"].map(String::from).to_vec(),
        }
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
