//! [`NodeBuilder`]: from a configuration to a built node, nothing running.

use std::sync::Arc;

use amsync_config::{Config, Environment};
use amsync_web::sso::TokenResolver;
use amsync_web::AppState;

use super::{database, open_node_store, readiness, Node, NodeSettings, Role, Web, WORKER_NEEDS_A_SHARED_DATABASE};
use crate::exit::{CliError, CliResult};
use crate::secrets::{LiveSecrets, SharedSecrets};
use crate::{wiring, wiring_sso};

/// How a node is built: [`Node::builder`], then [`NodeBuilder::build`].
pub struct NodeBuilder<'a> {
    cfg: &'a Config,
    env: &'a dyn Environment,
    role: Role,
    listener: Option<tokio::net::TcpListener>,
    tune: Option<Tune<'a>>,
}

/// A change to a node's settings before it is built ([`NodeBuilder::tune`]).
type Tune<'a> = Box<dyn FnOnce(&mut NodeSettings) + Send + 'a>;

impl<'a> NodeBuilder<'a> {
    pub(super) fn new(cfg: &'a Config, env: &'a dyn Environment, role: Role) -> NodeBuilder<'a> {
        NodeBuilder { cfg, env, role, listener: None, tune: None }
    }

    /// Serves on `listener` instead of binding `web.listen` (the demo binds
    /// first to know its address; a test to know its URL before the build).
    pub fn listener(mut self, listener: tokio::net::TcpListener) -> NodeBuilder<'a> {
        self.listener = Some(listener);
        self
    }

    /// Changes the settings derived from the configuration before anything
    /// is built from them. For tests: what the configuration has no key for,
    /// or refuses below a floor (a 20 ms idle poll, a 200 ms lease rescue,
    /// the scheduler off so a test drives its own polls, a throttle's first
    /// delay, sign-on's timeouts).
    pub fn tune(mut self, tune: impl FnOnce(&mut NodeSettings) + Send + 'a) -> NodeBuilder<'a> {
        self.tune = Some(Box::new(tune));
        self
    }

    /// Opens the store, builds source, engine, credential service,
    /// sign-on, secrets and web state, and binds the web listener. Nothing
    /// runs until [`Node::start`].
    pub async fn build(self) -> CliResult<Node> {
        let NodeBuilder { cfg, env, role, listener, tune } = self;
        let database = database(cfg, env)?;
        if role == Role::Worker && !database.serves_many_nodes() {
            return Err(CliError::config(WORKER_NEEDS_A_SHARED_DATABASE));
        }
        if role.serves_web() {
            cfg.validate_for_serve(env)?;
        }
        let mut settings = NodeSettings::from_config(cfg, role);
        if let Some(tune) = tune {
            tune(&mut settings);
        }
        let listener = match (role.serves_web(), listener) {
            (false, _) => None,
            (true, Some(l)) => Some(l),
            (true, None) => Some(
                tokio::net::TcpListener::bind(cfg.web.listen)
                    .await
                    .map_err(|e| CliError::config(format!("web.listen: cannot listen on {}: {e}", cfg.web.listen)))?,
            ),
        };
        // Before anything emits a metric.
        amsync_web::metrics::install();
        let store = open_node_store(cfg, database.as_ref(), settings.thresholds).await?;
        let mut shared = SharedSecrets::default();
        let (engine, sources) = wiring::engine(cfg, env, store.clone().as_store(), settings.sync.clone(), &mut shared)?;
        let retention = (crate::retention::policy(cfg), cfg.retention.interval);
        let Some(listener) = listener else {
            let secrets = Arc::new(LiveSecrets::without_tokens(cfg, env, shared)?);
            return Ok(Node::new(role, settings, store, engine, None, secrets, retention));
        };
        let credentials = sources.credentials;
        let sign_on = wiring_sso::sign_on(
            cfg,
            env,
            settings.sign_on.clone(),
            settings.throttle.clone(),
            credentials,
            &mut shared,
        )
        .await?;
        let mut secrets = LiveSecrets::load(cfg, env, shared)?;
        if let Some(TokenResolver::Psk(verifier)) = &sign_on.resolver {
            secrets.attach_verifier(verifier.clone());
        }
        let secrets = Arc::new(secrets);
        let state = AppState {
            store: store.clone().as_store(),
            engine: engine.clone(),
            tokens: secrets.tokens(),
            settings: Arc::new(settings.web.clone()),
            access: Arc::new(amsync_web::access_cache::AccessCache::new()),
            sign_on: Arc::new(sign_on),
            readiness: readiness(&store),
        };
        let web = Web { addr: listener.local_addr()?, state, listener: Some(listener.into_std()?) };
        Ok(Node::new(role, settings, store, engine, Some(web), secrets, retention))
    }
}
