//! The error of loading and validating a configuration.
//!
//! Every variant names the key it is about (its full dotted path, such as
//! `member_refresh.workers`), and for environment overrides the variable, so
//! a mistake can be fixed without reading the code. Secret values are never
//! part of a message: only the key, the variable's name or the file's path.

use std::fmt;
use std::path::PathBuf;

/// Why a configuration was refused. The command line maps every variant to
/// exit code 2 ("usage/config error").
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the configuration file {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },

    /// The file is not valid TOML; the message names the line and column.
    #[error("the configuration is not valid TOML: {0}")]
    Syntax(String),

    /// An unknown key or a bad value in the file.
    #[error("{key}{}: {message}", line.map(|l| format!(" (line {l})")).unwrap_or_default())]
    Key { key: String, line: Option<usize>, message: String },

    /// An environment override that cannot be applied or holds a bad value.
    #[error("{var} (sets {key}): {message}")]
    Env { var: String, key: String, message: String },

    /// Values that are well-formed one by one but do not fit together
    /// (cross-field rules), all of them at once.
    #[error("{0}")]
    Invalid(Problems),

    /// A secret that cannot be resolved: the variable is unset or empty, or
    /// the file cannot be read.
    #[error("{key}: {message}")]
    Secret { key: String, message: String },
}

impl ConfigError {
    /// The exit code the command line uses for every configuration error.
    pub const EXIT_CODE: i32 = 2;
}

/// One thing wrong with a configuration, at a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Full dotted path of the key, such as `sso.oidc`.
    pub key: String,
    /// Where the key (or, when it is missing, its table) is written in the file.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{} (line {line}): {}", self.key, self.message),
            None => write!(f, "{}: {}", self.key, self.message),
        }
    }
}

/// The problems found by validation, in the order of the file's sections.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    pub fn add(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem { key: key.into(), line: None, message: message.into() });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Problem> {
        self.0.iter()
    }

    /// `Ok` when nothing was found, else the whole list as one error.
    pub fn into_result(self) -> Result<(), ConfigError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(self))
        }
    }

    /// Fills in the line of each problem with `line_of(key)`.
    pub fn locate(&mut self, line_of: impl Fn(&str) -> Option<usize>) {
        for p in &mut self.0 {
            p.line = line_of(&p.key);
        }
    }

    /// Whether a problem is reported at `key`.
    pub fn has(&self, key: &str) -> bool {
        self.0.iter().any(|p| p.key == key)
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [] => f.write_str("no problems"),
            [one] => write!(f, "{one}"),
            many => {
                write!(f, "{} problems in the configuration:", many.len())?;
                for p in many {
                    write!(f, "\n  {p}")?;
                }
                Ok(())
            }
        }
    }
}
