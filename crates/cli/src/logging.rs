//! Structured logs via `tracing`, on standard error: text or JSON.
//!
//! Text is coloured only when standard error is a terminal and `NO_COLOR`
//! is unset or empty (<https://no-color.org>): a log file or a pipe gets
//! plain lines, not escape codes.
//!
//! The level is `RUST_LOG` when set, else `log.level` when the
//! configuration writes it, else the command's own ([`Audience`]): a
//! service logs at `info`; a command a person runs and reads prints its
//! own lines, and the libraries' `info` lines beside them would bury them,
//! so it shows only warnings and errors unless given `--verbose`.

use std::ffi::OsStr;
use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Who reads what a command writes on standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// `serve` and `worker`: the log is what they say.
    Service,
    /// `refresh`, `status`, `check`, `migrate`, `backup`, `sso mint-token`:
    /// they print their own progress and results.
    Person { verbose: bool },
}

impl Audience {
    /// The level filter when neither `RUST_LOG` nor `log.level` gives one.
    pub fn default_level(self) -> &'static str {
        match self {
            Audience::Service | Audience::Person { verbose: true } => "info",
            Audience::Person { verbose: false } => "warn",
        }
    }

    /// `log.level` when the configuration writes it, else [`Self::default_level`].
    pub fn level(self, written: Option<&str>) -> &str {
        written.unwrap_or(self.default_level())
    }
}

/// Installs the global subscriber. `RUST_LOG` overrides `level`.
pub fn init(format: LogFormat, level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let ansi = colour(std::io::stderr().is_terminal(), std::env::var_os("NO_COLOR").as_deref());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
    };
    // A second init (tests) keeps the first subscriber.
    let _ = result;
}

/// Whether text logs are coloured: on a terminal, unless `NO_COLOR` holds
/// anything.
fn colour(terminal: bool, no_color: Option<&OsStr>) -> bool {
    terminal && no_color.is_none_or(OsStr::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(colour(true, Some(OsStr::new(""))), "an empty NO_COLOR is unset");
        assert!(!colour(true, Some(OsStr::new("1"))));
        assert!(!colour(false, None), "a file or a pipe gets no escape codes");
    }

    #[test]
    fn a_written_level_wins_over_the_commands_own() {
        let quiet = Audience::Person { verbose: false };
        assert_eq!(quiet.level(None), "warn");
        assert_eq!(Audience::Person { verbose: true }.level(None), "info");
        assert_eq!(Audience::Service.level(None), "info");
        assert_eq!(quiet.level(Some("debug,amsync_sync=trace")), "debug,amsync_sync=trace");
        assert_eq!(Audience::Service.level(Some("warn")), "warn");
    }
}
