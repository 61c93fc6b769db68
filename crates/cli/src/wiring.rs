//! From a [`Config`] to running parts: the source (reporting its calls to
//! the quarantine's window), the credential service, the engine's and the
//! web layer's settings, the thresholds. The secrets handed to the source
//! and the credential service are collected in a [`SharedSecrets`], which
//! `serve` keeps to reload them on SIGHUP (the API tokens are in
//! `crate::secrets` too).

use std::sync::Arc;
use std::time::Duration;

use amsync_ams::{AuthConfig as SourceAuth, CredentialService, HttpSource, HttpSourceConfig};
use amsync_config::{Cadence, Config, CredentialKind, Environment, HttpAuth, SourceKind};
use amsync_core::safety::Thresholds;
use amsync_core::Encoding;
use amsync_store::Store;
use amsync_sync::{Engine, QuarantineMonitor, QuarantineSettings, Schedule, SyncSettings};
use amsync_web::WebSettings;

use crate::exit::{CliError, CliResult};
use crate::secrets::{api_key_check, SharedSecrets};

pub const USER_AGENT: &str = concat!("amsync/", env!("CARGO_PKG_VERSION"));

fn source_auth(
    auth: Option<&HttpAuth>,
    at: &str,
    env: &dyn Environment,
    secrets: &mut SharedSecrets,
) -> CliResult<SourceAuth> {
    let Some(auth) = auth else { return Ok(SourceAuth::None) };
    let source = |a: &HttpAuth| a.secret(at).ok_or_else(|| CliError::config(format!("{at}: no secret is configured")));
    Ok(match auth {
        HttpAuth::ApiKey(k) => SourceAuth::ApiKey {
            header: k.header.clone(),
            value: secrets.cell(source(auth)?, env, Some(api_key_check))?,
        },
        HttpAuth::Basic(b) => {
            SourceAuth::Basic { username: b.username.clone(), password: secrets.cell(source(auth)?, env, None)? }
        }
        HttpAuth::Oauth2(o) => SourceAuth::OAuth2 {
            token_url: o.token_url.clone(),
            client_id: o.client_id.clone(),
            client_secret: secrets.cell(source(auth)?, env, None)?,
            scope: o.scope.clone(),
        },
    })
}

fn encoding_of(kind: SourceKind) -> CliResult<Encoding> {
    match kind {
        SourceKind::HttpJson => Ok(Encoding::Json),
        SourceKind::HttpXml => Ok(Encoding::Xml),
        other => Err(CliError::config(format!(
            "ams.kind = \"{}\" is not available in this version; use \"http-json\" or \"http-xml\"",
            other.as_str()
        ))),
    }
}

fn http_version(v: amsync_config::HttpVersion) -> amsync_ams::HttpVersion {
    match v {
        amsync_config::HttpVersion::Auto => amsync_ams::HttpVersion::Auto,
        amsync_config::HttpVersion::Http1 => amsync_ams::HttpVersion::Http1,
        amsync_config::HttpVersion::Http2 => amsync_ams::HttpVersion::Http2,
    }
}

/// The HTTP source of `[ams]`; its secret goes to `secrets`.
pub fn http_source(cfg: &Config, env: &dyn Environment, secrets: &mut SharedSecrets) -> CliResult<HttpSource> {
    let encoding = encoding_of(cfg.ams.kind)?;
    let base_url = cfg.ams.base_url.clone().ok_or_else(|| CliError::config("ams.base_url: required"))?;
    let http = HttpSourceConfig {
        base_url,
        auth: source_auth(cfg.ams.auth.as_ref(), "ams.auth", env, secrets)?,
        timeout: cfg.ams.timeout,
        max_concurrency: cfg.ams.max_concurrency as usize,
        max_rate: cfg.ams.max_rate,
        max_body: cfg.ams.max_body,
        user_agent: USER_AGENT.to_string(),
        http_version: http_version(cfg.ams.http_version),
    };
    HttpSource::new(http, encoding).map_err(|e| CliError::config(format!("ams: {e}")))
}

/// The source of `[ams]` and an engine with `settings` (see
/// [`sync_settings`]) whose quarantine window hears every call the source
/// makes.
pub fn engine(
    cfg: &Config,
    env: &dyn Environment,
    store: Arc<dyn Store>,
    settings: SyncSettings,
    secrets: &mut SharedSecrets,
) -> CliResult<(Arc<Engine>, HttpSource)> {
    let monitor = QuarantineMonitor::new(settings.quarantine.clone());
    let source = http_source(cfg, env, secrets)?.with_observer(monitor.clone());
    let engine = Engine::with_monitor(store, Arc::new(source.clone()), settings, monitor);
    Ok((engine, source))
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

/// The credential service of `[auth]`, when one is configured. When it is the
/// source's own service, it shares the source's client and limits.
pub fn credentials(
    cfg: &Config,
    env: &dyn Environment,
    source: Option<&HttpSource>,
    secrets: &mut SharedSecrets,
) -> CliResult<Option<Arc<dyn CredentialService>>> {
    let service = cfg.credential_service();
    let encoding = match service.kind {
        CredentialKind::None => return Ok(None),
        CredentialKind::HttpJson => Encoding::Json,
        CredentialKind::HttpXml => Encoding::Xml,
        CredentialKind::Soap => {
            return Err(CliError::config("auth.kind = \"soap\" is not available in this version"));
        }
    };
    let same_service = cfg.auth.base_url.is_none() && cfg.auth.auth.is_none();
    if let (true, Some(src)) = (same_service, source) {
        return Ok(Some(Arc::new(src.with_encoding(encoding))));
    }
    let base_url = service.base_url.clone().ok_or_else(|| CliError::config("auth.base_url: required"))?;
    let http = HttpSourceConfig {
        base_url,
        auth: source_auth(service.auth.as_ref(), service.auth_key, env, secrets)?,
        timeout: cfg.ams.timeout,
        max_concurrency: cfg.ams.max_concurrency as usize,
        max_rate: 0,
        max_body: 64 * 1024,
        user_agent: USER_AGENT.to_string(),
        http_version: http_version(cfg.ams.http_version),
    };
    let s = HttpSource::new(http, encoding).map_err(|e| CliError::config(format!("auth: {e}")))?;
    Ok(Some(Arc::new(s)))
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
        workers: cfg.member_refresh.workers as usize,
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
