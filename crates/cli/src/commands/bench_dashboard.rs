//! `amsync bench dashboard`: how long each dashboard page takes to render
//! on a large database (100,000 members and 1,000,000 history rows by
//! default), measured over HTTP against the real router.
//!
//! The database is built quickly: one member is loaded the normal way
//! (a refresh from the simulated AMS, so every table holds a real row),
//! then cloned with SQL through the store's `write` escape hatch, and
//! history, runs, queue entries and audit entries are bulk-inserted.

use std::sync::Arc;
use std::time::{Duration, Instant};

use amsync_ams::SourceKind;
use amsync_core::{Failure, FailureKind, MemberKey, Trigger};
use amsync_store::sqlite::{SqliteOptions, SqliteStore};
use amsync_store::{QueueStore, StoreError};
use amsync_sync::{Engine, SyncSettings};
use amsync_web::auth::Tokens;
use amsync_web::{AppState, WebSettings};
use rusqlite::Connection;
use serde_json::json;

use super::dyn_store;
use crate::args::BenchDashboardArgs;
use crate::exit::{CliError, CliResult};

const TOKEN: &str = "bench-admin-token-0123456789";

/// Tables keyed by a member, and their key column.
fn member_tables(conn: &Connection) -> Result<Vec<(String, &'static str)>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table'
         AND (name IN ('members', 'memberships') OR name LIKE 'member\\_%' ESCAPE '\\')",
    )?;
    let names = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(names
        .into_iter()
        .filter(|n| n != "member_history")
        .map(|n| {
            let key = if n == "members" { "key" } else { "member_key" };
            (n, key)
        })
        .collect())
}

fn columns(conn: &Connection, table: &str) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare(&format!("PRAGMA table_info({table})"))?;
    let cols = stmt.query_map([], |r| r.get::<_, String>(1))?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(cols)
}

/// `B0000001`…: the cloned members' keys.
fn bench_key(n: u64) -> String {
    format!("B{n:07}")
}

/// Clones the template member `members` times, then adds `history` history
/// rows spread over them, `runs` runs, a queue and an audit log.
fn fill(conn: &Connection, template: &str, members: u64, history: u64, runs: u64) -> Result<(), StoreError> {
    let seq = |n: u64| format!("WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {n})");
    let key_expr = "printf('B%07d', seq.n)";
    for (table, key_col) in member_tables(conn)? {
        let cols = columns(conn, &table)?;
        let select: Vec<String> = cols
            .iter()
            .map(|c| match c.as_str() {
                c if c == key_col => key_expr.to_string(),
                // Every clone is found by its own key and its own last name.
                "search_text" => format!("lower({key_expr}) || ' name' || seq.n || ' ' || t.search_text"),
                "last_name" => "'Name' || seq.n".to_string(),
                c => format!("t.{c}"),
            })
            .collect();
        let sql = format!(
            "{} INSERT INTO {table} ({}) SELECT {} FROM seq, {table} t WHERE t.{key_col} = '{template}'",
            seq(members),
            cols.join(", "),
            select.join(", ")
        );
        conn.execute_batch(&sql)?;
    }
    let now = chrono::Utc::now().timestamp_millis();
    let fields = json!([{"field": "/last_name", "before": "Before", "after": "After"},
                        {"field": "/address/city", "before": "Bern", "after": "Basel"}])
    .to_string()
    .replace('\'', "''");
    conn.execute_batch(&format!(
        "{} INSERT INTO member_history (member_key, at, trigger, kind, run_id, fields)
         SELECT printf('B%07d', (seq.n % {members}) + 1), {now} - ({history} - seq.n) * 1000, 'periodic', 'changed', NULL, '{fields}'
         FROM seq",
        seq(history)
    ))?;
    conn.execute_batch(&format!(
        "{} INSERT INTO runs (kind, started_at, finished_at, outcome, pages, listed, enqueued, refreshed, changed, unchanged, listing_done, params)
         SELECT CASE seq.n % 10 WHEN 0 THEN 'full' WHEN 1 THEN 'events' WHEN 2 THEN 'manual' ELSE 'periodic' END,
                {now} - ({runs} - seq.n) * 60000, {now} - ({runs} - seq.n) * 60000 + 5000,
                CASE WHEN seq.n % 97 = 0 THEN 'failed' WHEN seq.n % 13 = 0 THEN 'partial' ELSE 'succeeded' END,
                1, 40, 40, 40, 5, 35, 1, '{{}}'
         FROM seq",
        seq(runs)
    ))?;
    conn.execute_batch(&format!(
        "{} INSERT INTO audit_log (at, actor, action, target, detail, status, request_id)
         SELECT {now} - (10000 - seq.n) * 1000, 'admin token', 'POST /api/v1/refresh', '/api/v1/refresh', 'run ' || seq.n, 202,
                'req-' || seq.n
         FROM seq",
        seq(10_000)
    ))?;
    Ok(())
}

/// Per page: (label, path).
fn pages(run_id: i64, members: u64, community: &str) -> Vec<(&'static str, String)> {
    vec![
        ("overview", "/admin".into()),
        ("queue (dead)", "/admin/queue?state=dead".into()),
        ("queue (queued)", "/admin/queue?state=queued".into()),
        ("runs", "/admin/runs".into()),
        ("runs filtered (manual, failed)", "/admin/runs?kind=manual&outcome=failed".into()),
        ("run", format!("/admin/runs/{run_id}")),
        ("members search (one match)", format!("/admin/members?q={}", bench_key(members - 1).to_lowercase())),
        ("members search (no match: full scan)", "/admin/members?q=zzzz-nobody".into()),
        ("members by community", format!("/admin/members?community={community}")),
        ("member (its history rows)", format!("/admin/members/{}", bench_key(members / 2 + 1))),
        ("audit log", "/admin/audit".into()),
        ("api sync status", "/api/v1/sync/status".into()),
        ("metrics", "/metrics".into()),
    ]
}

/// Signs in to the dashboard; returns the session cookie.
async fn sign_in(http: &reqwest::Client, base: &str) -> CliResult<String> {
    let form = http.get(format!("{base}/admin/login")).send().await.map_err(anyhow::Error::from)?;
    let cookie_of = |r: &reqwest::Response, name: &str| {
        r.headers().get_all(reqwest::header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
            let pair = v.split(';').next()?.trim();
            pair.starts_with(&format!("{name}=")).then(|| pair.to_string())
        })
    };
    let login_cookie = cookie_of(&form, "amsync_admin_login").ok_or_else(|| CliError::failure("no login cookie"))?;
    let csrf = login_cookie.split_once('=').map(|(_, v)| v.to_string()).unwrap_or_default();
    let resp = http
        .post(format!("{base}/admin/login"))
        .header(reqwest::header::COOKIE, &login_cookie)
        .form(&[("token", TOKEN), ("csrf", csrf.as_str())])
        .send()
        .await
        .map_err(anyhow::Error::from)?;
    cookie_of(&resp, "amsync_admin").ok_or_else(|| CliError::failure(format!("sign-in refused: {}", resp.status())))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub async fn run(args: BenchDashboardArgs) -> CliResult<()> {
    let dir = tempfile::tempdir()?;
    let path = args.db.clone().unwrap_or_else(|| dir.path().join("dashboard.db"));
    let _ = std::fs::remove_file(&path);
    let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let sim =
        amsync_sim::start(amsync_sim::SimConfig { members: 20, seed: 42, ..Default::default() }, sim_listener).await?;
    // The template: the simulated member with the most memberships.
    let truth = sim
        .truths()
        .into_iter()
        .max_by_key(|t| t.memberships.len())
        .ok_or_else(|| CliError::failure("the simulator has no member"))?;
    let community = truth.memberships.first().map(|m| m.community.key.to_string()).unwrap_or_default();
    let store = SqliteStore::open(SqliteOptions::new(&path))?;
    let source = super::bench::sim_source(SourceKind::HttpJson, &sim.base_url(), |_| {})?;
    let settings = SyncSettings { role: "bench".into(), idle_poll: Duration::from_millis(20), ..Default::default() };
    let engine = Engine::new(dyn_store(&store), source, settings);

    eprintln!("Building the database: {} members, {} history rows, {} runs…", args.members, args.history, args.runs);
    let t0 = Instant::now();
    let template = MemberKey::parse(truth.key.as_str()).map_err(|e| CliError::failure(e.to_string()))?;
    let run = engine.refresh_keys(std::slice::from_ref(&template), Trigger::Manual, json!({})).await?;
    engine.work_until_run_done(run, Some(Duration::from_secs(30))).await?;
    let (members, history, runs) = (args.members, args.history, args.runs);
    let key = template.to_string();
    store.write(move |c| fill(c, &key, members, history, runs)).await?;
    // A queue: waiting entries and dead letters with their failure.
    let waiting: Vec<MemberKey> =
        (1..=5_000).map(|n| MemberKey::parse(bench_key(n * 7 % members + 1)).expect("a valid key")).collect();
    store.enqueue(&waiting, Trigger::Periodic, None, chrono::Utc::now() + chrono::Duration::hours(1)).await?;
    let failure = Failure {
        kind: FailureKind::Data,
        part: amsync_core::error::Part::Details,
        message: "details: /email: not an e-mail address".into(),
        status: Some(200),
        excerpt: Some("{\"key\": \"B0000001\", \"email\": \"not-an-address\", …".into()),
        field: Some("/email".into()),
    };
    let failure = serde_json::to_string(&failure).map_err(anyhow::Error::from)?;
    store
        .write(move |c| {
            c.execute(
                "UPDATE refresh_queue SET state = 'dead', attempts = 8, last_error = ?1, last_error_at = enqueued_at
                 WHERE id IN (SELECT id FROM refresh_queue ORDER BY id LIMIT 1000)",
                [&failure],
            )?;
            c.execute_batch("ANALYZE")?;
            Ok(())
        })
        .await?;
    let build_s = t0.elapsed().as_secs_f64();
    let counts = store
        .read(|c| {
            let mut out = serde_json::Map::new();
            for t in ["members", "member_history", "memberships", "runs", "refresh_queue", "audit_log"] {
                let n: i64 = c.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))?;
                out.insert(t.to_string(), json!(n));
            }
            Ok(serde_json::Value::Object(out))
        })
        .await?;
    eprintln!("Built in {build_s:.1}s: {counts}");

    let state = AppState {
        store: dyn_store(&store),
        engine: engine.clone(),
        tokens: Arc::new(Tokens::new(vec![TOKEN.into()], vec![])),
        settings: Arc::new(WebSettings::default()),
        access: Arc::new(amsync_web::access_cache::AccessCache::new()),
        sign_on: Arc::new(amsync_web::sso::SignOn::unconfigured(
            url::Url::parse("http://127.0.0.1/").map_err(anyhow::Error::from)?,
        )),
        readiness: Arc::new(|| Box::pin(async { Ok(()) })),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let stop = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(amsync_web::serve(listener, state, stop.clone()));
    let http =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().map_err(anyhow::Error::from)?;
    let cookie = sign_in(&http, &base).await?;
    let some_run: i64 = store.read(|c| Ok(c.query_row("SELECT max(id) / 2 FROM runs", [], |r| r.get(0))?)).await?;

    let mut results = serde_json::Map::new();
    let mut worst: f64 = 0.0;
    eprintln!("{:<40} {:>9} {:>9} {:>9}  bytes", "page", "p50 ms", "p95 ms", "max ms");
    for (label, page) in pages(some_run, members, &community) {
        let mut times = Vec::with_capacity(args.iterations);
        let mut bytes = 0;
        for i in 0..args.iterations + 2 {
            let t = Instant::now();
            let r = http
                .get(format!("{base}{page}"))
                .header(reqwest::header::COOKIE, &cookie)
                .send()
                .await
                .map_err(anyhow::Error::from)?;
            let status = r.status();
            let body = r.bytes().await.map_err(anyhow::Error::from)?;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            if !status.is_success() {
                return Err(CliError::failure(format!("{page}: HTTP {status}")));
            }
            bytes = body.len();
            // The first two warm the caches.
            if i >= 2 {
                times.push(ms);
            }
        }
        times.sort_by(f64::total_cmp);
        let (p50, p95, max) = (percentile(&times, 0.5), percentile(&times, 0.95), *times.last().unwrap_or(&0.0));
        worst = worst.max(p95);
        eprintln!("{label:<40} {p50:>9.1} {p95:>9.1} {max:>9.1}  {bytes}");
        results.insert(
            label.to_string(),
            json!({"path": page, "p50_ms": p50, "p95_ms": p95, "max_ms": max, "bytes": bytes}),
        );
    }
    stop.cancel();
    let _ = server.await;
    store.shutdown().await;
    sim.shutdown().await;
    let line = json!({
        "bench": "dashboard",
        "members": args.members,
        "history_rows": args.history,
        "runs": args.runs,
        "iterations": args.iterations,
        "build_seconds": build_s,
        "rows": counts,
        "pages": results,
        "worst_p95_ms": worst,
        "within_200ms": worst <= 200.0,
    });
    println!("{line}");
    Ok(())
}
