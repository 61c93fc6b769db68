//! The process signals a running node answers: SIGINT and SIGTERM stop it
//! cleanly, SIGHUP reloads its `*_file` secrets.
//!
//! [`Signals::listen`] installs every handler at once, and a command makes
//! it before it builds, binds, serves or prints anything: a signal that
//! arrives while the node starts is then held until the node waits for it,
//! instead of ending the process the default way (no clean stop, writes in
//! flight cut).

#[cfg(unix)]
use tokio::signal::unix::{signal, Signal, SignalKind};

/// SIGHUP's stream; `None` where it cannot be heard.
#[cfg(unix)]
pub type Hangups = Option<Signal>;
#[cfg(not(unix))]
pub type Hangups = Option<()>;

/// The signals of a node's process, listened to from the moment this is made.
pub struct Signals {
    #[cfg(unix)]
    interrupt: Option<Signal>,
    #[cfg(unix)]
    terminate: Option<Signal>,
    hangups: Hangups,
}

#[cfg(unix)]
fn listen_to(kind: SignalKind, name: &str) -> Option<Signal> {
    match signal(kind) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, signal = name, "cannot listen for a signal");
            None
        }
    }
}

impl Signals {
    /// Starts listening for SIGINT, SIGTERM and SIGHUP.
    pub fn listen() -> Signals {
        #[cfg(unix)]
        {
            Signals {
                interrupt: listen_to(SignalKind::interrupt(), "SIGINT"),
                terminate: listen_to(SignalKind::terminate(), "SIGTERM"),
                hangups: hangup_signals(),
            }
        }
        #[cfg(not(unix))]
        Signals { hangups: None }
    }

    /// Waits for SIGINT or SIGTERM (one already received returns at once).
    pub async fn stop_requested(&mut self) {
        #[cfg(unix)]
        {
            async fn next(s: &mut Option<Signal>) {
                match s {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
            tokio::select! {
                _ = next(&mut self.interrupt) => {}
                _ = next(&mut self.terminate) => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    }

    /// The SIGHUP stream, for the task that reloads secrets.
    pub fn take_hangups(&mut self) -> Hangups {
        self.hangups.take()
    }
}

/// A new SIGHUP stream (the reload task's restart makes one), `None` where
/// it cannot be heard.
pub fn hangup_signals() -> Hangups {
    #[cfg(unix)]
    match signal(SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP; secrets reload only with a restart");
            None
        }
    }
    #[cfg(not(unix))]
    None
}
