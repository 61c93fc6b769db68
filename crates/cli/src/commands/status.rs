//! `amsync status`: the sync health summary from the store, as a table or
//! as the JSON of `GET /api/v1/sync/status`.

use std::path::Path;

use amsync_config::ProcessEnv;
use amsync_store::sqlite::SqliteStore;
use amsync_sync::{sync_status, SyncStatus};
use chrono::{DateTime, Utc};

use super::{load_config, sqlite_options};
use crate::exit::CliResult;
use crate::wiring;

pub async fn run(config: &Path, json: bool) -> CliResult<()> {
    let cfg = load_config(config)?;
    let mut opts = sqlite_options(&cfg, &ProcessEnv)?;
    // Reading the status never migrates.
    opts.auto_migrate = false;
    opts.readers = 1;
    let store = SqliteStore::open(opts)?;
    let periodic = wiring::schedule(&cfg.periodic_refresh.cadence);
    let events = amsync_sync::Schedule::Interval(cfg.events.interval);
    let status = sync_status(store.as_ref(), None, &periodic, &events).await?;
    store.shutdown().await;
    if json {
        println!("{}", serde_json::to_string_pretty(&status).map_err(anyhow::Error::from)?);
    } else {
        print!("{}", table(&status, &cfg.database_url_redacted(&ProcessEnv)));
    }
    Ok(())
}

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string()).unwrap_or_else(|| "-".into())
}

fn run_line(r: &Option<amsync_store::Run>) -> String {
    match r {
        None => "never".into(),
        Some(r) => format!(
            "#{} {} at {} ({} listed, {} changed, {} failed)",
            r.id,
            r.outcome.as_str(),
            when(Some(r.started_at)),
            r.counts.listed,
            r.counts.changed + r.counts.created,
            r.counts.failed + r.counts.dead
        ),
    }
}

/// The human table.
pub fn table(s: &SyncStatus, database: &str) -> String {
    let mut rows: Vec<(&str, String)> = vec![
        ("database", database.to_string()),
        (
            "sync",
            if s.paused { format!("PAUSED ({})", s.pause_reason.as_deref().unwrap_or("-")) } else { "running".into() },
        ),
        ("members", s.members.to_string()),
        ("last periodic refresh", run_line(&s.periodic_refresh.last_run)),
        ("next periodic refresh", when(s.periodic_refresh.next_at)),
        ("watermark", when(s.periodic_refresh.watermark)),
        ("last full refresh", run_line(&s.full_refresh)),
        ("last events sync", run_line(&s.events.last_run)),
        ("events watermark", when(s.events.watermark)),
        (
            "queue",
            format!(
                "{} queued, {} running, {} retrying, {} dead",
                s.queue.queued, s.queue.running, s.queue.retrying, s.queue.dead
            ),
        ),
        ("oldest waiting since", when(s.queue.oldest_waiting_since)),
        (
            "nodes",
            if s.nodes.is_empty() {
                "none serving".into()
            } else {
                s.nodes.iter().map(|n| format!("{} ({})", n.id, n.role)).collect::<Vec<_>>().join(", ")
            },
        ),
    ];
    if let Some(e) = &s.engine {
        rows.push(("refreshes last minute", e.refreshes_last_minute.to_string()));
    }
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    rows.iter().map(|(k, v)| format!("{k:<width$}  {v}\n")).collect()
}
