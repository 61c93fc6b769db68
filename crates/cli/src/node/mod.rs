//! One place builds a node. `amsync serve`, `worker`, `demo` and `refresh`
//! and the integration tests' app all go through [`Node::builder`]: from a
//! [`Config`] and an environment (where secrets are read) to the store,
//! the source, the engine, the credential service, sign-on, the secrets a
//! SIGHUP reloads, the web state and the supervised tasks of its [`Role`].
//! So what a test exercises is what production runs; a test differs only
//! by its configuration (a listener on 127.0.0.1:0, short leases) and by
//! the settings it changes through [`NodeBuilder::tune`].
//!
//! The life of a node: [`NodeBuilder::build`] (the database opened, the
//! listener bound, nothing running), [`Node::start`] (its tasks spawned),
//! [`Node::stop`] (tasks stopped, refreshes in flight committed, the store
//! closed). A command runs it with [`Node::run`], between [`Signals`] made
//! before the build and SIGINT/SIGTERM.

mod build;
pub mod service_manager;
mod settings;
mod signals;
mod store;
mod tasks;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use amsync_config::{Config, Environment};
use amsync_store::{Store, StoreHandle};
use amsync_sync::{Engine, Supervisor, TaskName};
use amsync_web::AppState;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use build::NodeBuilder;
pub use settings::{EngineLoops, NodeSettings, Role};
pub use signals::Signals;
pub use store::{database, open_node_store, readiness};

use crate::exit::CliResult;
use crate::secrets::LiveSecrets;

/// What `amsync worker` says on a database only one machine uses.
pub const WORKER_NEEDS_A_SHARED_DATABASE: &str =
    "amsync worker adds nodes on a shared PostgreSQL database; with SQLite, `amsync serve` runs the workers";

/// The HTTP side of a node that serves it.
pub struct Web {
    /// Where it listens (the port chosen when `web.listen` has port 0).
    pub addr: SocketAddr,
    /// What every handler reaches: the router serves it.
    pub state: AppState,
    /// Bound at build, served from [`Node::start`].
    listener: Option<std::net::TcpListener>,
}

/// A built node and, once started, its running tasks.
pub struct Node {
    pub role: Role,
    /// The settings it was built with.
    pub settings: NodeSettings,
    pub store: Arc<dyn StoreHandle>,
    pub engine: Arc<Engine>,
    /// The web side (`None` for a role that serves no HTTP).
    pub web: Option<Web>,
    /// The secrets a SIGHUP reloads.
    pub secrets: Arc<LiveSecrets>,
    /// Restarts the node's long-lived tasks when they fail.
    pub supervisor: Arc<Supervisor>,
    retention: (amsync_store::RetentionPolicy, std::time::Duration),
    started: bool,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Node {
    /// A built node, nothing started.
    pub(crate) fn new(
        role: Role,
        settings: NodeSettings,
        store: Arc<dyn StoreHandle>,
        engine: Arc<Engine>,
        web: Option<Web>,
        secrets: Arc<LiveSecrets>,
        retention: (amsync_store::RetentionPolicy, std::time::Duration),
    ) -> Node {
        let supervisor = engine.supervisor().clone();
        let (started, stop, tasks) = (false, CancellationToken::new(), Vec::new());
        Node { role, settings, store, engine, web, secrets, supervisor, retention, started, stop, tasks }
    }

    /// A builder of a node of `role` configured by `cfg`, its secrets read
    /// from `env`.
    pub fn builder<'a>(cfg: &'a Config, env: &'a dyn Environment, role: Role) -> NodeBuilder<'a> {
        NodeBuilder::new(cfg, env, role)
    }

    /// [`Node::builder`] as the configuration says, built.
    pub async fn build(cfg: &Config, env: &dyn Environment, role: Role) -> CliResult<Node> {
        Node::builder(cfg, env, role).build().await
    }

    /// Where the web server listens, if the node serves HTTP.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.web.as_ref().map(|w| w.addr)
    }

    /// The same store as the capability traits.
    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone().as_store()
    }

    /// Starts the node's tasks: the engine's loops its settings name, the
    /// web server, the retention pass. Each long-lived one is supervised.
    /// Once: a second call does nothing.
    pub fn start(&mut self) {
        if std::mem::replace(&mut self.started, true) {
            return;
        }
        let engine = self.engine.clone();
        let stop = self.stop.clone();
        match self.settings.engine_loops {
            EngineLoops::All => self.tasks.push(tokio::spawn(async move {
                // The engine supervises its own loops; this task only waits for them.
                if let Err(e) = engine.run(stop).await {
                    tracing::error!(error = %e, "the engine stopped");
                }
            })),
            EngineLoops::WorkersOnly => self.tasks.push(tokio::spawn(async move {
                if let Err(e) = engine.run_workers_only(stop).await {
                    tracing::error!(error = %e, "the engine stopped");
                }
            })),
            EngineLoops::None => {}
        }
        if self.role.prunes() {
            let (policy, every) = self.retention;
            self.tasks.push(tasks::retention(&self.supervisor, self.store(), policy, every, &self.stop));
        }
        if let Some(web) = &mut self.web {
            if let Some(listener) = web.listener.take() {
                self.tasks.push(tasks::web_server(&self.supervisor, listener, web.state.clone(), &self.stop));
            }
        }
    }

    /// Runs the node until SIGINT or SIGTERM: reloads its secrets at each
    /// SIGHUP, starts it, calls `ready` (what the command prints, the
    /// demo's own tasks), tells systemd it is ready ([`service_manager`]),
    /// then stops it. `signals` were made before the
    /// node was built, so a signal sent while it starts is not lost.
    pub async fn run(mut self, mut signals: Signals, ready: impl FnOnce(&mut Node)) -> CliResult<()> {
        let hangups = signals.take_hangups();
        self.tasks.push(tasks::secret_reload(&self.supervisor, hangups, self.secrets.clone(), &self.stop));
        self.start();
        ready(&mut self);
        service_manager::ready(&format!("amsync {} is running", self.role.as_str()));
        signals.stop_requested().await;
        service_manager::stopping();
        self.stop().await;
        Ok(())
    }

    /// Runs `factory()`'s task under the supervisor until the node stops;
    /// the task watches [`Node::stop_token`] itself.
    pub fn supervise<F, Fut>(&mut self, name: TaskName, factory: F)
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.tasks.push(self.supervisor.spawn(name, self.stop.clone(), factory));
    }

    /// Runs `work` once, cut short when the node stops.
    pub fn spawn_until_stopped(&mut self, work: impl Future<Output = ()> + Send + 'static) {
        let stop = self.stop.clone();
        self.tasks.push(tokio::spawn(async move {
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = work => {}
            }
        }));
    }

    /// Cancelled when the node stops.
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Stops taking work, lets refreshes in flight commit, waits for every
    /// task, closes the store.
    pub async fn stop(mut self) {
        self.stop.cancel();
        for task in std::mem::take(&mut self.tasks) {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "a task ended abnormally while stopping");
            }
        }
        self.store.clone().close().await;
        tracing::info!(role = self.role.as_str(), "amsync stopped");
    }
}

impl Drop for Node {
    /// A node dropped without [`Node::stop`] (a test that ends early) still
    /// tells its tasks to stop; they end at their next look at the token.
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
