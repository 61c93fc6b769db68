//! `amsync check`'s probe of the AMS: every data method of the configured
//! source, whatever its kind (it only sees `dyn AmsSource`), one line each
//! with its status, latency and a sample of what was read and how it
//! mapped. The per-member methods ask for the first member listed as
//! changed in the last 30 days (none listed: they are not asked).

use std::time::{Duration, Instant};

use amsync_ams::{AmsSource, DetailsAnswer, SourceError};
use amsync_config::Config;
use chrono::Utc;

/// Where the source is reached, for the report.
pub fn location(cfg: &Config) -> String {
    match (&cfg.ams.soap, cfg.ams.kind) {
        (Some(soap), amsync_ams::SourceKind::Soap) => soap.endpoint.to_string(),
        _ => cfg.ams.base_url.as_ref().map(|u| u.to_string()).unwrap_or_else(|| "-".into()),
    }
}

/// Prints one line of the table: status, method, latency, and a sample of
/// what was read or why it failed (text from outside already escaped, never
/// a secret). Returns 1 for a failure, 0 otherwise.
pub fn report(method: &str, took: Duration, outcome: Result<String, String>) -> u32 {
    match outcome {
        Ok(sample) => {
            println!("ok      {method:<24} {:>6} ms  {sample}", took.as_millis());
            0
        }
        Err(why) => {
            println!("FAIL    {method:<24} {:>6} ms  {why}", took.as_millis());
            1
        }
    }
}

/// Runs every method once; prints a line each. Returns the failures.
pub async fn probe(source: &dyn AmsSource, cfg: &Config) -> u32 {
    println!("      AMS {} at {}", source.kind(), location(cfg));
    let mut failures = 0;
    let mut line = |method: &str, took: Duration, outcome: Result<String, SourceError>| {
        failures += report(method, took, outcome.map_err(|e| amsync_core::escaped(&e).to_string()));
    };
    let t = Instant::now();
    let health = source.health().await;
    line("health", t.elapsed(), health.map(|()| "answers".to_string()));

    let since = Utc::now() - chrono::Duration::days(30);
    let t = Instant::now();
    let listed = source.changed_members(Some(since), None).await;
    let first = listed.as_ref().ok().and_then(|p| p.changed.first().map(|c| c.key.clone()));
    line(
        "GetChangedMembers",
        t.elapsed(),
        listed.map(|p| {
            let more = if p.next_cursor.is_some() { " (first page)" } else { "" };
            let sample = p
                .changed
                .first()
                .map(|c| format!(", e.g. {} changed {:?}", c.key.as_str(), c.changed_at))
                .unwrap_or_default();
            format!("{} key(s) in 30 days{more}, {} rejected{sample}", p.changed.len(), p.rejected.len())
        }),
    );
    match first {
        Some(key) => {
            let k = key.as_str();
            let t = Instant::now();
            let details = source.member_details(&key).await;
            line(
                "GetMemberDetails",
                t.elapsed(),
                details.map(|d| match d.value {
                    DetailsAnswer::Found(m) => format!(
                        "{k}: name {:?} {:?}, email {}, {} phone(s) [{} bytes of {}]",
                        m.first_name.unwrap_or_default(),
                        m.last_name.unwrap_or_default(),
                        if m.email.is_some() { "set" } else { "none" },
                        m.phones.len(),
                        d.raw.body.len(),
                        d.raw.format
                    ),
                    DetailsAnswer::Gone { status, merged_into } => {
                        format!("{k}: gone ({status}, merged into {merged_into:?})")
                    }
                }),
            );
            let t = Instant::now();
            let communities = source.member_communities(&key).await;
            line(
                "GetMemberCommunities",
                t.elapsed(),
                communities.map(|c| {
                    let sample = c
                        .value
                        .first()
                        .map(|m| format!(", e.g. {} from {}", m.community.key.as_str(), m.begin))
                        .unwrap_or_default();
                    format!("{k}: {} membership(s){sample}", c.value.len())
                }),
            );
            let t = Instant::now();
            let groups = source.member_groups(&key).await;
            line(
                "GetMemberSecurityGroups",
                t.elapsed(),
                groups.map(|g| {
                    let keys: Vec<&str> = g.value.iter().take(5).map(|g| g.key.as_str()).collect();
                    format!("{k}: {} group(s) {keys:?}", g.value.len())
                }),
            );
        }
        None => println!("note    the per-member methods were not asked: no member changed in the last 30 days"),
    }
    let t = Instant::now();
    let events = source.changed_events(Some(since), None).await;
    line(
        "GetChangedEvents",
        t.elapsed(),
        events.map(|p| {
            let sample =
                p.events.first().map(|e| format!(", e.g. {} at {}", e.key.as_str(), e.starts_at)).unwrap_or_default();
            format!("{} event(s) in 30 days, {} rejected{sample}", p.events.len(), p.rejected.len())
        }),
    );
    failures
}
