//! `amsync bench refresh --fetch-only`: the AMS side of a Member Refresh
//! alone (the three calls and their decoding, nothing stored), to tell how
//! much of the machine the HTTP exchange with sim-ams takes before any
//! database work.

use std::sync::Arc;
use std::time::Instant;

use amsync_ams::AmsSource;
use amsync_core::MemberKey;
use futures::StreamExt;
use serde_json::json;

use super::bench::{cpu_seconds, peak_rss_mb, SimProcess};
use crate::args::BenchRefreshArgs;
use crate::exit::{CliError, CliResult};

pub async fn run(
    args: &BenchRefreshArgs,
    sim: &SimProcess,
    source: Arc<dyn AmsSource>,
    version: &str,
) -> CliResult<()> {
    let mut keys: Vec<MemberKey> = Vec::with_capacity(args.members);
    let mut cursor: Option<String> = None;
    loop {
        let page = source
            .changed_members(None, cursor.as_deref())
            .await
            .map_err(|e| CliError::failure(format!("listing failed: {e}")))?;
        keys.extend(page.changed.into_iter().map(|c| c.key));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    sim.reset_stats().await?;
    eprintln!("Fetching the three parts of {} members, nothing stored…", keys.len());
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    let failed: usize = futures::stream::iter(keys.iter())
        .map(|key| {
            let source = source.clone();
            async move {
                let (d, c, g) =
                    tokio::join!(source.member_details(key), source.member_communities(key), source.member_groups(key));
                usize::from(d.is_err() || c.is_err() || g.is_err())
            }
        })
        .buffer_unordered(args.workers().max(1))
        .fold(0, |n, f| async move { n + f })
        .await;
    let seconds = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    let stats = sim.stats().await?;
    let members = keys.len() as f64;
    eprintln!(
        "fetch only: {} members in {seconds:.2}s = {:.0} members/s ({:.0} AMS calls/s); amsync CPU {:.0} µs per member; sim CPU share {:.2} (cores, whole sim process); {failed} failed",
        keys.len(),
        members / seconds,
        members * 3.0 / seconds,
        cpu / members * 1e6,
        stats["cpu_share"].as_f64().unwrap_or(f64::NAN),
    );
    let line = json!({
        "bench": "refresh",
        "mode": "fetch-only",
        "members": keys.len(),
        "encoding": args.encoding,
        "http_version": version,
        "workers": args.workers(),
        "max_concurrency": args.max_concurrency,
        "members_per_s": (members / seconds).round(),
        "ams_calls_per_s": (members * 3.0 / seconds).round(),
        "seconds": seconds,
        "cpu_us_per_member": (cpu / members * 1e6).round(),
        "sim_cpu_share": stats["cpu_share"],
        "peak_rss_mb": peak_rss_mb().round(),
        "failed": failed,
    });
    println!("{line}");
    if failed > 0 || keys.len() != args.members {
        return Err(CliError::failure("some fetches failed or members were missing (see the figures)"));
    }
    Ok(())
}
