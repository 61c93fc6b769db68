//! The whole configuration: loading (file, then environment overrides),
//! deserializing with the key path of every error, and the cross-field rules.

use std::path::Path;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::env::{self, Override};
use crate::error::{ConfigError, Problems};
use crate::secrets::{Environment, SecretSource};
use crate::sections::database::{check_database_url, DatabaseConfig, DatabaseUrlSource};
use crate::sections::groups::{CommunitiesConfig, SecurityGroupsConfig};
use crate::sections::log::LogConfig;
use crate::sections::retention::RetentionConfig;
use crate::sections::safety::{QuarantineConfig, ThresholdsConfig};
use crate::sections::schedule::{EventsConfig, MemberRefreshConfig, PeriodicRefreshConfig};
use crate::sections::sso::{SsoConfig, SsoMode, SsoResolve};
use crate::sections::web::{SessionsConfig, WebConfig};
use crate::tagged;
use amsync_ams::config::{AmsConfig, CredentialConfig, CredentialServiceConfig};

/// amsync's configuration, one field per section of the file.
///
/// `Config::default()` holds every default but is not a valid configuration
/// by itself (the AMS has no `base_url`); build on it, or use
/// [`Config::demo`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub database: DatabaseConfig,
    pub ams: AmsConfig,
    /// The credential service as written; see [`Config::credential_service`].
    pub auth: CredentialConfig,
    pub periodic_refresh: PeriodicRefreshConfig,
    pub events: EventsConfig,
    pub member_refresh: MemberRefreshConfig,
    pub quarantine: QuarantineConfig,
    pub thresholds: ThresholdsConfig,
    pub communities: CommunitiesConfig,
    pub security_groups: SecurityGroupsConfig,
    pub web: WebConfig,
    pub sessions: SessionsConfig,
    pub sso: SsoConfig,
    pub retention: RetentionConfig,
    pub log: LogConfig,
}

impl Config {
    /// Reads the file at `path`, applies the process's `AMSYNC_…__…`
    /// overrides, and validates the result.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        // Variables that are not valid UTF-8 cannot be overrides of ours.
        let vars = std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
        // Some Windows editors start a UTF-8 file with a byte-order mark.
        Config::from_toml_str(text.strip_prefix('\u{feff}').unwrap_or(&text), vars)
    }

    /// Parses `text`, applies the overrides found among `env` (name, value)
    /// pairs, and validates the result.
    pub fn from_toml_str(text: &str, env: impl IntoIterator<Item = (String, String)>) -> Result<Config, ConfigError> {
        let root: toml::Table = text.parse().map_err(|e: toml::de::Error| ConfigError::Syntax(e.to_string()))?;
        let overrides = env::collect(env)?;
        let mut written = root.clone();
        env::apply(&mut written, &overrides, &[])?;
        crate::not_yet_available::refuse(text, &written, &overrides)?;
        let config = deserialize_with_overrides(text, root, &overrides)?;
        match config.validate() {
            Err(ConfigError::Invalid(mut problems)) => {
                // A line helps only for values the file gave, not for overridden ones.
                problems.locate(|key| {
                    let overridden = overrides.iter().any(|o| o.dotted() == key);
                    if overridden {
                        None
                    } else {
                        crate::lines::line_of(text, key)
                    }
                });
                Err(ConfigError::Invalid(problems))
            }
            other => other.map(|()| config),
        }
    }

    /// Serializes the configuration back to TOML (secrets are only ever
    /// names, so this is safe to show).
    pub fn to_toml_string(&self) -> String {
        toml::to_string(self).expect("a configuration always serializes")
    }

    /// The cross-field rules, all problems at once. [`Config::load`] and
    /// [`Config::from_toml_str`] call it; call it again after changing a
    /// `Config` in code.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut p = Problems::default();
        self.database.check(&mut p);
        self.ams.check(&mut p);
        self.auth.check(&self.ams, &mut p);
        self.periodic_refresh.check(&mut p);
        self.events.check(&mut p);
        self.member_refresh.check(&mut p);
        self.quarantine.check(&mut p);
        self.thresholds.check(&mut p);
        self.security_groups.check(&mut p);
        self.web.check(&mut p);
        self.sessions.check(&mut p);
        self.sso.check(&mut p);
        self.check_sso_needs(&mut p);
        self.retention.check(&mut p);
        self.log.check(&mut p);
        p.into_result()
    }

    /// What `serve` needs beyond [`validate`](Self::validate): every secret
    /// in use resolves (the admin token always; the others where their
    /// feature is on), and PSK keys are 32 bytes of standard base64. All
    /// problems at once; errors name keys and variables, never values.
    pub fn validate_for_serve(&self, env: &(impl Environment + ?Sized)) -> Result<(), ConfigError> {
        let mut p = Problems::default();
        let need = |p: &mut Problems, source: Option<SecretSource>| {
            if let Some(source) = source {
                if let Err(e) = source.resolve(env) {
                    p.add(source.key(), secret_message(e));
                }
            }
        };
        need(&mut p, Some(self.web.admin_token()));
        need(&mut p, self.web.next_admin_token());
        need(&mut p, self.web.next_site_token());
        if let Err(e) = self.database_url(env) {
            p.add(error_key(&e), secret_message(e));
        }
        if self.ams.kind.is_polled() {
            need(&mut p, self.ams.auth_secret());
            need(&mut p, self.ams.soap.as_ref().and_then(|s| s.security_key()));
            need(&mut p, self.ams.sql.as_ref().and_then(|s| s.url()));
            need(&mut p, self.ams.scim.as_ref().and_then(|s| s.token()));
        }
        let credentials = self.credential_service();
        if credentials.is_enabled() && !credentials.is_the_source() {
            need(&mut p, credentials.auth_secret());
        }
        if self.sso.mode == SsoMode::Oidc {
            need(&mut p, self.sso.oidc.as_ref().and_then(|o| o.client_secret()));
        }
        // An optional secret: unset turns the site token off, but a file
        // that is named must read.
        let site = self.web.site_token();
        if let Err(e) = site.resolve_optional(env) {
            p.add(site.key(), secret_message(e));
        }
        if self.sso.mode == SsoMode::SessionVariable {
            for (_, source) in self.sso.psk_keys() {
                match source.resolve(env) {
                    Ok(key) if !is_psk_key(key.expose_secret()) => {
                        p.add(source.key(), format!("{source} must hold 32 bytes in standard base64"));
                    }
                    Ok(_) => {}
                    Err(e) => p.add(source.key(), secret_message(e)),
                }
            }
        }
        p.into_result()
    }

    /// The database URL, from `url`, `url_env` or `url_file` (or the default
    /// SQLite file). It may hold a password: log it only through
    /// [`crate::redact_url`].
    pub fn database_url(&self, env: &(impl Environment + ?Sized)) -> Result<SecretString, ConfigError> {
        match self.database.url_source() {
            DatabaseUrlSource::Literal(url) => Ok(SecretString::from(url)),
            DatabaseUrlSource::Secret(source) => {
                let url = source.resolve(env)?;
                check_database_url(url.expose_secret()).map_err(|message| ConfigError::Secret {
                    key: source.key().to_string(),
                    message: format!("{source}: {message}"),
                })?;
                Ok(url)
            }
        }
    }

    /// The database URL as it may be logged or shown by `status`.
    pub fn database_url_redacted(&self, env: &(impl Environment + ?Sized)) -> String {
        match self.database.url_source() {
            DatabaseUrlSource::Literal(url) => crate::redact_url(&url),
            DatabaseUrlSource::Secret(source) => match self.database_url(env) {
                Ok(url) => crate::redact_url(url.expose_secret()),
                Err(_) => format!("(from {source}, unavailable)"),
            },
        }
    }

    /// The refresh workers this node runs (`member_refresh.workers`, or
    /// derived from `ams.max_concurrency` when unset).
    pub fn refresh_workers(&self) -> u32 {
        self.member_refresh.effective_workers(self.ams.max_concurrency)
    }

    /// The credential service with its defaults applied (see
    /// [`CredentialConfig::effective`]).
    pub fn credential_service(&self) -> CredentialServiceConfig {
        self.auth.effective(&self.ams)
    }

    fn check_sso_needs(&self, p: &mut Problems) {
        let has_service = self.credential_service().is_enabled();
        if self.sso.mode == SsoMode::Credentials && !has_service {
            p.add(
                "sso.mode",
                "\"credentials\" needs a credential service: set [auth] kind (the source has none of its own)",
            );
        }
        if self.sso.mode == SsoMode::SessionVariable && self.sso.resolve == SsoResolve::WebService && !has_service {
            p.add("sso.resolve", "\"web-service\" needs a credential service: set [auth] kind, or use kind = \"psk\"");
        }
    }
}

/// serde speaks of maps and sequences; a TOML file has tables and lists.
fn in_toml_words(message: &str) -> String {
    message.replace("expected a map", "expected a table").replace("expected a sequence", "expected a list")
}

fn is_psk_key(text: &str) -> bool {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text.trim()).is_ok_and(|k| k.len() == 32)
}

fn error_key(e: &ConfigError) -> String {
    match e {
        ConfigError::Secret { key, .. } | ConfigError::Key { key, .. } | ConfigError::Env { key, .. } => key.clone(),
        _ => String::new(),
    }
}

fn secret_message(e: ConfigError) -> String {
    match e {
        ConfigError::Secret { message, .. } => message,
        other => other.to_string(),
    }
}

/// Deserializes `root` with the overrides applied. An override read as a
/// number or boolean where the key wants text is retried as text, once per
/// override; any other error names the key (and the variable, when an
/// override is involved).
fn deserialize_with_overrides(text: &str, root: toml::Table, overrides: &[Override]) -> Result<Config, ConfigError> {
    let mut as_text = Vec::new();
    loop {
        let mut tree = root.clone();
        env::apply(&mut tree, overrides, &as_text)?;
        let err = match serde_path_to_error::deserialize::<_, Config>(toml::Value::Table(tree)) {
            Ok(config) => return Ok(config),
            Err(err) => err,
        };
        // The path includes an unknown key itself, so `key` names it.
        let (key, message) = tagged::split(&err.path().to_string(), err.inner().message());
        let message = in_toml_words(&message);
        // Only a type mismatch is retried: `-1` for a count stays a number,
        // and its error says the value is out of range.
        let type_mismatch = message.starts_with("invalid type:");
        let retry = overrides
            .iter()
            .enumerate()
            .find(|(i, o)| type_mismatch && o.dotted() == key && o.is_typed() && !as_text.contains(i));
        if let Some((i, _)) = retry {
            as_text.push(i);
            continue;
        }
        let culprit = overrides
            .iter()
            .filter(|o| {
                let dotted = o.dotted();
                key == dotted || key.starts_with(&format!("{dotted}.")) || dotted.starts_with(&format!("{key}."))
            })
            .max_by_key(|o| o.path.len());
        return Err(match culprit {
            Some(o) if message.ends_with("expected a list") => ConfigError::Env {
                var: o.var.clone(),
                key,
                message: format!("{message}; lists cannot be overridden by environment, set it in the file"),
            },
            Some(o) => ConfigError::Env { var: o.var.clone(), key, message },
            None => ConfigError::Key { line: crate::lines::line_of(text, &key), key, message },
        });
    }
}
