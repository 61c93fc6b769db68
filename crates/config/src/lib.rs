//! Configuration of amsync: the TOML file, environment overrides, validation.
//!
//! - [`Config::load`] reads a file, applies `AMSYNC_<SECTION>__<KEY>`
//!   overrides from the environment and validates; every error names the
//!   key (and the variable), see [`ConfigError`].
//! - Secrets are named in the file (`*_env`, `*_file`) and resolved on
//!   demand through [`SecretSource`]; [`redact_url`] makes URLs safe to log.
//! - Keys of product.md that this version does not run are refused at load,
//!   naming the key: [`NOT_YET_AVAILABLE`] lists them with the reason.
//! - [`TEMPLATE`] is the commented file `amsync init` writes;
//!   [`Config::demo`] the configuration of `amsync demo`.
//!
//! The file seeds the database on first start (community rules, IsMember
//! designations, local groups); afterwards the database is authoritative.

mod config;
mod demo;
mod env;
mod lines;
mod not_yet_available;
mod redact;
pub mod sections;
mod template;

pub use config::Config;
pub use demo::{public_url_for, DEMO_AMS_KEY_ENV, DEMO_MEMBER_GROUP};
// The vocabulary the sections are written with lives in `amsync-config-kit`
// (the components that own their sections use it too); these names keep
// every `crate::…` path of this crate and every public name as they were.
/// `[ams]` and `[auth]`: the AMS sources own these types; they are named
/// here too, so a caller of the configuration needs only this crate.
pub use amsync_ams::config::{
    AmsConfig, ApiKeyAuth, BasicAuth, CredentialConfig, CredentialKind, CredentialServiceConfig, HttpAuth, HttpVersion,
    OAuth2Auth, ScimSourceConfig, SoapFaults, SoapOperations, SoapSourceConfig, SourceKind, SqlSourceConfig,
};
pub use amsync_config_kit::CronSchedule;
pub(crate) use amsync_config_kit::{error, secrets, tagged, values};
pub use amsync_config_kit::{ConfigError, Problem, Problems};
pub use amsync_config_kit::{
    Environment, LiveSecret, ProcessEnv, ResolveNow, SecretCells, SecretCheck, SecretFile, SecretSource,
    MAX_SECRET_FILE_BYTES,
};
pub use not_yet_available::{NotYetAvailable, NOT_YET_AVAILABLE};
pub use redact::redact_url;
pub use sections::database::{check_database_url, DatabaseConfig, DatabaseUrlSource, DEFAULT_DATABASE_URL};
pub use sections::groups::{CommunitiesConfig, LocalGroup, SecurityGroupsConfig};
pub use sections::log::{LogConfig, LogFormat};
pub use sections::retention::RetentionConfig;
pub use sections::safety::{QuarantineConfig, ThresholdsConfig};
pub use sections::schedule::{
    workers_for_budget, Cadence, EventsConfig, MemberRefreshConfig, PeriodicRefreshConfig, AMS_CALLS_PER_REFRESH,
};
pub use sections::sso::{
    OidcConfig, PskKeyConfig, PskResolve, SsoConfig, SsoMode, SsoResolve, SsoThrottle, SsoToken, TokenSource,
};
pub use sections::web::{SessionsConfig, WebConfig, WebLimits};
pub use template::TEMPLATE;

/// Re-exported so callers can use resolved secrets without naming the crate.
pub use secrecy::{ExposeSecret, SecretString};
