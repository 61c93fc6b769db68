//! `amsync bench access`: access decisions per second in process (one
//! core), and the latency of `GET /api/v1/access` at a fixed request rate
//! over loopback with SQLite.
//!
//! The HTTP part loads members from an in-process simulated AMS, gives the
//! site some access configuration (an IsMember designation, content items,
//! grants, events), serves the API in this process, and sends requests on a
//! fixed schedule from a thread and runtime of their own, whatever the
//! answers do (open loop). Each latency is measured from the moment the
//! request was due, so a stall shows in the figures instead of slowing the
//! sender down.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use amsync_ams::SourceKind;
use amsync_core::access::bench::{bench_decisions, BenchResult};
use amsync_core::access::ContentId;
use amsync_core::GroupKey;
use amsync_sim::SimConfig;
use amsync_store::sqlite::{SqliteOptions, SqliteStore};
use amsync_store::{AccessStore, CommunityStore, GroupStore, GroupUpsert, MemberStore, RunOutcome, SettingsStore};
use amsync_sync::{Engine, PollMode, SyncSettings};
use amsync_web::access_cache::AccessCache;
use amsync_web::auth::Tokens;
use amsync_web::{AppState, WebSettings};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::dyn_store;
use crate::args::BenchAccessArgs;
use crate::exit::{CliError, CliResult};

const SITE_TOKEN: &str = "bench-site-token";
/// Distinct requests prepared; the schedule cycles through them.
const REQUEST_MIX: usize = 20_000;

/// The best of three in-process runs, after a warm-up.
fn in_process(iterations: u64) -> BenchResult {
    let _ = bench_decisions(iterations / 10 + 1);
    (0..3)
        .map(|_| bench_decisions(iterations))
        .max_by(|a, b| a.decisions_per_s.total_cmp(&b.decisions_per_s))
        .expect("three runs")
}

fn failure(e: impl std::fmt::Display) -> CliError {
    CliError::failure(e.to_string())
}

/// Loads members and events from an in-process simulator, then gives the
/// site an access configuration. Returns the store, the engine and the
/// resources worth asking about.
async fn site(
    args: &BenchAccessArgs,
    dir: &std::path::Path,
) -> CliResult<(Arc<SqliteStore>, Arc<Engine>, Vec<String>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let sim = amsync_sim::start(SimConfig { members: args.members, seed: args.seed, ..SimConfig::default() }, listener)
        .await?;
    let store = SqliteStore::open(SqliteOptions::new(dir.join("bench.db")))?;
    let source = super::bench::sim_source(SourceKind::HttpJson, &sim.base_url(), |ams| ams.max_concurrency = 96)?;
    let settings = SyncSettings {
        role: "bench".into(),
        workers: 32,
        idle_poll: Duration::from_millis(20),
        ..SyncSettings::default()
    };
    let engine = Engine::new(dyn_store(&store), source, settings);
    let report = engine.poll_members(PollMode::Full).await?;
    let run = engine.work_until_run_done(report.run_id, Some(Duration::from_secs(600))).await?;
    if run.is_none_or(|r| r.outcome == RunOutcome::Running) {
        return Err(CliError::failure("loading the members did not finish"));
    }
    engine.sync_events().await?;

    let g = |k: &str| GroupKey::parse(k).map_err(failure);
    let now = chrono::Utc::now();
    let member = GroupUpsert { key: g("MEMBER")?, source: None, name: None, is_member: Some(true) };
    let editors = GroupUpsert {
        key: g("EDITORS")?,
        source: Some(amsync_core::GroupSource::Local),
        name: Some("Editors".into()),
        is_member: None,
    };
    store.upsert_security_groups(&[member, editors], now).await?;
    // Grants name only groups the store knows (a small simulation may have no STAFF).
    let known: Vec<String> = store.security_groups().await?.into_iter().map(|g| g.key.folded()).collect();
    let mut resources = Vec::new();
    let communities = store.list_communities(now.date_naive()).await?;
    for (i, c) in communities.iter().enumerate() {
        let grants = match i % 4 {
            0 => vec![g("STAFF")?],
            1 => vec![g("EDITORS")?, g("IsMember")?],
            2 => vec![g("Public")?],
            _ => vec![],
        };
        let grants: Vec<GroupKey> = grants.into_iter().filter(|k| known.contains(&k.folded())).collect();
        store.set_community_grants(&c.community.key, &grants).await?;
        for kind in ["discussion", "library", "microsite"] {
            resources.push(format!("{kind}:{}", c.community.key));
        }
    }
    for i in 0..50 {
        let groups = match i % 5 {
            0 => vec![g("Public")?],
            1 => vec![g("Authenticated")?],
            2 => vec![g("IsMember")?],
            3 => vec![g("EDITORS")?],
            _ => vec![g("SuperAdmin")?],
        };
        let id = ContentId::parse(format!("item-{i:02}")).map_err(failure)?;
        store.put_content_item(&id, None, &groups, now).await?;
        resources.push(format!("content:{id}"));
    }
    for e in sim.events() {
        resources.push(format!("event:{}", e.key));
    }
    resources.extend(["content:missing".to_string(), "discussion:CH-NOWHERE".into(), "event:EV-NONE".into()]);
    sim.shutdown().await;
    Ok((store, engine, resources))
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

/// What the open-loop run measured; latencies in microseconds.
struct LoadResult {
    latencies_us: Vec<u64>,
    errors: u64,
    sent: u64,
    elapsed_s: f64,
}

/// Sends `urls` (cycled) at `rate` per second for `warmup + seconds`,
/// keeping the latencies of the measured part.
fn open_loop(urls: Vec<String>, rate: u32, warmup: Duration, seconds: Duration) -> CliResult<LoadResult> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let client = reqwest::Client::builder().pool_max_idle_per_host(256).tcp_nodelay(true).build().map_err(failure)?;
    let results = Arc::new(Mutex::new((Vec::<u64>::with_capacity(rate as usize * seconds.as_secs() as usize), 0u64)));
    let period = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let total = ((warmup + seconds).as_secs_f64() * f64::from(rate)) as u64;
    let start = Instant::now() + Duration::from_millis(50);
    let measure_from = start + warmup;
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let due = start + period.mul_f64(i as f64);
        // The OS timer wakes within tens of microseconds; the lateness
        // counts in the latency, since it is measured from `due`.
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let (client, results) = (client.clone(), results.clone());
        let url = urls[i as usize % urls.len()].clone();
        tasks.push(rt.spawn(async move {
            let ok = match client.get(&url).bearer_auth(SITE_TOKEN).send().await {
                Ok(resp) => resp.status().is_success() && resp.bytes().await.is_ok(),
                Err(_) => false,
            };
            let latency = due.elapsed().as_micros() as u64;
            if due >= measure_from {
                let mut r = results.lock().unwrap_or_else(|p| p.into_inner());
                r.0.push(latency);
                if !ok {
                    r.1 += 1;
                }
            }
        }));
    }
    rt.block_on(async {
        for t in tasks {
            let _ = t.await;
        }
    });
    let elapsed_s = measure_from.elapsed().as_secs_f64();
    let (latencies_us, errors) = std::mem::take(&mut *results.lock().unwrap_or_else(|p| p.into_inner()));
    let sent = latencies_us.len() as u64;
    Ok(LoadResult { latencies_us, errors, sent, elapsed_s })
}

pub async fn run(args: BenchAccessArgs) -> CliResult<()> {
    eprintln!("In-process decisions ({} per run, best of 3)…", args.iterations);
    let iterations = args.iterations.max(1);
    let decisions = tokio::task::spawn_blocking(move || in_process(iterations)).await.map_err(failure)?;
    eprintln!(
        "in process: {:.0} decisions/s ({:.1} ns each); {:.0}/s with the reason written",
        decisions.decisions_per_s, decisions.ns_per_decision, decisions.with_reason_per_s
    );

    eprintln!("Loading {} members from the simulated AMS…", args.members);
    let dir = tempfile::tempdir()?;
    let (store, engine, resources) = site(&args, dir.path()).await?;
    let state = AppState {
        store: dyn_store(&store),
        engine,
        tokens: Arc::new(Tokens::new(vec![], vec![SITE_TOKEN.into()])),
        settings: Arc::new(WebSettings::default()),
        access: Arc::new(AccessCache::new()),
        sign_on: Arc::new(amsync_web::sso::SignOn::unconfigured(
            url::Url::parse("http://127.0.0.1/").map_err(anyhow::Error::from)?,
        )),
        readiness: Arc::new(|| Box::pin(async { Ok(()) })),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}/api/v1/access", listener.local_addr()?);
    let stop = CancellationToken::new();
    let server = tokio::spawn(amsync_web::serve(listener, state, stop.clone()));

    // Nine requests in ten for a member, one for a signed-out visitor.
    let keys = store.active_member_keys().await?;
    let mut rng = StdRng::seed_from_u64(args.seed);
    let urls: Vec<String> = (0..REQUEST_MIX)
        .map(|_| {
            let resource = &resources[rng.random_range(0..resources.len())];
            if rng.random_range(0..10) == 0 || keys.is_empty() {
                format!("{base}?resource={resource}")
            } else {
                format!("{base}?member={}&resource={resource}", keys[rng.random_range(0..keys.len())])
            }
        })
        .collect();
    eprintln!("GET /api/v1/access at {}/s for {}s (after 1s of warm-up)…", args.rate, args.seconds);
    let (rate, seconds) = (args.rate, Duration::from_secs(args.seconds.max(1)));
    let load = tokio::task::spawn_blocking(move || open_loop(urls, rate, Duration::from_secs(1), seconds))
        .await
        .map_err(failure)??;
    stop.cancel();
    let _ = server.await;
    store.shutdown().await;

    let mut sorted = load.latencies_us;
    sorted.sort_unstable();
    let (p50, p90, p99, p999) =
        (percentile(&sorted, 0.50), percentile(&sorted, 0.90), percentile(&sorted, 0.99), percentile(&sorted, 0.999));
    let max = sorted.last().map_or(f64::NAN, |m| *m as f64 / 1000.0);
    let achieved = load.sent as f64 / load.elapsed_s;
    eprintln!(
        "HTTP: {} requests ({achieved:.0}/s), {} errors; latency ms p50 {p50:.3}, p90 {p90:.3}, p99 {p99:.3}, p99.9 {p999:.3}, max {max:.3}",
        load.sent, load.errors
    );
    let line = json!({
        "bench": "access",
        "decisions_per_s": decisions.decisions_per_s.round(),
        "ns_per_decision": decisions.ns_per_decision,
        "with_reason_per_s": decisions.with_reason_per_s.round(),
        "members": keys.len(),
        "http_rate": args.rate,
        "http_achieved_rate": achieved.round(),
        "http_requests": load.sent,
        "http_errors": load.errors,
        "http_p50_ms": p50,
        "http_p90_ms": p90,
        "http_p99_ms": p99,
        "http_p999_ms": p999,
        "http_max_ms": max,
    });
    println!("{line}");
    if load.errors > 0 {
        return Err(CliError::failure(format!("{} requests failed", load.errors)));
    }
    Ok(())
}
