//! `amsync migrate` and `amsync backup`.

use std::path::Path;

use amsync_config::ProcessEnv;
use amsync_store::sqlite::SqliteStore;

use super::{load_config_for, sqlite_options};
use crate::exit::CliResult;
use crate::logging::Audience;

pub fn migrate(config: &Path, audience: Audience) -> CliResult<()> {
    let cfg = load_config_for(config, audience)?;
    let opts = sqlite_options(&cfg, &ProcessEnv)?;
    let applied = SqliteStore::migrate(&opts.path)?;
    if applied.is_empty() {
        println!("The database schema is current.");
    } else {
        println!("Applied migrations {applied:?}.");
    }
    Ok(())
}

pub fn backup(config: &Path, out: &Path, audience: Audience) -> CliResult<()> {
    let cfg = load_config_for(config, audience)?;
    let opts = sqlite_options(&cfg, &ProcessEnv)?;
    SqliteStore::backup_file(&opts.path, out)?;
    println!("Backed up {} to {}.", opts.path.display(), out.display());
    Ok(())
}
