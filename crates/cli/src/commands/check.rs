//! `amsync check`: validates the config and reaches every configured
//! service (the database, every method of the AMS source, the credential
//! service, the OpenID Connect provider); reports where the file and the
//! database differ. Any failed probe makes the exit code 1.

use std::path::Path;

use amsync_config::ProcessEnv;
use amsync_store::OpenOptions;

use super::load_config_for;
use crate::exit::{CliError, CliResult};
use crate::logging::Audience;
use crate::{node, wiring};

pub async fn run(config: &Path, audience: Audience) -> CliResult<()> {
    let cfg = load_config_for(config, audience)?;
    println!("ok    config {} is valid", config.display());
    cfg.validate_for_serve(&ProcessEnv)?;
    println!("ok    every secret it names is set");
    let mut failures = 0;

    // The database.
    let database = node::database(&cfg, &ProcessEnv)?;
    match database.schema_status().await {
        Ok(s) if s.is_newer_than_known() => {
            failures += 1;
            println!("FAIL  database schema {} is newer than this binary knows ({})", s.current, s.latest);
        }
        Ok(s) if !s.pending.is_empty() => println!(
            "warn  database {}: migrations {:?} pending (applied at start unless database.auto_migrate = false)",
            cfg.database_url_redacted(&ProcessEnv),
            s.pending
        ),
        Ok(_) => println!("ok    database {} reachable, schema current", cfg.database_url_redacted(&ProcessEnv)),
        Err(e) => {
            failures += 1;
            println!("FAIL  database {}: {e}", cfg.database_url_redacted(&ProcessEnv));
        }
    }

    // File seeds against the database, when the database exists.
    if database.exists().await? {
        if let Ok(store) = database.open(OpenOptions::inspect()).await {
            let rules = store.community_rules().await?;
            if rules != cfg.communities.rule_set() {
                println!("note  communities.rules in the file differ from the database's (the database is used; change it with PUT /api/v1/community-rules)");
            }
            let mut db_is_member = store.is_member_groups().await?;
            let mut file_is_member = cfg.security_groups.is_member.clone();
            db_is_member.sort();
            file_is_member.sort();
            if db_is_member != file_is_member {
                println!("note  security_groups.is_member in the file differs from the database's (the database is used; change it with PUT /api/v1/security-groups)");
            }
            let mut db_local: Vec<(String, Option<String>)> = store
                .security_groups()
                .await?
                .into_iter()
                .filter(|g| g.source == amsync_core::GroupSource::Local)
                .map(|g| (g.key.folded(), g.name))
                .collect();
            let mut file_local: Vec<(String, Option<String>)> =
                cfg.security_groups.local.iter().map(|g| (g.key.folded(), Some(g.name.clone()))).collect();
            db_local.sort();
            file_local.sort();
            if db_local != file_local {
                println!("note  security_groups.local in the file differs from the database's (the database is used; change it with PUT /api/v1/security-groups)");
            }
            store.close().await;
        }
    }

    // The AMS.
    let sources = wiring::sources(&cfg, &ProcessEnv, &mut Default::default(), None)?;
    let source_failures = super::check_source::probe(sources.source.as_ref(), &cfg).await;
    failures += source_failures;
    if source_failures == 0 {
        println!("ok    AMS at {} answers", super::check_source::location(&cfg));
    }
    match &sources.credentials {
        Some(service) => {
            let kind = cfg.credential_service().kind.as_str();
            failures += super::check_services::credentials(service.as_ref(), kind).await;
        }
        None => println!("note  no credential service: sign-in with username and password is off"),
    }
    failures += super::check_services::oidc(&cfg).await?;
    if failures > 0 {
        return Err(CliError::failure(format!("{failures} check(s) failed")));
    }
    println!("All checks passed.");
    Ok(())
}
