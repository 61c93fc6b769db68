//! Measures the SQLite store's commit path with realistic members.
//!
//! ```text
//! cargo run --release -p amsync-store --example commit_bench -- --members 100000 [--concurrency 256] [--db FILE] [--load-only] [--shuffle]
//! ```
//!
//! Phases: the initial load (every member created), an unchanged re-run
//! (hashes equal: bookkeeping only), the same through the Refresh Queue
//! (enqueue, claim in batches, commit under the claim), and a rule re-apply
//! over every member. Members are built on the fly by the committing tasks
//! (about 4 phones, 4 social links, 4 demographics, 3 memberships, 2 groups,
//! and their JSON payloads), so memory stays what the store itself uses.
//! Prints members/s per phase and the peak RSS of the process.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use amsync_core::community::{Community, Membership};
use amsync_core::diff::FetchedMember;
use amsync_core::member::{Address, Demographic, MemberDetails, Phone, SocialLink};
use amsync_core::rules::{CommunityRule, RuleAction, RuleSet};
use amsync_core::{CommunityKey, GroupKey, MemberKey, PayloadFormat, RawPayload, SecurityGroupRef, Trigger};
use amsync_store::sqlite::{SqliteOptions, SqliteStore};
use amsync_store::*;
use chrono::{DateTime, Utc};

struct Args {
    members: usize,
    concurrency: usize,
    db: Option<std::path::PathBuf>,
    /// Stop after the initial load (for profiling it).
    load_only: bool,
    /// Commit members in a scrambled key order (keys arrive in no order, so
    /// every key-ordered b-tree takes inserts all over).
    shuffle: bool,
}

fn parse_args() -> Args {
    let mut a = Args { members: 100_000, concurrency: 256, db: None, load_only: false, shuffle: false };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--members" => a.members = value().parse().expect("--members N"),
            "--concurrency" => a.concurrency = value().parse().expect("--concurrency N"),
            "--db" => a.db = Some(value().into()),
            "--load-only" => a.load_only = true,
            "--shuffle" => a.shuffle = true,
            other => {
                panic!("unknown argument {other}; use --members N --concurrency N --db FILE --load-only --shuffle")
            }
        }
    }
    a
}

fn key(i: usize) -> MemberKey {
    MemberKey::parse(format!("M{i:07}")).expect("valid key")
}

fn membership(c: &str, group_type: &str, begin: &str) -> Membership {
    Membership {
        community: Community {
            key: CommunityKey::parse(c).expect("valid key"),
            name: Some(format!("{c} of the Association")),
            community_type: Some("Chapter".into()),
            group_type: Some(group_type.into()),
            group_subtype: None,
        },
        begin: begin.parse().expect("date"),
        end: Some("2027-12-31".parse().expect("date")),
        role: Some("Member".into()),
    }
}

/// A realistic member, different per index.
fn member(i: usize) -> FetchedMember {
    let mut d = MemberDetails::empty(key(i));
    d.prefix = Some("Dr.".into());
    d.first_name = Some(format!("First{}", i % 977));
    d.last_name = Some(format!("Last{}", i % 1931));
    d.credentials = Some("PhD".into());
    d.email = Some(format!("member{i}@example.org"));
    d.phones = (0..4)
        .map(|p| Phone {
            kind: Some(["Work", "Mobile", "Home", "Fax"][p].into()),
            number: format!("+1 202 555 {i:04}{p}"),
        })
        .collect();
    d.address = Some(Address {
        line1: Some(format!("{} Analytical Way", i % 500)),
        line2: Some("Suite 100".into()),
        city: Some("Washington".into()),
        state: Some("DC".into()),
        postal_code: Some("20001".into()),
        country_code: Some("US".into()),
        ..Default::default()
    });
    d.website = Some(format!("https://members.example.org/{i}"));
    d.social = ["linkedin", "x", "github", "mastodon"]
        .iter()
        .map(|n| SocialLink { network: (*n).into(), url: format!("https://{n}.example/{i}") })
        .collect();
    d.demographics = ["Industry", "Employer", "Job Title", "Graduation Year"]
        .iter()
        .enumerate()
        .map(|(j, n)| Demographic {
            name: (*n).into(),
            value: Some(format!("Value {}", (i + j) % 50)),
            search: j < 2,
            network: true,
        })
        .collect();
    let chapter = format!("CH-{:03}", i % 120);
    let sig = format!("SIG-{:02}", i % 40);
    let mut memberships = vec![
        membership(&chapter, "Chapter", "2026-01-01"),
        membership(&sig, "Special Interest Group", "2026-03-01"),
        membership(&format!("CMT-{:02}", i % 30), "Committee", "2026-02-01"),
    ];
    memberships.sort_by(|a, b| a.community.key.cmp(&b.community.key).then(a.begin.cmp(&b.begin)));
    let groups = vec![
        SecurityGroupRef { key: GroupKey::parse("MEMBER").expect("key"), name: Some("Member".into()) },
        SecurityGroupRef { key: GroupKey::parse(format!("G-{:02}", i % 20)).expect("key"), name: Some("Group".into()) },
    ];
    FetchedMember { details: d, memberships, groups }
}

fn raw<T: serde::Serialize>(v: &T) -> RawPayload {
    RawPayload { format: PayloadFormat::JSON, body: serde_json::to_vec(v).expect("json") }
}

fn outcome(i: usize) -> RefreshOutcome {
    let m = member(i);
    let hashes = PartHashes::of(&m);
    let raw = RawParts { details: raw(&m.details), communities: raw(&m.memberships), groups: raw(&m.groups) };
    RefreshOutcome::Fetched { member: m, hashes, raw }
}

fn refresh(i: usize, claim: Option<&Claim>, at: DateTime<Utc>) -> RefreshCommit {
    RefreshCommit {
        claim: claim.map(Claim::token),
        key: key(i),
        trigger: Trigger::Periodic,
        run_id: claim.and_then(|c| c.run_id),
        at,
        outcome: outcome(i),
    }
}

/// CPU seconds the writer thread has used (Linux: /proc), so rates can be
/// given per second of writer CPU as well as per second of wall time: on a
/// shared machine the wall-clock rate says as much about the neighbours.
fn writer_cpu_secs() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return 0.0 };
    for t in tasks.flatten() {
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        if comm.trim() == "amsync-sqlite-w" {
            let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
            // Fields after the ")" that closes the name: utime is the 12th, stime the 13th.
            let rest = stat.rsplit(')').next().unwrap_or("");
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks = f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
                + f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
            // SAFETY: sysconf has no preconditions.
            let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
            return ticks / hz;
        }
    }
    0.0
}

/// Bytes this process has written through system calls (Linux: /proc).
fn written_bytes() -> f64 {
    let io = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
    io.lines().find_map(|l| l.strip_prefix("wchar: ")).and_then(|v| v.trim().parse().ok()).unwrap_or(0.0)
}

/// Where a phase started: writer CPU and bytes written.
struct Mark {
    cpu: f64,
    written: f64,
}

fn mark() -> Mark {
    Mark { cpu: writer_cpu_secs(), written: written_bytes() }
}

/// "N members/s (M per writer CPU second, K KiB written per member)".
fn rate(n: usize, wall: Duration, from: &Mark) -> String {
    let cpu = writer_cpu_secs() - from.cpu;
    let kib = (written_bytes() - from.written) / 1024.0 / n.max(1) as f64;
    format!(
        "{:>8.0} members/s ({:>7.0} per writer CPU second, {kib:>5.1} KiB written each)",
        n as f64 / wall.as_secs_f64(),
        n as f64 / cpu.max(1e-9)
    )
}

fn peak_rss_mib() -> f64 {
    // SAFETY: getrusage only writes the struct we pass.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    u.ru_maxrss as f64 / 1024.0
}

/// The member committed `i`-th: `i` itself, or a fixed scramble of 0..n
/// (multiplying by a prime that does not divide n is a permutation mod n).
fn nth(i: usize, n: usize, shuffle: bool) -> usize {
    const PRIME: usize = 1_000_003;
    if shuffle && n % PRIME != 0 {
        (i * PRIME) % n
    } else {
        i
    }
}

/// Commits every member from `args.concurrency` tasks; returns the wall time.
async fn commit_all(store: &Arc<SqliteStore>, args: &Args, expect: fn(&CommitOutcome) -> bool) -> Duration {
    let (n, concurrency, shuffle) = (args.members, args.concurrency, args.shuffle);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (store, next) = (store.clone(), next.clone());
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let i = nth(i, n, shuffle);
                let out = store.commit_refresh(refresh(i, None, Utc::now())).await.expect("commit");
                assert!(expect(&out), "member {i}: {out:?}");
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.expect("task");
    }
    started.elapsed()
}

/// Enqueues every member in a run; returns the run and the wall time.
async fn enqueue_all(store: &Arc<SqliteStore>, n: usize, shuffle: bool) -> (RunId, Duration) {
    let now = Utc::now();
    let run = store.start_run(Trigger::Full, now, None, serde_json::json!({})).await.expect("run");
    let keys: Vec<MemberKey> = (0..n).map(|i| key(nth(i, n, shuffle))).collect();
    let started = Instant::now();
    store.enqueue(&keys, Trigger::Full, Some(run), now).await.expect("enqueue");
    let took = started.elapsed();
    store.finish_listing(run, now, None, None).await.expect("listing");
    (run, took)
}

/// The product's path: workers claim in batches of 64 and commit under
/// their claims; returns the wall time.
async fn work_queue(store: &Arc<SqliteStore>, n: usize, run: RunId, concurrency: usize) -> Duration {
    let started = Instant::now();
    let workers = (concurrency / 64).max(2);
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..workers {
        let store = store.clone();
        tasks.spawn(async move {
            let node = format!("bench-{w}");
            loop {
                let claims = store.claim(64, &node, Utc::now(), Duration::from_secs(120)).await.expect("claim");
                if claims.is_empty() {
                    break;
                }
                let mut commits = tokio::task::JoinSet::new();
                for c in claims {
                    let store = store.clone();
                    commits.spawn(async move {
                        let i: usize = c.key.as_str()[1..].parse().expect("bench key");
                        store.commit_refresh(refresh(i, Some(&c), Utc::now())).await.expect("commit")
                    });
                }
                while let Some(r) = commits.join_next().await {
                    assert!(r.expect("task").is_unchanged());
                }
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.expect("task");
    }
    let took = started.elapsed();
    let r = store.get_run(run).await.expect("run").expect("run exists");
    assert_eq!((r.outcome, r.counts.unchanged), (RunOutcome::Succeeded, n as u64), "{r:?}");
    took
}

fn per_transaction(store: &SqliteStore, before: WriterStatsSnapshot) -> f64 {
    let now = store.writer_stats();
    (now.ops - before.ops) as f64 / (now.batches - before.batches).max(1) as f64
}

type WriterStatsSnapshot = amsync_store::sqlite::WriterStats;

#[tokio::main]
async fn main() {
    let args = parse_args();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = args.db.clone().unwrap_or_else(|| dir.path().join("bench.db"));
    let store = SqliteStore::open(SqliteOptions::new(&path)).expect("open");
    let n = args.members;
    println!(
        "{n} members{}, {} concurrent committers, database {}",
        if args.shuffle { " in scrambled order" } else { "" },
        args.concurrency,
        path.display()
    );

    let (stats, m) = (store.writer_stats(), mark());
    let took = commit_all(&store, &args, |o| matches!(o, CommitOutcome::Applied { .. })).await;
    println!("initial load:     {}  {:.0} commits/transaction", rate(n, took, &m), per_transaction(&store, stats));
    if args.load_only {
        return;
    }

    let (stats, m) = (store.writer_stats(), mark());
    let took = commit_all(&store, &args, CommitOutcome::is_unchanged).await;
    println!("unchanged re-run: {}  {:.0} commits/transaction", rate(n, took, &m), per_transaction(&store, stats));

    let m = mark();
    let (run, took) = enqueue_all(&store, n, args.shuffle).await;
    println!("enqueue:          {}", rate(n, took, &m).replace("members", "   keys"));
    let (stats, m) = (store.writer_stats(), mark());
    let took = work_queue(&store, n, run, args.concurrency).await;
    println!("queue, unchanged: {}  {:.0} ops/transaction", rate(n, took, &m), per_transaction(&store, stats));

    let exclude = RuleSet::new(vec![CommunityRule {
        action: RuleAction::Exclude,
        group_type: Some("Committee".into()),
        group_subtype: None,
    }]);
    let (started, m) = (Instant::now(), mark());
    let sum = store.reapply_rules(&exclude, Trigger::Rules, None, Utc::now()).await.expect("reapply");
    println!("rules re-apply:   {}  {} changed", rate(n, started.elapsed(), &m), sum.changed);
    let (started, m) = (Instant::now(), mark());
    let sum = store.reapply_rules(&exclude, Trigger::Rules, None, Utc::now()).await.expect("reapply");
    println!("rules, no change: {}  {} changed", rate(n, started.elapsed(), &m), sum.changed);

    let started = Instant::now();
    let page = store.search_members(&MemberQuery { q: Some("member99".into()), limit: 50, ..Default::default() }).await;
    println!("search 'member99': {} hits in {:.2?}", page.expect("search").items.len(), started.elapsed());

    store.shutdown().await;
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!("database file: {:.0} MiB", size as f64 / 1024.0 / 1024.0);
    println!("peak RSS: {:.0} MiB", peak_rss_mib());
}
