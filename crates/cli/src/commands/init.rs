//! `amsync init`: writes the commented config to start from.

use std::path::Path;

use crate::exit::{CliError, CliResult};

pub fn run(out: &Path, force: bool) -> CliResult<()> {
    if out.exists() && !force {
        return Err(CliError::config(format!("{} exists; pass --force to overwrite it", out.display())));
    }
    std::fs::write(out, amsync_config::TEMPLATE)?;
    println!("Wrote {}. Edit it, set the secrets it names in the environment, then run:", out.display());
    println!("  amsync check --config {}", out.display());
    println!("  amsync serve --config {}", out.display());
    Ok(())
}
