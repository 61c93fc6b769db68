//! The configuration's tests, one binary: defaults, environment overrides,
//! errors that name keys, cross-field rules, secrets, the template, the
//! demo configuration, the keys not yet available, and a fuzz test that
//! nothing panics.

mod cross_field;
mod defaults;
mod env_overrides;
mod errors;
mod fuzz;
mod not_yet_available;
mod sample;
mod secrets;
mod template;

use amsync_config::{Config, ConfigError};

/// The smallest valid file: the AMS's base URL is the one key without a default.
pub const BASE: &str = "[ams]\nbase_url = \"https://ams.example.org/api\"\n";

pub fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

pub fn load(text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::from_toml_str(text, env(vars))
}

/// `BASE` followed by `extra`.
pub fn load_base(extra: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    load(&format!("{BASE}{extra}"), vars)
}

/// The error of loading `BASE` + `extra`, as text; panics if it loads.
pub fn error_of(extra: &str, vars: &[(&str, &str)]) -> String {
    match load_base(extra, vars) {
        Ok(_) => panic!("accepted: {extra:?} with {vars:?}"),
        Err(e) => e.to_string(),
    }
}

/// The keys of the problems found by validation; panics on any other outcome.
pub fn problem_keys(text: &str) -> Vec<String> {
    match load(text, &[]) {
        Err(ConfigError::Invalid(p)) => p.iter().map(|p| p.key.clone()).collect(),
        Err(other) => panic!("not a validation error: {other}"),
        Ok(_) => panic!("accepted: {text}"),
    }
}
