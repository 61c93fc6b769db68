//! One module per subcommand, and what they share: loading the config and
//! starting logging as it says. A command that runs a node builds it with
//! `crate::node` (the one place a node is built); one that only looks at
//! the database goes through the store handle (`crate::node::database`).

mod bench;
mod bench_access;
mod bench_dashboard;
mod bench_fetch;
mod bench_rules;
mod check;
mod check_services;
mod check_source;
mod demo;
mod demo_showcase;
mod init;
mod maintenance;
pub mod manuals;
mod refresh;
mod serve;
mod sim;
mod sso;
mod status;

use std::sync::Arc;

use amsync_config::{Config, Environment, ProcessEnv};
use amsync_store::sqlite::SqliteStore;
use amsync_store::Store;

use crate::args::Command;
use crate::exit::CliResult;
use crate::logging::{self, Audience};

/// Runs `command`; `verbose` is the global `--verbose`.
pub async fn run(command: Command, verbose: bool) -> CliResult<()> {
    let person = Audience::Person { verbose };
    match command {
        Command::Init { out, force } => init::run(&out, force),
        Command::Demo(args) => demo::run(args).await,
        Command::Serve(c) => serve::run(&c.config).await,
        Command::Worker(c) => serve::run_worker(&c.config).await,
        Command::Refresh(args) => refresh::run(args, person).await,
        Command::Status { config, json } => status::run(&config.config, json, person).await,
        Command::Migrate(c) => maintenance::migrate(&c.config, person).await,
        Command::Check(c) => check::run(&c.config, person).await,
        Command::Backup { config, out } => maintenance::backup(&config.config, &out, person).await,
        Command::SimAms(args) => sim::run(args).await,
        Command::Sso { which: crate::args::SsoCommand::MintToken { config, member, kid, ttl_s } } => {
            let ttl = std::time::Duration::from_secs(ttl_s);
            sso::mint_token(&config.config, &member, kid.as_deref(), ttl, person)
        }
        Command::Bench { which: crate::args::BenchCommand::Login(args) } => sso::bench_login(args).await,
        Command::Bench { which } => bench::run(which).await,
        Command::Completions { shell } => manuals::completions(shell),
        Command::Manpages { out } => manuals::manpages(&out),
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

/// Store as the trait object the engine and web take (for the benchmarks,
/// which build their own engines on a SQLite store).
pub fn dyn_store(store: &Arc<SqliteStore>) -> Arc<dyn Store> {
    store.clone()
}
