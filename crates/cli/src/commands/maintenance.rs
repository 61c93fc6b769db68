//! `amsync migrate` and `amsync backup`, on the database of `database.url`
//! through the store handle, without opening it as a store.

use std::path::Path;

use amsync_config::ProcessEnv;

use super::load_config_for;
use crate::exit::CliResult;
use crate::logging::Audience;
use crate::node;

pub async fn migrate(config: &Path, audience: Audience) -> CliResult<()> {
    let cfg = load_config_for(config, audience)?;
    let database = node::database(&cfg, &ProcessEnv)?;
    let applied = database.migrate().await?;
    if applied.is_empty() {
        println!("The database schema is current.");
    } else {
        println!("Applied migrations {applied:?}.");
    }
    Ok(())
}

pub async fn backup(config: &Path, out: &Path, audience: Audience) -> CliResult<()> {
    let cfg = load_config_for(config, audience)?;
    let database = node::database(&cfg, &ProcessEnv)?;
    database.backup_to_file(out).await?;
    println!("Backed up {} to {}.", database.name(), out.display());
    Ok(())
}
