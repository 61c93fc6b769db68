//! The command line: exit codes, keys not yet available refused at start,
//! `init`, `refresh` working the queue when no node serves, `status` as a
//! table and as JSON, `migrate`, `backup`.

use std::process::Output;

use amsync_sim::SimConfig;

use crate::helpers::{init_tracing, ADMIN_TOKEN};

async fn amsync(args: &[&str], dir: &std::path::Path) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_amsync"))
        .args(args)
        .current_dir(dir)
        .env("AMSYNC_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("amsync runs")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_config_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.toml"), "[member_refresh]\nworkerz = 3\n").unwrap();
    let out = amsync(&["status", "--config", "bad.toml"], dir.path()).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("member_refresh.workerz"), "{}", text(&out));

    std::fs::write(dir.path().join("bad2.toml"), "[periodic_refresh]\ninterval = \"soon\"\n").unwrap();
    let out = amsync(&["status", "--config", "bad2.toml"], dir.path()).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("periodic_refresh.interval"), "{}", text(&out));

    let out = amsync(&["refresh", "--config", "bad.toml", "--all", "--member", "M1"], dir.path()).await;
    assert_eq!(out.status.code(), Some(2), "conflicting arguments are a usage error: {}", text(&out));
}

/// `amsync serve --config FILE` with `envs`, to its end (at most 30 s: a
/// serve that starts is a failure here); the exit code and its stderr.
async fn serve_refusal(config: &str, envs: &[(&str, &str)], dir: &std::path::Path) -> (Option<i32>, String) {
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_amsync"))
        .args(["serve", "--config", config])
        .current_dir(dir)
        .env("AMSYNC_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("RUST_LOG", "warn")
        .envs(envs.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("amsync runs");
    let out = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("serve started with {config} and {envs:?} instead of refusing it"))
        .unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Every key of the not-yet-available list stops `serve` at start with
/// exit code 2 and the key named, whether the file or the environment
/// writes it: nothing is accepted and then ignored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_not_yet_available_stop_serve_with_exit_2_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let base = "[ams]\nbase_url = \"http://127.0.0.1:9/\"\n[web]\nlisten = \"127.0.0.1:0\"\n";
    let mut cases: Vec<(String, String)> = Vec::new();
    for entry in amsync_config::NOT_YET_AVAILABLE {
        let file = match entry.key.rsplit_once('.') {
            Some((table, leaf)) => format!("{base}[{table}]\n{leaf} = \"16MiB\"\n"),
            None => format!("{base}[{}]\nnext_token_env = \"NEXT\"\n", entry.key),
        };
        cases.push((file, entry.key.to_string()));
    }
    // What the template of earlier versions offered, as an admin would fill it in.
    cases.push((
        format!(
            "{base}[webhooks]\noutbound = [{{ url = \"https://hooks.example.org/amsync\", secret_env = \"HOOK\" }}]\n"
        ),
        "webhooks.outbound".into(),
    ));
    for (i, (file, key)) in cases.iter().enumerate() {
        let name = format!("refused-{i}.toml");
        std::fs::write(dir.path().join(&name), file).unwrap();
        let (code, stderr) = serve_refusal(&name, &[("HOOK", "hook-secret")], dir.path()).await;
        assert_eq!(code, Some(2), "{file}\n{stderr}");
        assert!(stderr.contains(key.as_str()) && stderr.contains("not available in this version"), "{file}\n{stderr}");
    }

    std::fs::write(dir.path().join("ok.toml"), base).unwrap();
    for entry in amsync_config::NOT_YET_AVAILABLE {
        let var = format!("AMSYNC_{}__TOKEN_ENV", entry.key.to_ascii_uppercase().replace('.', "__"));
        let (code, stderr) = serve_refusal("ok.toml", &[(var.as_str(), "SOME_VARIABLE")], dir.path()).await;
        assert_eq!(code, Some(2), "{var}: {stderr}");
        assert!(
            stderr.contains(&format!("{var} (sets {}.token_env): not available in this version", entry.key)),
            "{var}: {stderr}"
        );
    }
}

/// The source kinds this version does not run (they pass validation) are
/// refused by the AMS factory when `serve`, `check` or `refresh` builds the
/// source: exit code 2, naming the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_kinds_not_available_stop_serve_check_and_refresh_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let web = "[web]\nlisten = \"127.0.0.1:0\"\n";
    // A credential service for the kinds that have none, so `sso.mode` validates.
    let service = "[auth]\nkind = \"http-json\"\nbase_url = \"http://127.0.0.1:9/\"\n";
    let refused = |kind: &str| {
        format!("ams.kind = \"{kind}\" is not available in this version; use \"http-json\", \"http-xml\" or \"soap\"")
    };
    let cases = [
        (
            format!("[ams]\nkind = \"sql\"\n[ams.sql]\nurl_env = \"AMS_DB_URL\"\nchanged_members = \"SELECT 1\"\nmember_details = \"SELECT 1\"\nmember_communities = \"SELECT 1\"\nmember_security_groups = \"SELECT 1\"\nchanged_events = \"SELECT 1\"\n{service}{web}"),
            refused("sql"),
        ),
        (
            format!("[ams]\nkind = \"scim\"\n[ams.scim]\nbase_url = \"https://scim.example.org\"\ntoken_env = \"SCIM_TOKEN\"\n{service}{web}"),
            refused("scim"),
        ),
        (format!("[ams]\nkind = \"push\"\n{service}{web}"), refused("push")),
    ];
    let envs = [("AMS_DB_URL", "postgres://u:p@127.0.0.1/ams"), ("SCIM_TOKEN", "scim-token")];
    for (i, (file, want)) in cases.iter().enumerate() {
        let name = format!("kind-{i}.toml");
        std::fs::write(dir.path().join(&name), file).unwrap();
        let (code, stderr) = serve_refusal(&name, &envs, dir.path()).await;
        assert_eq!(code, Some(2), "serve, {file}\n{stderr}");
        assert!(stderr.contains(want.as_str()), "serve, {file}\n{stderr}");
        for args in [vec!["check", "--config", &name], vec!["refresh", "--config", &name, "--all"]] {
            let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_amsync"))
                .args(&args)
                .current_dir(dir.path())
                .env("AMSYNC_ADMIN_TOKEN", ADMIN_TOKEN)
                .env("RUST_LOG", "warn")
                .envs(envs)
                .output()
                .await
                .unwrap();
            assert_eq!(out.status.code(), Some(2), "{args:?}, {file}\n{}", text(&out));
            assert!(text(&out).contains(want.as_str()), "{args:?}, {file}\n{}", text(&out));
        }
    }
}

/// A `postgres://` `database.url` stops every command that opens the
/// database, with exit code 2 and the key named: the store has a
/// PostgreSQL backend, but a node does not run end to end on it yet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_database_url_stops_every_command_that_opens_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let file =
        "[database]\nurl = \"postgres://postgres@127.0.0.1:5432/amsync\"\n[ams]\nbase_url = \"http://127.0.0.1:9/\"\n\
                [web]\nlisten = \"127.0.0.1:0\"\n";
    std::fs::write(dir.path().join("pg.toml"), file).unwrap();
    let want = "database.url: PostgreSQL is not available in this version; use sqlite://FILE";
    for command in ["serve", "worker"] {
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_amsync"))
            .args([command, "--config", "pg.toml"])
            .current_dir(dir.path())
            .env("AMSYNC_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("amsync runs");
        let out = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("{command} started on PostgreSQL instead of refusing it"))
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command}: {stderr}");
        assert!(stderr.contains(want), "{command}: {stderr}");
    }
    for command in ["migrate", "status", "check"] {
        let out = amsync(&[command, "--config", "pg.toml"], dir.path()).await;
        assert_eq!(out.status.code(), Some(2), "{command}: {}", text(&out));
        assert!(text(&out).contains(want), "{command}: {}", text(&out));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_writes_a_config_that_loads() {
    let dir = tempfile::tempdir().unwrap();
    let out = amsync(&["init", "--out", "amsync.toml"], dir.path()).await;
    assert!(out.status.success(), "{}", text(&out));
    let written = std::fs::read_to_string(dir.path().join("amsync.toml")).unwrap();
    assert!(written.contains("[member_refresh]") && written.contains('#'), "commented config");
    let again = amsync(&["init", "--out", "amsync.toml"], dir.path()).await;
    assert_eq!(again.status.code(), Some(2), "does not overwrite without --force");
    amsync_config::Config::from_toml_str(&written, Vec::new()).expect("the template loads");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_works_the_queue_without_a_server_and_status_reports_it() {
    init_tracing();
    let sim = amsync_sim::start(
        SimConfig { members: 60, ..SimConfig::default() },
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("amsync.toml"),
        format!(
            "[database]\nurl = \"sqlite://amsync.db\"\n[ams]\nbase_url = \"{}\"\n[member_refresh]\nbackoff_initial = \"100ms\"\n",
            sim.base_url()
        ),
    )
    .unwrap();
    let out = amsync(&["refresh", "--config", "amsync.toml", "--all"], dir.path()).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("60 refreshed"), "{}", text(&out));

    let out = amsync(&["refresh", "--config", "amsync.toml", "--member", "M000002"], dir.path()).await;
    assert!(out.status.success(), "{}", text(&out));

    let out = amsync(&["status", "--config", "amsync.toml", "--json"], dir.path()).await;
    assert!(out.status.success(), "{}", text(&out));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["members"], 60);
    assert_eq!(status["full_refresh"]["outcome"], "succeeded");
    assert_eq!(status["queue"]["dead"], 0);

    let out = amsync(&["status", "--config", "amsync.toml"], dir.path()).await;
    assert!(out.status.success());
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("members") && table.contains("60"), "{table}");
    assert!(table.contains("sqlite://amsync.db"), "{table}");

    let out = amsync(&["backup", "--config", "amsync.toml", "--out", "copy.db"], dir.path()).await;
    assert!(out.status.success(), "{}", text(&out));
    let copy =
        amsync_store::sqlite::SqliteStore::open(amsync_store::sqlite::SqliteOptions::new(dir.path().join("copy.db")))
            .unwrap();
    assert_eq!(amsync_store::MemberStore::member_count(copy.as_ref()).await.unwrap(), 60);
    copy.shutdown().await;

    let out = amsync(&["migrate", "--config", "amsync.toml"], dir.path()).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("current"), "{}", text(&out));
}

/// `amsync demo`: a simulated AMS, SQLite in the working directory, the API
/// and dashboard; it prints the admin token and syncs within seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_syncs_and_prints_what_to_open() {
    let _heavy = crate::helpers::HEAVY.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let (mut child, banner) =
        crate::demo::start_demo(dir.path(), &["--members", "150", "--change-every", "1"], None).await;
    let (mut base, mut token) = (None, None);
    for line in &banner {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["dashboard", url, ..] => base = Some(url.trim_end_matches("/admin").to_string()),
            ["admin", "token", t] => token = Some(t.to_string()),
            _ => {}
        }
    }
    let (base, token) = (base.expect("the dashboard address is printed"), token.expect("the admin token is printed"));
    assert!(dir.path().join("amsync-demo.db").exists(), "SQLite in the working directory");
    let client = reqwest::Client::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let status: serde_json::Value = client
            .get(format!("{base}/api/v1/sync/status"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        // The initial load done, and the trickle of changes flowing through.
        if status["members"] == 150 && status["periodic_refresh"]["last_run"]["counts"]["listed"].as_u64() > Some(0) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the demo did not sync: {status}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let dashboard = client.get(format!("{base}/admin")).send().await.unwrap();
    assert!(dashboard.status().is_redirection() || dashboard.status().is_success());
    child.kill().await.unwrap();
}

/// `amsync bench refresh` on a small population: the simulator in its own
/// process, the JSON line last, every member created, nothing written by
/// the unchanged re-run, and the writer's figures present. `--workers`
/// unset follows `--max-concurrency` as `member_refresh.workers` does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_refresh_prints_its_figures_as_one_json_line() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let out = amsync(&["bench", "refresh", "--members", "400", "--max-concurrency", "48"], dir.path()).await;
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().expect("a JSON line");
    let v: serde_json::Value = serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {last}"));
    assert_eq!(v["bench"], "refresh");
    assert_eq!((v["max_concurrency"].as_u64(), v["workers"].as_u64()), (Some(48), Some(24)), "{last}");
    assert_eq!(v["created"], 400);
    assert_eq!(v["failed"], 0);
    assert_eq!(v["unchanged_writes_no_rows"], true);
    assert_eq!(v["rows"]["members"], 400);
    // A first load writes several pages per member (the member row, its
    // children, payloads, history, the queue); an unchanged re-run fewer.
    let first = v["pages_written_per_member"].as_f64().unwrap();
    let unchanged = v["unchanged_pages_written_per_member"].as_f64().unwrap();
    assert!(first > 1.0 && unchanged > 0.0 && unchanged < first, "{first} then {unchanged}");
    assert!(v["writer_cpu_us_per_member"].as_f64().is_some(), "{last}");
    assert!(v["peak_rss_mb"].as_f64().unwrap() > 0.0);
}
