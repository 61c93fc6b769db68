//! From a [`Config`] to running parts: the source and the credential
//! service (built by the AMS factory, `amsync_ams::build`, the source
//! reporting its calls to the quarantine's window), the engine's and the
//! web layer's settings, the thresholds. The secrets handed to the source
//! and the credential service are collected in a [`SharedSecrets`], which
//! `serve` keeps to reload them on SIGHUP (the API tokens are in
//! `crate::secrets` too).

use std::sync::Arc;
use std::time::Duration;

use amsync_ams::{AmsSource, BuildError, CallObserver, Sources};
use amsync_config::{Cadence, Config, Environment};
use amsync_core::safety::Thresholds;
use amsync_store::Store;
use amsync_sync::{Engine, QuarantineMonitor, QuarantineSettings, Schedule, SyncSettings};
use amsync_web::WebSettings;

use crate::exit::{CliError, CliResult};
use crate::secrets::SharedSecrets;

/// A source that cannot be built is a configuration error (exit code 2);
/// the message names the key.
fn refused(e: BuildError) -> CliError {
    CliError::config(e.to_string())
}

/// The source of `[ams]` and the credential service of `[auth]`, built by
/// the AMS factory (which refuses the kinds this version does not run);
/// their secrets go to `secrets`, every call goes to `observer`.
pub fn sources(
    cfg: &Config,
    env: &dyn Environment,
    secrets: &mut SharedSecrets,
    observer: Option<Arc<dyn CallObserver>>,
) -> CliResult<Sources> {
    amsync_ams::build(&cfg.ams, &cfg.auth, &mut secrets.resolving(env), observer).map_err(refused)
}

/// The source of `[ams]` alone (a command that only probes the AMS).
pub fn source(cfg: &Config, env: &dyn Environment, secrets: &mut SharedSecrets) -> CliResult<Arc<dyn AmsSource>> {
    amsync_ams::build_source(&cfg.ams, &mut secrets.resolving(env), None).map_err(refused)
}

/// An engine whose quarantine window hears every call of the source (and
/// of the credential service when it is the source's own), with both.
pub fn engine(
    cfg: &Config,
    env: &dyn Environment,
    store: Arc<dyn Store>,
    settings: SyncSettings,
    secrets: &mut SharedSecrets,
) -> CliResult<(Arc<Engine>, Sources)> {
    let monitor = QuarantineMonitor::new(settings.quarantine.clone());
    let sources = sources(cfg, env, secrets, Some(monitor.clone()))?;
    let engine = Engine::with_monitor(store, sources.source.clone(), settings, monitor);
    Ok((engine, sources))
}

/// `[thresholds]` as the store holds changes against them.
pub fn thresholds(cfg: &Config) -> Thresholds {
    let t = &cfg.thresholds;
    Thresholds {
        max_disables: u64::from(t.max_disables),
        max_disable_share: t.max_disable_share,
        max_membership_removal_share: t.max_membership_removal_share,
        window: t.window,
    }
}

/// `[quarantine]` as the engine judges its source by it.
pub fn quarantine(cfg: &Config) -> QuarantineSettings {
    let q = &cfg.quarantine;
    QuarantineSettings {
        failure_share: q.failure_share,
        min_calls: u64::from(q.min_calls),
        window: q.window,
        poll_floor: q.poll_floor,
        recover_probes: q.recover_probes,
    }
}

pub fn schedule(c: &Cadence) -> Schedule {
    match c {
        Cadence::Every(d) => Schedule::Interval(*d),
        Cadence::Cron(c) => Schedule::Cron(Box::new(c.schedule().clone())),
    }
}

/// The engine's settings for a node of `role`.
pub fn sync_settings(cfg: &Config, role: &str) -> SyncSettings {
    let defaults = SyncSettings::default();
    let lease = cfg.member_refresh.lease;
    SyncSettings {
        role: role.to_string(),
        periodic: schedule(&cfg.periodic_refresh.cadence),
        overlap: cfg.periodic_refresh.overlap,
        events: Schedule::Interval(cfg.events.interval),
        workers: cfg.refresh_workers() as usize,
        retry: cfg.member_refresh.retry_policy(),
        lease,
        probe_interval: cfg.quarantine.poll_floor.min(Duration::from_secs(60)),
        rescue_interval: (lease / 2).max(Duration::from_millis(100)),
        quarantine: quarantine(cfg),
        max_pages: cfg.ams.max_pages,
        ..defaults
    }
}

pub fn web_settings(cfg: &Config) -> WebSettings {
    WebSettings {
        timezone: cfg.communities.timezone,
        max_body: cfg.web.limits.max_body as usize,
        periodic: schedule(&cfg.periodic_refresh.cadence),
        events: Schedule::Interval(cfg.events.interval),
        secure_cookies: cfg.web.public_url.scheme() == "https",
        admin_session_lifetime: cfg.sessions.lifetime,
        admin_session_idle: cfg.sessions.idle_timeout,
        ..WebSettings::default()
    }
}
