//! A node's settings, all derived from the [`Config`] by one function, and
//! what a node of each [`Role`] runs. The node builder takes them from
//! here; a test may change them before the node is built
//! (`NodeBuilder::tune`), which is the only way a test's node differs from
//! production's.

use amsync_config::Config;
use amsync_core::safety::Thresholds;
use amsync_sso::ThrottleSettings;
use amsync_sync::SyncSettings;
use amsync_web::sso::SignOnSettings;
use amsync_web::WebSettings;

use crate::{wiring, wiring_sso};

/// What a node is for: its heartbeat's role and what it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `amsync serve`: the scheduler, the workers, the web server and the
    /// retention task.
    Serve,
    /// `amsync worker`: the queue's workers only, beside `serve` nodes on
    /// a database that serves many nodes (PostgreSQL).
    Worker,
    /// `amsync demo`: as `serve`, against the built-in simulated AMS.
    Demo,
    /// `amsync refresh`: store and engine only; the command drives them.
    Refresh,
}

impl Role {
    /// The role in heartbeats and `amsync status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Serve => "serve",
            Role::Worker => "worker",
            Role::Demo => "demo",
            Role::Refresh => "refresh",
        }
    }

    /// Whether the node listens on `web.listen` (API, dashboard, sign-on).
    pub fn serves_web(self) -> bool {
        matches!(self, Role::Serve | Role::Demo)
    }

    /// The engine's loops the node runs in the background.
    pub fn engine_loops(self) -> EngineLoops {
        match self {
            Role::Serve | Role::Demo => EngineLoops::All,
            Role::Worker => EngineLoops::WorkersOnly,
            Role::Refresh => EngineLoops::None,
        }
    }

    /// Whether the node prunes by `[retention]` (idempotent, so any
    /// long-running node may).
    pub fn prunes(self) -> bool {
        !matches!(self, Role::Refresh)
    }
}

/// Which of the engine's loops run in the background.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineLoops {
    /// Periodic poll, events sync, workers, upkeep, reachability probe.
    All,
    /// Workers and upkeep: what `amsync worker` runs, and the polls are
    /// left to whoever asks for them (a test drives its own).
    WorkersOnly,
    /// Nothing in the background (`amsync refresh` works the queue itself).
    None,
}

/// Everything a node is built with that comes from the configuration.
#[derive(Debug, Clone)]
pub struct NodeSettings {
    /// The engine's (its role is the node's).
    pub sync: SyncSettings,
    /// What the engine runs in the background.
    pub engine_loops: EngineLoops,
    /// `[thresholds]`, given to the store at open.
    pub thresholds: Thresholds,
    /// The HTTP layer's.
    pub web: WebSettings,
    /// Sign-on's, from `[sso]`, `[sessions]` and `[web]`.
    pub sign_on: SignOnSettings,
    /// `sso.throttle`.
    pub throttle: ThrottleSettings,
}

impl NodeSettings {
    /// The settings of a node of `role` configured by `cfg`.
    pub fn from_config(cfg: &Config, role: Role) -> NodeSettings {
        NodeSettings {
            sync: wiring::sync_settings(cfg, role.as_str()),
            engine_loops: role.engine_loops(),
            thresholds: wiring::thresholds(cfg),
            web: wiring::web_settings(cfg),
            sign_on: wiring_sso::sign_on_settings(cfg),
            throttle: wiring_sso::throttle(cfg),
        }
    }
}
