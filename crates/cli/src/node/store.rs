//! The database of `database.url`, through the store handle
//! (`amsync_store::handle`): which backend, opening it as a node's store,
//! and seeding its settings from the file on the first start.

use std::sync::Arc;

use amsync_config::{Config, Environment};
use amsync_core::safety::Thresholds;
use amsync_store::{Database, LocalGroupSeed, OpenOptions, StoreHandle};

use crate::exit::{CliError, CliResult};

/// The database `database.url` names; PostgreSQL (whose store exists, but
/// a node does not run end to end on it yet: issue 14) or a malformed URL
/// is refused naming the key (exit 2).
pub fn database(cfg: &Config, env: &dyn Environment) -> CliResult<Box<dyn Database>> {
    use secrecy::ExposeSecret;
    let url = cfg.database_url(env)?;
    if amsync_store::is_postgres_url(url.expose_secret()) {
        return Err(CliError::config("database.url: PostgreSQL is not available in this version; use sqlite://FILE"));
    }
    amsync_store::database(url.expose_secret()).map_err(|e| CliError::config(format!("database.url: {e}")))
}

/// Opens `database` as a node's store (migrating as `database.auto_migrate`
/// says), gives it `thresholds`, and seeds settings and local groups from
/// the file on the first start.
pub async fn open_node_store(
    cfg: &Config,
    database: &dyn Database,
    thresholds: Thresholds,
) -> CliResult<Arc<dyn StoreHandle>> {
    let store = database.open(OpenOptions::node(cfg.database.auto_migrate)).await?;
    store.set_thresholds(thresholds);
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

/// `/readyz`'s check: the store's own readiness (reachable, migrations current).
pub fn readiness(store: &Arc<dyn StoreHandle>) -> amsync_web::Readiness {
    let store = store.clone();
    Arc::new(move || {
        let store = store.clone();
        Box::pin(async move { store.readiness().await })
    })
}
