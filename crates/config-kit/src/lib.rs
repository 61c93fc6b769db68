//! What every component's configuration is written with, so that each
//! component can own its configuration type (`amsync_ams::AmsConfig` is the
//! `[ams]` section) and `amsync-config` only assembles the file:
//!
//! - [`ConfigError`] and [`Problems`]: errors and cross-field problems that
//!   name the key (`ams.auth.value_env: …`), never a secret's value;
//! - [`SecretSource`]: a secret named by `<name>_env` or `<name>_file`
//!   ([`pick`], checked by [`check_pair`]), read through an
//!   [`Environment`], kept as a reloadable [`LiveSecret`]; [`SecretCells`]
//!   is how a component that builds itself from its configuration asks
//!   for the cells its secrets live in;
//! - [`values`]: durations, sizes, URLs and the other values the file
//!   writes as text (`#[serde(with = "amsync_config_kit::values::text")]`);
//! - [`tagged`]: tables whose keys depend on a `kind`, with errors that keep
//!   the full key path through them.
//!
//! It sits beside `amsync-core` at the bottom of the layering (it depends on
//! `core` only for the [`SecretCell`](amsync_core::secret::SecretCell)), so
//! `ams` and `sso` can use it without depending on `config`.

pub mod error;
pub mod secrets;
pub mod tagged;
pub mod values;

pub use error::{ConfigError, Problem, Problems};
pub use secrets::{
    check_pair, pick, Environment, LiveSecret, ProcessEnv, ResolveNow, SecretCells, SecretCheck, SecretFile,
    SecretSource, CREDENTIALS_DIRECTORY, MAX_SECRET_FILE_BYTES,
};
pub use values::CronSchedule;
