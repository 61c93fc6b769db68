//! One module per subcommand, and what they share: loading the config,
//! opening the store, building the engine and the web state.

mod bench;
mod bench_access;
mod bench_dashboard;
mod bench_fetch;
mod bench_rules;
mod check;
mod demo;
mod demo_showcase;
mod init;
mod maintenance;
mod refresh;
mod serve;
mod sim;
mod sso;
mod status;

use std::sync::Arc;

use amsync_config::{Config, Environment, ProcessEnv};
use amsync_store::sqlite::{SqliteOptions, SqliteStore};
use amsync_store::{GroupStore, LocalGroupSeed, SafetyStore, SettingsStore, Store};

use crate::args::Command;
use crate::exit::{CliError, CliResult};
use crate::logging::{self, Audience};

/// Runs `command`; `verbose` is the global `--verbose`.
pub async fn run(command: Command, verbose: bool) -> CliResult<()> {
    let person = Audience::Person { verbose };
    match command {
        Command::Init { out, force } => init::run(&out, force),
        Command::Demo(args) => demo::run(args).await,
        Command::Serve(c) => serve::run(&c.config, "serve").await,
        Command::Worker(c) => serve::run_worker(&c.config).await,
        Command::Refresh(args) => refresh::run(args, person).await,
        Command::Status { config, json } => status::run(&config.config, json, person).await,
        Command::Migrate(c) => maintenance::migrate(&c.config, person),
        Command::Check(c) => check::run(&c.config, person).await,
        Command::Backup { config, out } => maintenance::backup(&config.config, &out, person),
        Command::SimAms(args) => sim::run(args).await,
        Command::Sso { which: crate::args::SsoCommand::MintToken { config, member, kid, ttl_s } } => {
            let ttl = std::time::Duration::from_secs(ttl_s);
            sso::mint_token(&config.config, &member, kid.as_deref(), ttl, person)
        }
        Command::Bench { which: crate::args::BenchCommand::Login(args) } => sso::bench_login(args).await,
        Command::Bench { which } => bench::run(which).await,
    }
}

/// Loads and validates the config file, then starts logging as it says,
/// for a service (`serve`, `worker`).
pub fn load_config(path: &std::path::Path) -> CliResult<Config> {
    load_config_for(path, Audience::Service)
}

/// [`load_config`] for a command whose standard error `audience` reads:
/// the level is `log.level` when the file (or an override) writes it,
/// else the audience's own.
pub fn load_config_for(path: &std::path::Path, audience: Audience) -> CliResult<Config> {
    let cfg = Config::load(path)?;
    let format = match cfg.log.format {
        amsync_config::LogFormat::Json => logging::LogFormat::Json,
        amsync_config::LogFormat::Text => logging::LogFormat::Text,
    };
    logging::init(format, audience.level(cfg.log.level.as_deref()));
    Ok(cfg)
}

/// The SQLite options of `database.url`; another kind of database is
/// refused with the key named.
pub fn sqlite_options(cfg: &Config, env: &dyn Environment) -> CliResult<SqliteOptions> {
    use secrecy::ExposeSecret;
    let url = cfg.database_url(env)?;
    let url = url.expose_secret();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Err(CliError::config("database.url: PostgreSQL is not available in this version; use sqlite://FILE"));
    }
    let mut opts = SqliteOptions::from_url(url).map_err(|e| CliError::config(format!("database.url: {e}")))?;
    opts.auto_migrate = cfg.database.auto_migrate;
    Ok(opts)
}

/// Opens the store, gives it `[thresholds]`, and seeds settings from the
/// file on first start.
pub async fn open_store(cfg: &Config, env: &dyn Environment) -> CliResult<Arc<SqliteStore>> {
    let opts = sqlite_options(cfg, env)?;
    let store = SqliteStore::open(opts)?;
    store.set_thresholds(crate::wiring::thresholds(cfg));
    let seeded = store.seed_settings(&cfg.communities.rule_set(), &cfg.security_groups.is_member).await?;
    if seeded {
        tracing::info!("settings seeded from the config file (the database is authoritative from now on)");
    }
    let locals: Vec<LocalGroupSeed> =
        cfg.security_groups.local.iter().map(|g| LocalGroupSeed { key: g.key.clone(), name: g.name.clone() }).collect();
    let created = store.seed_local_groups(&locals).await?;
    if created > 0 {
        tracing::info!(created, "local groups seeded from the config file");
    }
    Ok(store)
}

/// The process environment, with some variables set by amsync itself (the
/// demo's generated secrets) taking precedence.
pub struct LayeredEnv {
    pub own: std::collections::HashMap<String, String>,
}

impl Environment for LayeredEnv {
    fn var(&self, name: &str) -> Result<String, std::env::VarError> {
        match self.own.get(name) {
            Some(v) => Ok(v.clone()),
            None => ProcessEnv.var(name),
        }
    }
}

/// Where the readiness check of `/readyz` reads the schema status.
pub fn readiness(store: &Arc<SqliteStore>) -> amsync_web::Readiness {
    let store = store.clone();
    Arc::new(move || {
        let store = store.clone();
        Box::pin(async move {
            let s = store.pending_migrations().await.map_err(|e| e.to_string())?;
            if s.is_current() {
                Ok(())
            } else {
                Err(format!("schema version {} of {}; pending: {:?}", s.current, s.latest, s.pending))
            }
        })
    })
}

/// Waits for Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutting down");
}

/// Store as the trait object the engine and web take.
pub fn dyn_store(store: &Arc<SqliteStore>) -> Arc<dyn Store> {
    store.clone()
}
