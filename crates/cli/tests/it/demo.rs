//! `amsync demo` shows what the product does: its member group counts as
//! IsMember, and each member it suggests (picked from the simulated data)
//! has memberships current, future and past, AMS groups, IsMember where its
//! groups say so, an access summary on the dashboard, access to a
//! community it is a current member of, and a change in its history.

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use serde_json::Value;
use tokio::io::AsyncBufReadExt;

use crate::admin_client::AdminClient;
use crate::helpers::{init_tracing, HEAVY};

/// A member line of the demo's banner: its key and whether it is said to
/// count as IsMember.
fn suggested(line: &str) -> Option<(String, bool)> {
    if !line.contains("memberships current, future and past") {
        return None;
    }
    let key = line.split_whitespace().next()?.to_string();
    Some((key, !line.contains("not IsMember")))
}

/// Starts `amsync demo <args> --listen 127.0.0.1:0` in `dir` (with the
/// admin token given, or one of its own) and returns it with the lines of
/// its banner, up to "Press Ctrl-C".
pub(crate) async fn start_demo(
    dir: &std::path::Path,
    args: &[&str],
    admin_token: Option<&str>,
) -> (tokio::process::Child, Vec<String>) {
    init_tracing();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_amsync"));
    command.arg("demo").args(args).args(["--listen", "127.0.0.1:0"]).current_dir(dir).env("RUST_LOG", "warn");
    match admin_token {
        Some(t) => command.env("AMSYNC_ADMIN_TOKEN", t),
        None => command.env_remove("AMSYNC_ADMIN_TOKEN"),
    };
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut banner = Vec::new();
    while let Ok(Some(line)) = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await.unwrap() {
        let end = line.contains("Press Ctrl-C");
        banner.push(line);
        if end {
            break;
        }
    }
    (child, banner)
}

fn term(m: &Value, today: NaiveDate) -> &'static str {
    let day = |v: &Value| v.as_str().and_then(|s| s.parse::<NaiveDate>().ok());
    match (day(&m["begin"]), day(&m["end"])) {
        (Some(b), _) if b > today => "future",
        (_, Some(e)) if e < today => "past",
        _ => "current",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_members_the_demo_suggests_show_memberships_groups_is_member_access_and_history() {
    let _heavy = HEAVY.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let args = ["--members", "1000", "--changes", "0"];
    let (mut child, banner) = start_demo(dir.path(), &args, Some(crate::helpers::ADMIN_TOKEN)).await;
    let (mut base, mut members) = (None, Vec::new());
    for line in &banner {
        if let ["dashboard", url, ..] = line.split_whitespace().collect::<Vec<_>>().as_slice() {
            base = Some(url.trim_end_matches("/admin").to_string());
        }
        members.extend(suggested(line));
    }
    let base = base.expect("the dashboard address is printed");
    assert_eq!(members.iter().filter(|m| m.1).count(), 1, "one member counting as IsMember: {members:?}");
    assert_eq!(members.len(), 2, "and one not, for the difference: {members:?}");
    assert!(members.iter().all(|m| m.0 != "M000001"), "picked from the data, not a fixed key: {members:?}");

    let client = reqwest::Client::new();
    let get = |path: String| {
        let req = client.get(format!("{base}{path}")).bearer_auth(crate::helpers::ADMIN_TOKEN);
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let today = chrono::Utc::now().date_naive();
    let admin = AdminClient::sign_in_at(&base, crate::helpers::ADMIN_TOKEN).await.expect("the dashboard opens");
    for (key, is_member) in &members {
        let deadline = Instant::now() + Duration::from_secs(60);
        let doc = loop {
            let doc = get(format!("/api/v1/members/{key}")).await;
            if doc["key"] == key.as_str() {
                break doc;
            }
            assert!(Instant::now() < deadline, "{key} was not loaded: {doc}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let memberships = doc["memberships"].as_array().unwrap();
        let terms: Vec<&str> = memberships.iter().map(|m| term(m, today)).collect();
        for t in ["current", "future", "past"] {
            assert!(terms.contains(&t), "{key} has a {t} membership: {doc}");
        }
        let groups: Vec<&str> =
            doc["security_groups"].as_array().unwrap().iter().filter_map(|g| g["key"].as_str()).collect();
        assert!(!doc["ams_groups"].as_array().unwrap().is_empty(), "{key} has AMS groups: {doc}");
        assert_eq!(groups.contains(&"IsMember"), *is_member, "{key}'s IsMember: {groups:?}");

        // A community it is a current member of is open to it.
        let current = memberships.iter().find(|m| term(m, today) == "current").unwrap();
        let community = current["community"]["key"].as_str().unwrap();
        let access = get(format!("/api/v1/access?member={key}&resource=discussion:{community}")).await;
        assert_eq!(access["allowed"], true, "{access}");

        // The dashboard's access summary names each community with its term.
        let (status, page) = admin.get_html(&format!("/admin/members/{key}")).await;
        assert!(status.is_success(), "{page}");
        assert!(page.contains(&format!("{community}: current")), "the access summary: {page}");
        assert!(page.contains(if *is_member { "IsMember" } else { "Authenticated" }), "{page}");

        // Changed in the simulated AMS once loaded: the periodic refresh
        // (every 10 s in the demo) records the change.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let history = get(format!("/api/v1/members/{key}/history")).await;
            let changed = history["changes"].as_array().unwrap().iter().any(|e| {
                e["kind"] == "changed" && e["fields"].as_array().unwrap().iter().any(|f| f["field"] == "/credentials")
            });
            if changed {
                break;
            }
            assert!(Instant::now() < deadline, "{key}'s history shows no change: {history}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    child.kill().await.unwrap();
}

/// Someone who starts the demo in a pipe and stops reading (`amsync demo |
/// head`, a test that reads only the banner) has closed its output: the
/// demo keeps serving rather than dying of the broken pipe when it prints.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_keeps_serving_when_its_output_is_closed() {
    let _heavy = HEAVY.lock().await;
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let port = crate::child::free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_amsync"))
        .args(["demo", "--members", "50", "--changes", "0", "--listen", &listen])
        .current_dir(dir.path())
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // The reader goes away before the banner is printed.
    drop(child.stdout.take());
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(format!("http://{listen}/readyz")).send().await {
            if r.status().is_success() {
                break;
            }
        }
        assert!(child.try_wait().unwrap().is_none(), "the demo ended: {:?}", child.try_wait());
        assert!(Instant::now() < deadline, "the demo never became ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Past its banner, and still serving.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(child.try_wait().unwrap().is_none(), "the demo died after its banner: {:?}", child.try_wait());
    assert!(client.get(format!("http://{listen}/healthz")).send().await.unwrap().status().is_success());
    child.kill().await.unwrap();
}
