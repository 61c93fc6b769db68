//! `amsync serve`: scheduler, workers, web server and the retention task
//! in one process, reloading its `*_file` secrets on SIGHUP, every
//! long-lived task under the supervisor (`amsync_sync::supervise`); and
//! `amsync worker`, the queue's workers only, which needs a database that
//! serves many nodes (the node builder refuses it on SQLite). Both are a
//! node of `crate::node`, run until SIGINT or SIGTERM.

use std::path::Path;

use amsync_config::ProcessEnv;

use super::load_config;
use crate::exit::CliResult;
use crate::node::{Node, Role, Signals};

pub async fn run(config: &Path) -> CliResult<()> {
    let cfg = load_config(config)?;
    // Before the node binds or serves anything: a signal that comes while
    // it starts stops it cleanly instead of killing the process.
    let signals = Signals::listen();
    let node = Node::build(&cfg, &ProcessEnv, Role::Serve).await?;
    node.run(signals, |node| {
        let listen = node.addr().map(|a| a.to_string()).unwrap_or_default();
        tracing::info!(listen = %listen, "amsync is serving");
    })
    .await
}

pub async fn run_worker(config: &Path) -> CliResult<()> {
    let cfg = load_config(config)?;
    let signals = Signals::listen();
    let node = Node::build(&cfg, &ProcessEnv, Role::Worker).await?;
    node.run(signals, |_| tracing::info!("amsync is working the queue")).await
}
