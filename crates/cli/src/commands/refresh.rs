//! `amsync refresh`: enqueues through the database. Beside a running node
//! (known from its heartbeat) it leaves the work to it; otherwise it works
//! the queue itself until the run is done.
//!
//! First it carries on the runs a stopped process left (an earlier
//! `refresh` killed mid-listing, say; see `amsync_sync::recovery`); with
//! `--all`, an interrupted full refresh it resumed is the run it follows,
//! rather than a second one from the first page.

use std::sync::Arc;
use std::time::Duration;

use amsync_config::ProcessEnv;
use amsync_core::{MemberKey, Trigger};
use amsync_store::{RunId, RunOutcome};
use amsync_sync::{Engine, PollMode};
use chrono::{DateTime, Utc};
use serde_json::json;

use super::load_config_for;
use crate::args::RefreshArgs;
use crate::exit::{CliError, CliResult};
use crate::logging::Audience;
use crate::node::{Node, Role};
use crate::progress::RunProgress;

pub async fn run(args: RefreshArgs, audience: Audience) -> CliResult<()> {
    let what = [!args.member.is_empty(), args.all, args.changed_since.is_some()].iter().filter(|b| **b).count();
    if what != 1 {
        return Err(CliError::config("say what to refresh: --member KEY, --all or --changed-since TIME"));
    }
    let cfg = load_config_for(&args.config.config, audience)?;
    let node = Node::build(&cfg, &ProcessEnv, Role::Refresh).await?;
    let result = refresh(&args, &node).await;
    node.stop().await;
    result
}

/// What to refresh, then following it (working the queue when no node serves).
async fn refresh(args: &RefreshArgs, node: &Node) -> CliResult<()> {
    let (engine, store) = (&node.engine, node.store());
    engine.load_state().await?;

    let mut resumed_full = None;
    for adopted in engine.adopt_interrupted_runs().await? {
        let (id, kind) = (adopted.run.id, adopted.run.kind);
        eprintln!("Run {id} ({kind}) was left by a stopped process: {}.", adopted.note);
        engine.resume_adopted(adopted).await?;
        if kind == Trigger::Full {
            resumed_full = Some(id);
        }
    }

    let run_id = if let (true, Some(id)) = (args.all, resumed_full) {
        eprintln!("Following run {id}, the full refresh it resumed, rather than starting another.");
        id
    } else if !args.member.is_empty() {
        let keys: Vec<MemberKey> = args
            .member
            .iter()
            .map(|k| MemberKey::parse(k.as_str()).map_err(|e| CliError::config(format!("--member {k:?}: {e}"))))
            .collect::<Result<_, _>>()?;
        engine.refresh_keys(&keys, Trigger::Manual, json!({ "keys": keys.len(), "via": "cli" })).await?
    } else {
        let mode = if args.all {
            PollMode::Full
        } else {
            let raw = args.changed_since.as_deref().unwrap_or_default();
            let t = DateTime::parse_from_rfc3339(raw)
                .map_err(|e| CliError::config(format!("--changed-since {raw:?}: not an RFC 3339 time ({e})")))?;
            PollMode::ChangedSince(t.with_timezone(&Utc))
        };
        let report = engine.poll_members(mode).await?;
        eprintln!(
            "Listing done: {} listed, {} enqueued, {} already waiting{}.",
            report.listed,
            report.enqueued,
            report.merged,
            if report.reconciled > 0 {
                format!(", {} missing from the listing enqueued", report.reconciled)
            } else {
                String::new()
            }
        );
        if let Some(e) = report.error {
            return Err(CliError::failure(format!("the listing failed: {e}")));
        }
        report.run_id
    };

    let others = store
        .live_nodes(Utc::now(), Duration::from_secs(15))
        .await?
        .into_iter()
        .filter(|n| n.id != engine.settings().node_id && n.role != "refresh")
        .count();
    if others > 0 {
        eprintln!("Run {run_id} enqueued; a serving node does the work.");
        if args.wait {
            follow(engine, run_id, false).await
        } else {
            Ok(())
        }
    } else {
        eprintln!("Run {run_id}: no node is serving, working the queue here.");
        follow(engine, run_id, true).await
    }
}

/// Follows a run to its end with a progress display; works the queue when `work`.
async fn follow(engine: &Arc<Engine>, run_id: RunId, work: bool) -> CliResult<()> {
    let mut progress = RunProgress::new();
    let watcher = {
        let engine = engine.clone();
        async move {
            loop {
                if let Ok(Some(run)) = engine.store().get_run(run_id).await {
                    progress.update(&run);
                    if run.outcome != RunOutcome::Running {
                        progress.finish();
                        return run;
                    }
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    };
    let run = if work {
        let (run, _) = tokio::join!(watcher, engine.work_until_run_done(run_id, None));
        run
    } else {
        watcher.await
    };
    let c = &run.counts;
    eprintln!(
        "Run {} {}: {} refreshed ({} new, {} changed, {} unchanged, {} disabled), {} failed attempts, {} dead.",
        run.id,
        run.outcome.as_str(),
        c.refreshed,
        c.created,
        c.changed,
        c.unchanged,
        c.disabled,
        c.failed,
        c.dead
    );
    match run.outcome {
        RunOutcome::Succeeded => Ok(()),
        _ => Err(CliError::failure(format!("run {} ended {}", run.id, run.outcome.as_str()))),
    }
}
