//! `amsync bench …`: measured figures, printed last as one JSON line so runs
//! can be compared.

use std::sync::Arc;
use std::time::{Duration, Instant};

use amsync_ams::{AmsConfig, AmsSource, SourceKind};
use amsync_config::{ProcessEnv, ResolveNow};
use amsync_store::sqlite::{SqliteOptions, SqliteStore, WRITER_THREAD_NAME};
use amsync_store::RunOutcome;
use amsync_sync::{Engine, PollMode, SyncSettings};
use serde_json::json;
use tokio::io::AsyncBufReadExt;

use super::dyn_store;
use crate::args::{BenchCommand, BenchRefreshArgs};
use crate::commands::{bench_access, bench_rules};
use crate::exit::{CliError, CliResult};

pub async fn run(which: BenchCommand) -> CliResult<()> {
    crate::logging::init(crate::logging::LogFormat::Text, "warn");
    match which {
        BenchCommand::Refresh(args) => refresh(args).await,
        BenchCommand::Dashboard(args) => super::bench_dashboard::run(args).await,
        BenchCommand::Access(args) => bench_access::run(args).await,
        BenchCommand::Rules(args) => bench_rules::run(args).await,
        BenchCommand::Login(args) => super::sso::bench_login(args).await,
    }
}

/// CPU time (user + system) this process has used, in seconds.
pub fn cpu_seconds() -> f64 {
    // SAFETY: getrusage writes into the zeroed struct we pass and reads nothing else.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return f64::NAN;
    }
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(usage.ru_utime) + t(usage.ru_stime)
}

/// CPU time (user + system) of this process's threads whose name starts
/// with `prefix`, in seconds: which part of the process does the work. Read
/// from /proc (clock ticks, so only meaningful over seconds); NaN elsewhere.
pub fn threads_cpu_seconds(prefix: &str) -> f64 {
    // Linux keeps 15 bytes of a thread's name.
    let prefix = prefix.get(..15).unwrap_or(prefix);
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return f64::NAN;
    };
    let mut total = 0u64;
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if !comm.starts_with(prefix) {
            continue;
        }
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        // Fields after the parenthesised name: state is the 3rd field,
        // utime and stime the 14th and 15th.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
        total += field(14) + field(15);
    }
    total as f64 / ticks
}

/// Peak resident set size of this process, in MiB.
pub fn peak_rss_mb() -> f64 {
    // SAFETY: getrusage writes into the zeroed struct we pass and reads nothing else.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    if rc != 0 {
        return f64::NAN;
    }
    usage.ru_maxrss as f64 / 1024.0
}

/// The simulated AMS in a child process of its own, so its CPU is not ours.
pub struct SimProcess {
    pub child: tokio::process::Child,
    pub base_url: String,
}

impl SimProcess {
    /// `prerender`: the encoding whose documents the sim renders before it
    /// listens (the one a benchmark fetches), if any.
    pub async fn spawn(members: usize, seed: u64, threads: usize, prerender: Option<&str>) -> CliResult<SimProcess> {
        let exe = std::env::current_exe()?;
        let mut command = tokio::process::Command::new(exe);
        command.args(["sim-ams", "--listen", "127.0.0.1:0", "--members", &members.to_string()]).args([
            "--seed",
            &seed.to_string(),
            "--threads",
            &threads.to_string(),
        ]);
        if let Some(enc) = prerender {
            command.args(["--prerender", enc]);
        }
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let stdout = child.stdout.take().ok_or_else(|| CliError::failure("no stdout from sim-ams"))?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .map_err(|_| CliError::failure("sim-ams did not start within 30s"))??
            .ok_or_else(|| CliError::failure("sim-ams ended before listening"))?;
        let base_url = line
            .strip_prefix("listening on ")
            .ok_or_else(|| CliError::failure(format!("unexpected first line from sim-ams: {line:?}")))?
            .to_string();
        Ok(SimProcess { child, base_url })
    }

    pub async fn stats(&self) -> CliResult<serde_json::Value> {
        let url = format!("{}/_sim/stats", self.base_url);
        let body = reqwest::get(&url).await.map_err(anyhow::Error::from)?.bytes().await.map_err(anyhow::Error::from)?;
        Ok(serde_json::from_slice(&body).map_err(anyhow::Error::from)?)
    }

    /// Stops the simulator.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }

    pub async fn reset_stats(&self) -> CliResult<()> {
        let url = format!("{}/_sim/stats/reset", self.base_url);
        reqwest::Client::new().post(&url).send().await.map_err(anyhow::Error::from)?;
        Ok(())
    }
}

async fn count_rows(store: &Arc<SqliteStore>) -> CliResult<serde_json::Value> {
    let v = store
        .read(|c| {
            let mut out = serde_json::Map::new();
            for t in ["members", "memberships", "member_ams_groups", "member_history", "change_feed", "member_payloads"]
            {
                let n: i64 = c.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))?;
                out.insert(t.to_string(), json!(n));
            }
            // total_changes of this connection is not the writer's; compare
            // row counts and the newest update time instead.
            let newest: Option<i64> = c.query_row("SELECT max(updated_at) FROM members", [], |r| r.get(0))?;
            out.insert("members_max_updated_at".into(), json!(newest));
            Ok(serde_json::Value::Object(out))
        })
        .await?;
    Ok(v)
}

/// An unauthenticated source of `kind` at `url` (a benchmark's simulated
/// AMS), with the product's defaults changed by `tune`, built by the
/// factory as `serve` builds its own.
pub fn sim_source(kind: SourceKind, url: &str, tune: impl FnOnce(&mut AmsConfig)) -> CliResult<Arc<dyn AmsSource>> {
    let url = url::Url::parse(url).map_err(anyhow::Error::from)?;
    let mut ams = match kind {
        SourceKind::Soap => {
            let endpoint = url.join(amsync_sim::soap::PATH.trim_start_matches('/')).map_err(anyhow::Error::from)?;
            AmsConfig { kind, soap: Some(amsync_ams::config::SoapSourceConfig::at(endpoint)), ..AmsConfig::default() }
        }
        _ => AmsConfig::http(kind, url),
    };
    tune(&mut ams);
    amsync_ams::build_source(&ams, &mut ResolveNow(&ProcessEnv), None).map_err(|e| CliError::failure(e.to_string()))
}

/// One full refresh through the engine: listing, enqueue, refresh of every
/// member. Returns seconds taken.
async fn full_pass(engine: &Arc<Engine>) -> CliResult<(f64, amsync_store::Run)> {
    let t0 = Instant::now();
    let report = engine.poll_members(PollMode::Full).await?;
    if let Some(e) = report.error {
        return Err(CliError::failure(format!("listing failed: {e}")));
    }
    let run = engine
        .work_until_run_done(report.run_id, Some(Duration::from_secs(3600)))
        .await?
        .ok_or_else(|| CliError::failure("the run vanished"))?;
    if run.outcome == RunOutcome::Running {
        return Err(CliError::failure("the run did not finish within an hour"));
    }
    Ok((t0.elapsed().as_secs_f64(), run))
}

async fn refresh(args: BenchRefreshArgs) -> CliResult<()> {
    let kinds: Vec<SourceKind> = if args.sources.is_empty() {
        match args.encoding.as_str() {
            "json" => vec![SourceKind::HttpJson],
            "xml" => vec![SourceKind::HttpXml],
            other => return Err(CliError::config(format!("--encoding {other:?}: json or xml"))),
        }
    } else {
        let parse = |s: &String| SourceKind::ALL.into_iter().find(|k| k.as_str() == s.as_str());
        args.sources
            .iter()
            .map(|s| parse(s).ok_or_else(|| CliError::config(format!("--source {s:?}"))))
            .collect::<CliResult<_>>()?
    };
    let http_version = amsync_ams::HttpVersion::parse(&args.http_version)
        .ok_or_else(|| CliError::config(format!("--http-version {:?}: auto, 1.1 or 2", args.http_version)))?;
    // The sim serves SOAP from its XML documents.
    let prerender = if kinds.contains(&SourceKind::HttpJson) && kinds.len() == 1 { "json" } else { "xml" };
    eprintln!("Starting the simulated AMS with {} members in its own process…", args.members);
    let sim = SimProcess::spawn(args.members, args.seed, 1, Some(prerender)).await?;
    let mut rates = Vec::new();
    // Compared kinds each start warm: the first pass of a process (the
    // sim's and ours) is slower, and would be charged to whichever kind
    // comes first. One unmeasured pass of the first kind takes it.
    if kinds.len() > 1 {
        eprintln!("Warm-up pass (not compared):");
        if let Err(e) = refresh_one(&args, kinds[0], &sim, http_version).await {
            sim.stop().await;
            return Err(e);
        }
    }
    for kind in &kinds {
        let result = refresh_one(&args, *kind, &sim, http_version).await;
        match result {
            Ok(rate) => rates.push((kind.as_str(), rate)),
            Err(e) => {
                sim.stop().await;
                return Err(e);
            }
        }
    }
    sim.stop().await;
    if rates.len() > 1 {
        let rate = |name: &str| rates.iter().find(|(k, _)| *k == name).map(|(_, r)| *r);
        let mut line = json!({ "bench": "refresh-sources", "members": args.members, "members_per_s": rates.iter().map(|(k, r)| (k.to_string(), json!(r.round()))).collect::<serde_json::Map<_, _>>() });
        if let (Some(soap), Some(xml)) = (rate("soap"), rate("http-xml")) {
            eprintln!(
                "soap refreshes at {:.0} % of http-xml's rate ({soap:.0} vs {xml:.0} members/s)",
                soap / xml * 100.0
            );
            line["soap_vs_http_xml"] = json!((soap / xml * 1000.0).round() / 1000.0);
        }
        println!("{line}");
    }
    Ok(())
}

/// One source kind's initial load and unchanged re-run; its members per second.
async fn refresh_one(
    args: &BenchRefreshArgs,
    kind: SourceKind,
    sim: &SimProcess,
    http_version: amsync_ams::HttpVersion,
) -> CliResult<f64> {
    eprintln!("Source {}:", kind.as_str());
    let dir = tempfile::tempdir()?;
    let path = match &args.db {
        Some(p) if args.sources.len() > 1 => p.with_extension(format!("{}.db", kind.as_str())),
        Some(p) => p.clone(),
        None => dir.path().join("bench.db"),
    };
    let _ = std::fs::remove_file(&path);
    let store = SqliteStore::open(SqliteOptions::new(&path))?;
    let source = sim_source(kind, &sim.base_url, |ams| {
        ams.timeout = Duration::from_secs(30);
        ams.max_concurrency = args.max_concurrency;
        ams.http_version = http_version;
    })?;
    if args.fetch_only {
        super::bench_fetch::run(args, sim, source, http_version.as_str()).await?;
        return Ok(f64::NAN);
    }
    let settings = SyncSettings {
        role: "bench".into(),
        workers: args.workers(),
        lease: Duration::from_secs(600),
        idle_poll: Duration::from_millis(20),
        ..SyncSettings::default()
    };
    let engine = Engine::new(dyn_store(&store), source, settings);

    sim.reset_stats().await?;
    eprintln!("Initial load…");
    let cpu0 = cpu_seconds();
    let writer_cpu0 = threads_cpu_seconds(WRITER_THREAD_NAME);
    let (first_s, first_run) = full_pass(&engine).await?;
    let cpu_first = cpu_seconds() - cpu0;
    let writer_cpu_first = threads_cpu_seconds(WRITER_THREAD_NAME) - writer_cpu0;
    let writer_first = store.writer_stats();
    let phases_first = engine.status().phases;
    let sim_first = sim.stats().await?;
    let rows_after_first = count_rows(&store).await?;
    let rss_after_first = peak_rss_mb();

    sim.reset_stats().await?;
    eprintln!("Re-run with nothing changed…");
    let cpu1 = cpu_seconds();
    let writer_cpu1 = threads_cpu_seconds(WRITER_THREAD_NAME);
    let (second_s, second_run) = full_pass(&engine).await?;
    let cpu_second = cpu_seconds() - cpu1;
    let writer_cpu_second = threads_cpu_seconds(WRITER_THREAD_NAME) - writer_cpu1;
    let sim_second = sim.stats().await?;
    let rows_after_second = count_rows(&store).await?;
    let peak = peak_rss_mb();
    let writer_all = store.writer_stats();
    // Operations per transaction on the initial load: how well group commit groups.
    let ops_per_commit = writer_first.ops as f64 / writer_first.batches.max(1) as f64;
    let unchanged_ops_per_commit =
        (writer_all.ops - writer_first.ops) as f64 / (writer_all.batches - writer_first.batches).max(1) as f64;

    let members = args.members as f64;
    let pages_first = writer_first.pages_written as f64 / members;
    let pages_unchanged = (writer_all.pages_written - writer_first.pages_written) as f64 / members;
    let writer_us_first = writer_cpu_first / members * 1e6;
    let writer_us_unchanged = writer_cpu_second / members * 1e6;
    let calls_first = sim_first["details"].as_f64().unwrap_or(0.0)
        + sim_first["communities"].as_f64().unwrap_or(0.0)
        + sim_first["security_groups"].as_f64().unwrap_or(0.0);
    let no_writes = rows_after_first == rows_after_second;
    eprintln!(
        "initial load: {} members in {first_s:.2}s = {:.0} members/s ({:.0} AMS calls/s); sim CPU share {:.2} (cores, whole sim process); run {:?} ({} created)",
        args.members,
        members / first_s,
        calls_first / first_s,
        sim_first["cpu_share"].as_f64().unwrap_or(f64::NAN),
        first_run.outcome,
        first_run.counts.created,
    );
    eprintln!(
        "unchanged re-run: {second_s:.2}s = {:.0} members/s ({:.1}x faster); {} unchanged; rows written: {}",
        members / second_s,
        first_s / second_s,
        second_run.counts.unchanged,
        if no_writes { "none" } else { "SOME (see rows_*)" },
    );
    eprintln!("time per refresh (initial load): {phases_first:?}");
    eprintln!(
        "writer: {ops_per_commit:.1} operations per transaction on the initial load, {unchanged_ops_per_commit:.1} unchanged"
    );
    eprintln!(
        "amsync CPU per member: {:.0} µs initial load ({:.0} µs of it on the store's writer thread), {:.0} µs unchanged ({:.0} µs writer) (machine load average {})",
        cpu_first / members * 1e6,
        writer_us_first,
        cpu_second / members * 1e6,
        writer_us_unchanged,
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().split(' ').next().unwrap_or("?"),
    );
    eprintln!("pages written per member: {pages_first:.1} initial load, {pages_unchanged:.1} unchanged");
    eprintln!("peak RSS of amsync: {peak:.0} MB (after the initial load: {rss_after_first:.0} MB)");
    store.shutdown().await;
    let line = json!({
        "bench": "refresh",
        "members": args.members,
        "source": kind.as_str(),
        "http_version": http_version.as_str(),
        "workers": args.workers(),
        "max_concurrency": args.max_concurrency,
        "members_per_s": (members / first_s).round(),
        "ams_calls_per_s": (calls_first / first_s).round(),
        "seconds": first_s,
        "sim_cpu_share": sim_first["cpu_share"],
        "unchanged_members_per_s": (members / second_s).round(),
        "unchanged_seconds": second_s,
        "unchanged_speedup": first_s / second_s,
        "unchanged_writes_no_rows": no_writes,
        "unchanged_sim_cpu_share": sim_second["cpu_share"],
        "rows": rows_after_second,
        "peak_rss_mb": peak.round(),
        "phases": phases_first,
        "writer_ops_per_commit": ops_per_commit,
        "unchanged_writer_ops_per_commit": unchanged_ops_per_commit,
        "cpu_us_per_member": (cpu_first / members * 1e6).round(),
        "unchanged_cpu_us_per_member": (cpu_second / members * 1e6).round(),
        "pages_written_per_member": pages_first,
        "unchanged_pages_written_per_member": pages_unchanged,
        "writer_cpu_us_per_member": writer_us_first.round(),
        "unchanged_writer_cpu_us_per_member": writer_us_unchanged.round(),
        "created": first_run.counts.created,
        "failed": first_run.counts.failed + second_run.counts.failed,
    });
    println!("{line}");
    if first_run.counts.created as usize != args.members || !no_writes {
        return Err(CliError::failure("the benchmark's work was not right (see the figures)"));
    }
    Ok(members / first_s)
}
