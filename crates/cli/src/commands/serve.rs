//! `amsync serve`: scheduler, workers, web server and the retention task
//! in one process, reloading its `*_file` secrets on SIGHUP; and `amsync
//! worker`, which needs a shared database.

use std::path::Path;
use std::sync::Arc;

use amsync_config::{Config, Environment, ProcessEnv};
use amsync_store::sqlite::SqliteStore;
use amsync_web::AppState;
use tokio_util::sync::CancellationToken;

use super::{dyn_store, load_config, open_store, readiness, shutdown_signal};
use crate::exit::{CliError, CliResult};
use crate::secrets::LiveSecrets;
use crate::wiring;

pub async fn run(config: &Path, role: &str) -> CliResult<()> {
    let cfg = load_config(config)?;
    cfg.validate_for_serve(&ProcessEnv)?;
    let node = Node::start(&cfg, &ProcessEnv, role).await?;
    tracing::info!(listen = %node.addr, "amsync is serving");
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    let mut hangups = hangup_signals();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            Some(()) = hangups.recv() => {
                node.secrets.reload(&ProcessEnv);
            }
        }
    }
    node.stop().await;
    Ok(())
}

/// SIGHUP, one message each: reload the `*_file` secrets.
fn hangup_signals() -> tokio::sync::mpsc::Receiver<()> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    #[cfg(unix)]
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(mut s) => {
            tokio::spawn(async move {
                while s.recv().await.is_some() {
                    tracing::info!("SIGHUP: reloading secrets");
                    // A reload already waiting covers this signal too.
                    let _ = tx.try_send(());
                }
            });
        }
        Err(e) => tracing::warn!(error = %e, "cannot listen for SIGHUP; secrets reload only with a restart"),
    }
    #[cfg(not(unix))]
    drop(tx);
    rx
}

pub async fn run_worker(config: &Path) -> CliResult<()> {
    let _ = load_config(config)?;
    Err(CliError::config(
        "amsync worker adds nodes on a shared PostgreSQL database; with SQLite, `amsync serve` runs the workers",
    ))
}

/// A running node: engine, web server and the retention task.
pub struct Node {
    pub addr: std::net::SocketAddr,
    pub store: Arc<SqliteStore>,
    /// The secrets SIGHUP reloads.
    pub secrets: Arc<LiveSecrets>,
    stop: CancellationToken,
    tasks: tokio::task::JoinSet<()>,
}

impl Node {
    /// Opens the store, builds source and engine, binds the web listener
    /// (`cfg.web.listen`) and starts everything.
    pub async fn start(cfg: &Config, env: &dyn Environment, role: &str) -> CliResult<Node> {
        let listener = tokio::net::TcpListener::bind(cfg.web.listen)
            .await
            .map_err(|e| CliError::config(format!("web.listen: cannot listen on {}: {e}", cfg.web.listen)))?;
        Node::start_on(cfg, env, role, listener).await
    }

    pub async fn start_on(
        cfg: &Config,
        env: &dyn Environment,
        role: &str,
        listener: tokio::net::TcpListener,
    ) -> CliResult<Node> {
        let addr = listener.local_addr()?;
        // Before anything emits a metric.
        amsync_web::metrics::install();
        let store = open_store(cfg, env).await?;
        let (engine, source) = wiring::engine(cfg, env, dyn_store(&store), role)?;
        let credentials = wiring::credentials(cfg, env, Some(&source))?;
        let sign_on = crate::wiring_sso::sign_on(cfg, env, credentials).await?;
        let mut secrets = LiveSecrets::load(cfg, env)?;
        if let Some(amsync_web::sso::TokenResolver::Psk(verifier)) = &sign_on.resolver {
            secrets.attach_verifier(verifier.clone());
        }
        let secrets = Arc::new(secrets);
        let state = AppState {
            store: dyn_store(&store),
            engine: engine.clone(),
            tokens: secrets.tokens(),
            settings: Arc::new(wiring::web_settings(cfg)),
            access: Arc::new(amsync_web::access_cache::AccessCache::new()),
            sign_on: Arc::new(sign_on),
            readiness: readiness(&store),
        };
        let stop = CancellationToken::new();
        let mut tasks = tokio::task::JoinSet::new();
        {
            let engine = engine.clone();
            let stop = stop.clone();
            tasks.spawn(async move {
                if let Err(e) = engine.run(stop).await {
                    tracing::error!(error = %e, "the engine stopped");
                }
            });
        }
        tasks.spawn(crate::retention::run(
            dyn_store(&store),
            crate::retention::policy(cfg),
            cfg.retention.interval,
            stop.clone(),
        ));
        {
            let stop = stop.clone();
            tasks.spawn(async move {
                if let Err(e) = amsync_web::serve(listener, state, stop).await {
                    tracing::error!(error = %e, "the web server stopped");
                }
            });
        }
        Ok(Node { addr, store, secrets, stop, tasks })
    }

    /// Stops taking work, lets refreshes in flight commit, closes the store.
    pub async fn stop(mut self) {
        self.stop.cancel();
        while self.tasks.join_next().await.is_some() {}
        self.store.shutdown().await;
    }
}
