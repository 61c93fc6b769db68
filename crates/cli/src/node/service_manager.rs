//! Tells systemd (a `Type=notify` unit, packaging/amsync.service) where the
//! node is: `READY=1` once it is built, bound and started, `RELOADING=1`
//! while a SIGHUP reloads its secrets (then `READY=1` again), `STOPPING=1`
//! when it begins to stop. The protocol is one datagram to
//! `$NOTIFY_SOCKET` (the `sd-notify` crate, no libsystemd); without that
//! variable (not started by systemd, or by a unit of another type) each
//! call does nothing. A failed send is logged and changes nothing else:
//! systemd then times the start out, which says more than a node that
//! refuses to run.

use sd_notify::NotifyState;

fn send(what: &str, states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, state = what, "cannot tell systemd the service's state");
    }
}

/// The node serves (or works): systemd's start job completes.
pub fn ready(status: &str) {
    send("READY", &[NotifyState::Ready, NotifyState::Status(status)]);
}

/// A reload begins; [`reloaded`] ends it.
pub fn reloading() {
    let mut states = vec![NotifyState::Reloading, NotifyState::Status("reloading secrets")];
    // systemd (253 and later) wants the clock reading with RELOADING=1.
    if let Ok(now) = NotifyState::monotonic_usec_now() {
        states.push(now);
    }
    send("RELOADING", &states);
}

/// The reload is done.
pub fn reloaded(status: &str) {
    send("READY", &[NotifyState::Ready, NotifyState::Status(status)]);
}

/// The node stops.
pub fn stopping() {
    send("STOPPING", &[NotifyState::Stopping, NotifyState::Status("stopping")]);
}
