//! `amsync serve`: scheduler, workers, web server and the retention task
//! in one process, reloading its `*_file` secrets on SIGHUP, every
//! long-lived task under the supervisor (`amsync_sync::supervise`); and
//! `amsync worker`, which needs a shared database.

use std::path::Path;
use std::sync::Arc;

use amsync_config::{Config, Environment, ProcessEnv};
use amsync_store::sqlite::SqliteStore;
use amsync_web::AppState;
use tokio_util::sync::CancellationToken;

use amsync_sync::{Supervisor, TaskName};
use tokio::task::JoinHandle;

use super::{dyn_store, load_config, open_store, readiness, shutdown_signal};
use crate::exit::{CliError, CliResult};
use crate::secrets::{LiveSecrets, SharedSecrets};
use crate::wiring;

pub async fn run(config: &Path, role: &str) -> CliResult<()> {
    let cfg = load_config(config)?;
    cfg.validate_for_serve(&ProcessEnv)?;
    // Listening before anything can answer, so that a SIGHUP sent as soon
    // as the node is ready reloads instead of ending the process.
    let hangups = hangup_signals();
    let mut node = Node::start(&cfg, &ProcessEnv, role).await?;
    node.reload_secrets_on(hangups);
    tracing::info!(listen = %node.addr, "amsync is serving");
    shutdown_signal().await;
    node.stop().await;
    Ok(())
}

#[cfg(unix)]
type Hangups = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangups = Option<()>;

/// SIGHUP: reload the `*_file` secrets. `None` where it cannot be heard.
fn hangup_signals() -> Hangups {
    #[cfg(unix)]
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP; secrets reload only with a restart");
            None
        }
    }
    #[cfg(not(unix))]
    None
}

pub async fn run_worker(config: &Path) -> CliResult<()> {
    let _ = load_config(config)?;
    Err(CliError::config(
        "amsync worker adds nodes on a shared PostgreSQL database; with SQLite, `amsync serve` runs the workers",
    ))
}

/// A running node: engine, web server and the retention task, each
/// long-lived task under the engine's supervisor.
pub struct Node {
    pub addr: std::net::SocketAddr,
    pub store: Arc<SqliteStore>,
    /// The secrets SIGHUP reloads.
    pub secrets: Arc<LiveSecrets>,
    /// Restarts the node's long-lived tasks when they fail.
    pub supervisor: Arc<Supervisor>,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
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
        let mut shared = SharedSecrets::default();
        let (engine, sources) = wiring::engine(cfg, env, dyn_store(&store), role, &mut shared)?;
        let sign_on = crate::wiring_sso::sign_on(cfg, env, sources.credentials, &mut shared).await?;
        let mut secrets = LiveSecrets::load(cfg, env, shared)?;
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
        let supervisor = engine.supervisor().clone();
        let mut tasks = Vec::new();
        {
            // The engine supervises its own tasks; this one only waits for them.
            let engine = engine.clone();
            let stop = stop.clone();
            tasks.push(tokio::spawn(async move {
                if let Err(e) = engine.run(stop).await {
                    tracing::error!(error = %e, "the engine stopped");
                }
            }));
        }
        {
            let (store, policy, every) = (dyn_store(&store), crate::retention::policy(cfg), cfg.retention.interval);
            let token = stop.clone();
            tasks.push(supervisor.spawn(TaskName::Retention, stop.clone(), move || {
                crate::retention::run(store.clone(), policy, every, token.clone())
            }));
        }
        tasks.push(web_server(&supervisor, listener.into_std()?, state, &stop));
        Ok(Node { addr, store, secrets, supervisor, stop, tasks })
    }

    /// Reloads the `*_file` secrets at each SIGHUP, under the supervisor.
    fn reload_secrets_on(&mut self, first: Hangups) {
        let first = std::sync::Mutex::new(first);
        let (secrets, token) = (self.secrets.clone(), self.stop.clone());
        self.tasks.push(self.supervisor.spawn(TaskName::SecretReload, self.stop.clone(), move || {
            // The stream made before the start, then a new one per restart.
            let hangups = first.lock().unwrap_or_else(|e| e.into_inner()).take().or_else(hangup_signals);
            reload_on_hangups(hangups, secrets.clone(), token.clone())
        }));
    }

    /// Stops taking work, lets refreshes in flight commit, closes the store.
    pub async fn stop(self) {
        self.stop.cancel();
        for task in self.tasks {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "a task ended abnormally while stopping");
            }
        }
        self.store.shutdown().await;
    }
}

/// The HTTP server under the supervisor: each start listens on a duplicate
/// of the bound socket, so a restart keeps the address (and the
/// connections waiting in its backlog).
fn web_server(
    supervisor: &Arc<Supervisor>,
    listener: std::net::TcpListener,
    state: AppState,
    stop: &CancellationToken,
) -> JoinHandle<()> {
    let listener = Arc::new(listener);
    let token = stop.clone();
    supervisor.spawn(TaskName::WebServer, stop.clone(), move || {
        let (listener, state, stop) = (listener.clone(), state.clone(), token.clone());
        async move {
            let listener = match listener.try_clone().and_then(tokio::net::TcpListener::from_std) {
                Ok(l) => l,
                Err(e) => return tracing::error!(error = %e, "the web server cannot use its socket"),
            };
            if let Err(e) = amsync_web::serve(listener, state, stop).await {
                tracing::error!(error = %e, "the web server stopped");
            }
        }
    })
}

/// Reloads the secrets at each SIGHUP until `stop`.
async fn reload_on_hangups(hangups: Hangups, secrets: Arc<LiveSecrets>, stop: CancellationToken) {
    #[cfg(unix)]
    if let Some(mut hangups) = hangups {
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                signal = hangups.recv() => match signal {
                    Some(()) => {
                        tracing::info!("SIGHUP: reloading secrets");
                        secrets.reload(&ProcessEnv);
                    }
                    None => return,
                },
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (hangups, secrets);
    // Nothing to listen to: wait for the stop (ending early would count as a failure).
    stop.cancelled().await;
}
