//! `amsync status`: the sync health summary from the store, as a table or
//! as the JSON of `GET /api/v1/sync/status`.

use std::path::Path;

use amsync_config::ProcessEnv;
use amsync_store::OpenOptions;
use amsync_sync::{sync_status, SyncStatus};
use chrono::{DateTime, Utc};

use super::load_config_for;
use crate::exit::CliResult;
use crate::logging::Audience;
use crate::{node, wiring};

/// How long `amsync status` waits for the AMS to answer its probe.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

pub async fn run(config: &Path, json: bool, audience: Audience) -> CliResult<()> {
    let cfg = load_config_for(config, audience)?;
    // Reading the status never migrates.
    let store = node::database(&cfg, &ProcessEnv)?.open(OpenOptions::inspect()).await?;
    store.set_thresholds(wiring::thresholds(&cfg));
    let periodic = wiring::schedule(&cfg.periodic_refresh.cadence);
    let events = amsync_sync::Schedule::Interval(cfg.events.interval);
    let status = sync_status(store.clone().as_store().as_ref(), None, &periodic, &events).await;
    store.close().await;
    let mut status = status?;
    // No engine runs here to have probed the AMS: probe it once now.
    let probe_note = match wiring::source(&cfg, &ProcessEnv, &mut Default::default()) {
        Ok(source) => {
            let r = amsync_sync::reachability::probe(source.as_ref(), PROBE_TIMEOUT, &Default::default()).await;
            status.ams = Some(r);
            None
        }
        Err(e) => Some(format!("not checked ({e})")),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&status).map_err(anyhow::Error::from)?);
    } else {
        print!("{}", table(&status, &cfg.database_url_redacted(&ProcessEnv), probe_note.as_deref()));
    }
    Ok(())
}

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string()).unwrap_or_else(|| "-".into())
}

/// `3 min ago`, `in 5 min`, as on the dashboard.
fn ago(t: Option<DateTime<Utc>>) -> String {
    let Some(t) = t else { return String::new() };
    let d = (Utc::now() - t).num_seconds();
    if d >= 0 {
        format!(" ({} ago)", span(d))
    } else {
        format!(" (in {})", span(d))
    }
}

fn span(seconds: i64) -> String {
    let s = seconds.abs();
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s / 60),
        3600..=86_399 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        _ => format!("{} d {} h", s / 86_400, (s % 86_400) / 3600),
    }
}

fn when_ago(t: Option<DateTime<Utc>>) -> String {
    format!("{}{}", when(t), ago(t))
}

fn run_line(r: &Option<amsync_store::Run>) -> String {
    match r {
        None => "never".into(),
        Some(r) => {
            format!(
                "#{} {} at {}{} ({} listed, {} changed, {} failed)",
                r.id,
                r.outcome.as_str(),
                when(Some(r.started_at)),
                ago(Some(r.started_at)),
                r.counts.listed,
                r.counts.changed + r.counts.created,
                r.counts.failed + r.counts.dead
            ) + &r.resumed.as_ref().map(|x| format!("; {}", x.note)).unwrap_or_default()
                + &r.error.as_ref().map(|e| format!("; error: {e}")).unwrap_or_default()
        }
    }
}

fn sync_line(s: &SyncStatus) -> String {
    let reason = s.pause_reason.as_deref().unwrap_or("-");
    match (s.paused, s.quarantined) {
        (true, true) => format!("QUARANTINED ({reason}) since {}", when_ago(s.paused_since)),
        (true, false) => format!("PAUSED ({reason}) since {}", when_ago(s.paused_since)),
        _ => "running".into(),
    }
}

fn thresholds_line(s: &SyncStatus) -> String {
    let t = &s.thresholds;
    let pending = match t.pending_approvals {
        0 => "no approval pending".to_string(),
        n => format!("{n} APPROVAL(S) PENDING (GET /api/v1/approvals)"),
    };
    format!(
        "{pending}; {} disables (at most {}) and {} membership removals in the last {}",
        t.usage.disables,
        t.max_disables,
        t.usage.membership_removals,
        amsync_core::safety::format_duration(std::time::Duration::from_secs(t.window_seconds))
    )
}

fn ams_line(s: &SyncStatus, probe_note: Option<&str>) -> String {
    match (&s.ams, probe_note) {
        (_, Some(note)) => note.to_string(),
        (Some(r), None) if r.reachable == Some(true) => {
            format!("reachable ({} ms, checked {})", r.latency_ms.unwrap_or(0), when_ago(r.checked_at))
        }
        (Some(r), None) if r.reachable == Some(false) => format!(
            "UNREACHABLE: {} (checked {}; last good answer {})",
            r.error.as_deref().unwrap_or("-"),
            when_ago(r.checked_at),
            when_ago(r.last_ok_at)
        ),
        _ => "not checked".into(),
    }
}

/// Long-lived tasks that failed and were restarted: this process's engine
/// when one runs here, else what each live node's heartbeat says.
fn restarts_line(s: &SyncStatus) -> String {
    let by_node: Vec<(Option<&str>, &amsync_store::TaskRestarts)> = match &s.engine {
        Some(e) => e.task_restarts.iter().map(|t| (None, t)).collect(),
        None => s.nodes.iter().flat_map(|n| n.task_restarts.iter().map(|t| (Some(n.id.as_str()), t))).collect(),
    };
    if by_node.is_empty() {
        return "none".into();
    }
    by_node
        .iter()
        .map(|(node, t)| {
            format!(
                "{}{} FAILED AND RESTARTED {} time(s), last at {}: {}",
                node.map(|n| format!("{n}: ")).unwrap_or_default(),
                t.task,
                t.restarts,
                when_ago(Some(t.last_failure_at)),
                t.last_failure
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The human table: the health summary the dashboard's overview shows.
pub fn table(s: &SyncStatus, database: &str, probe_note: Option<&str>) -> String {
    let mut rows: Vec<(&str, String)> = vec![
        ("database", database.to_string()),
        ("sync", sync_line(s)),
        ("ams", ams_line(s, probe_note)),
        ("members", s.members.to_string()),
        ("held changes", thresholds_line(s)),
        ("last periodic refresh", run_line(&s.periodic_refresh.last_run)),
        ("next periodic refresh", when_ago(s.periodic_refresh.next_at)),
        ("watermark", when_ago(s.periodic_refresh.watermark)),
        ("last full refresh", run_line(&s.full_refresh)),
        ("last events sync", run_line(&s.events.last_run)),
        ("next events sync", when_ago(s.events.next_at)),
        ("events watermark", when_ago(s.events.watermark)),
        (
            "queue",
            format!(
                "{} queued, {} running, {} retrying, {} dead",
                s.queue.queued, s.queue.running, s.queue.retrying, s.queue.dead
            ),
        ),
        ("oldest waiting since", when_ago(s.queue.oldest_waiting_since)),
        (
            "nodes",
            if s.nodes.is_empty() {
                "none serving".into()
            } else {
                s.nodes.iter().map(|n| format!("{} ({})", n.id, n.role)).collect::<Vec<_>>().join(", ")
            },
        ),
        ("task restarts", restarts_line(s)),
    ];
    if let Some(e) = &s.engine {
        rows.push((
            "refreshes",
            format!("{} last minute, {} last hour", e.refreshes_last_minute, e.refreshes_last_hour),
        ));
    }
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    rows.iter().map(|(k, v)| format!("{k:<width$}  {v}\n")).collect()
}
