//! The PostgreSQL backend against the machine's PostgreSQL
//! (127.0.0.1:5432, user postgres, trust), each test in a database of its
//! own that is dropped at its end. A server that cannot be reached fails
//! the test, saying how to start it: these tests never skip.
//!
//! What they cover until `PgBackend` implements the whole `Backend` (and
//! the store conformance suite runs on it): migrations, and the ops of
//! `ops/` over `PgTx` (the refresh commit, the queue's lifecycle, runs),
//! under concurrency where PostgreSQL differs from SQLite's one writer.

use std::sync::Arc;

use amsync_core::community::{Community, Membership};
use amsync_core::diff::{ChangeKind, FetchedMember};
use amsync_core::member::MemberDetails;
use amsync_core::safety::Thresholds;
use amsync_core::{CommunityKey, GroupKey, MemberKey, PayloadFormat, RawPayload, SecurityGroupRef, Trigger};
use chrono::{DateTime, Utc};
use tokio_postgres::NoTls;

use super::{migrate, PgBackend, PgOptions};
use crate::backend::{FeedReads, MemberReads, QueueReads, RunReads};
use crate::error::StoreError;
use crate::ops::queue::{ClaimDue, Enqueue};
use crate::ops::refresh::CommitRefresh;
use crate::ops::runs::{FinishListing, StartRun};
use crate::types::*;

const SERVER: &str = "postgres://postgres@127.0.0.1:5432";

fn unreachable(e: impl std::fmt::Display) -> ! {
    panic!(
        "PostgreSQL at 127.0.0.1:5432 (user postgres) is needed by this test and cannot be reached ({e}); \
         start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
    )
}

async fn admin() -> tokio_postgres::Client {
    let (client, conn) =
        tokio_postgres::connect(&format!("{SERVER}/postgres"), NoTls).await.unwrap_or_else(|e| unreachable(e));
    tokio::spawn(conn);
    client
}

/// A database of its own for one test, dropped when the test ends.
pub(crate) struct TestDatabase {
    pub name: String,
}

impl TestDatabase {
    pub async fn new() -> TestDatabase {
        let name = format!("amsync_test_{}_{:x}", std::process::id(), rand_suffix());
        admin().await.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("create the test database");
        TestDatabase { name }
    }

    pub fn url(&self) -> String {
        format!("{SERVER}/{}", self.name)
    }

    pub async fn open(&self) -> PgBackend {
        PgBackend::open(PgOptions::new(self.url())).await.expect("open the PostgreSQL store")
    }

    pub async fn client(&self) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&self.url(), NoTls).await.unwrap_or_else(|e| unreachable(e));
        tokio::spawn(conn);
        client
    }
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    h.finish()
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Dropped inside the test's runtime: a thread with its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            rt.block_on(async move {
                if let Ok((client, conn)) = tokio_postgres::connect(&format!("{SERVER}/postgres"), NoTls).await {
                    tokio::spawn(conn);
                    let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                }
            });
        })
        .join();
    }
}

fn t0() -> DateTime<Utc> {
    "2026-11-29T14:00:00Z".parse().unwrap()
}

fn key(k: &str) -> MemberKey {
    MemberKey::parse(k).unwrap()
}

fn member(k: &str, last: &str) -> FetchedMember {
    let mut details = MemberDetails::empty(key(k));
    details.last_name = Some(last.into());
    let community = Community {
        key: CommunityKey::parse("CH1").unwrap(),
        name: Some("Chapter one".into()),
        community_type: Some("Chapter".into()),
        group_type: Some("Chapter".into()),
        group_subtype: None,
    };
    FetchedMember {
        details,
        memberships: vec![Membership { community, begin: "2020-01-01".parse().unwrap(), end: None, role: None }],
        groups: vec![SecurityGroupRef { key: GroupKey::parse("MEMBER").unwrap(), name: Some("Members".into()) }],
    }
}

fn fetched(k: &str, last: &str, claim: Option<ClaimToken>, run_id: Option<RunId>, at: DateTime<Utc>) -> CommitRefresh {
    let member = member(k, last);
    let raw = RawPayload { format: PayloadFormat::JSON, body: b"{}".to_vec() };
    let outcome = RefreshOutcome::Fetched {
        hashes: PartHashes::of(&member),
        member,
        raw: RawParts { details: raw.clone(), communities: raw.clone(), groups: raw },
    };
    let commit = RefreshCommit { claim, key: key(k), trigger: Trigger::Full, run_id, at, outcome };
    CommitRefresh::new(commit, Thresholds::unlimited())
}

fn enqueue(keys: &[&str], run_id: Option<RunId>, at: DateTime<Utc>) -> Enqueue {
    Enqueue { keys: keys.iter().map(|k| k.to_string()).collect(), trigger: Trigger::Full, run_id, due: at, now: at }
}

fn claim(limit: usize, node: &str, at: DateTime<Utc>) -> ClaimDue {
    ClaimDue { limit, node: node.into(), now: at, lease_until: at + chrono::Duration::minutes(5) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_apply_once_and_a_newer_schema_is_refused() {
    let db = TestDatabase::new().await;
    let mut c = db.client().await;
    let empty = migrate::status(&c).await.unwrap();
    assert_eq!((empty.current, empty.pending.clone()), (0, vec![1]));
    assert_eq!(migrate::apply(&mut c).await.unwrap(), vec![1]);
    assert!(migrate::apply(&mut c).await.unwrap().is_empty(), "a second run finds nothing to do");
    migrate::status(&c).await.unwrap().check().unwrap();
    // Opening applies nothing more and works.
    drop(db.open().await);
    c.batch_execute("INSERT INTO schema_migrations VALUES (999, 'future', now())").await.unwrap();
    let err = PgBackend::open(PgOptions::new(db.url())).await.unwrap_err();
    assert!(matches!(err, StoreError::SchemaTooNew { found: 999, known: 1 }), "{err}");
    assert!(matches!(migrate::apply(&mut c).await, Err(StoreError::SchemaTooNew { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_starting_together_migrate_once() {
    let db = TestDatabase::new().await;
    let url = db.url();
    let opens: Vec<_> = (0..4).map(|_| tokio::spawn(PgBackend::open(PgOptions::new(url.clone())))).collect::<Vec<_>>();
    for o in opens {
        o.await.unwrap().expect("every node opens");
    }
    let c = db.client().await;
    let n: i64 = c.query_one("SELECT COUNT(*) FROM schema_migrations", &[]).await.unwrap().get(0);
    assert_eq!(n, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_commit_writes_the_member_and_an_unchanged_one_only_bookkeeping() {
    let db = TestDatabase::new().await;
    let b = db.open().await;
    let out = b.write(fetched("A1", "Lovelace", None, None, t0())).await.unwrap();
    assert!(matches!(out, CommitOutcome::Applied { kind: ChangeKind::Created, .. }), "{out:?}");
    let got = b.get_member(&key("A1")).await.unwrap().expect("stored");
    assert_eq!(got.record.details.last_name.as_deref(), Some("Lovelace"));
    assert_eq!(got.record.memberships.len(), 1);
    assert_eq!(got.record.ams_groups.len(), 1);
    assert_eq!(got.created_at, t0());
    let again = b.write(fetched("A1", "Lovelace", None, None, t0() + chrono::Duration::minutes(1))).await.unwrap();
    assert!(again.is_unchanged(), "{again:?}");
    let changed = b.write(fetched("A1", "Byron", None, None, t0() + chrono::Duration::minutes(2))).await.unwrap();
    assert!(matches!(changed, CommitOutcome::Applied { kind: ChangeKind::Changed, fields: 1, .. }), "{changed:?}");
    let history = b.member_history(&key("A1"), 10, None).await.unwrap();
    assert_eq!(history.iter().map(|h| h.kind).collect::<Vec<_>>(), vec![ChangeKind::Changed, ChangeKind::Created]);
    let feed = b.changes_after(0, 10).await.unwrap();
    assert_eq!(feed.iter().map(|f| f.seq).collect::<Vec<_>>(), vec![1, 2], "one entry per change, none unchanged");
    assert_eq!(b.member_count().await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_is_fenced_and_a_run_finishes_with_its_last_entry() {
    let db = TestDatabase::new().await;
    let b = db.open().await;
    let run = b
        .write(StartRun { kind: Trigger::Full, at: t0(), watermark_before: None, params: serde_json::json!({}) })
        .await
        .unwrap();
    let e = b.write(enqueue(&["A1", "A2"], Some(run), t0())).await.unwrap();
    assert_eq!((e.created, e.merged), (2, 0));
    b.write(FinishListing { id: run, at: t0(), watermark_after: None, error: None }).await.unwrap();
    let claims = b.write(claim(10, "n1", t0())).await.unwrap();
    assert_eq!(claims.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(), vec!["A1", "A2"]);
    assert!(b.write(claim(10, "n2", t0())).await.unwrap().is_empty(), "nothing left to claim");
    // A stale fence writes nothing.
    let stale = ClaimToken { id: claims[0].id, fence: claims[0].fence + 1000 };
    let out = b.write(fetched("A1", "X", Some(stale), Some(run), t0())).await.unwrap();
    assert_eq!(out, CommitOutcome::Fenced);
    assert!(b.get_member(&key("A1")).await.unwrap().is_none());
    for c in &claims {
        b.write(fetched(c.key.as_str(), "X", Some(c.token()), Some(run), t0())).await.unwrap();
    }
    let counts = b.queue_counts().await.unwrap();
    assert_eq!((counts.queued, counts.running), (0, 0));
    let finished = b.get_run(run).await.unwrap().unwrap();
    assert_eq!(finished.outcome, RunOutcome::Succeeded, "{finished:?}");
    assert_eq!(finished.counts.created, 2);
}

/// Commits on many connections at once: each gets one feed entry, and
/// sequence numbers are dense and follow commit order (a reader that
/// followed the feed while they committed saw every entry exactly once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commits_keep_the_feed_in_commit_order() {
    let db = TestDatabase::new().await;
    let b = Arc::new(db.open().await);
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let b = b.clone();
            tokio::spawn(async move {
                for i in 0..25 {
                    let k = format!("W{w}M{i:02}");
                    b.write(fetched(&k, "X", None, None, t0())).await.unwrap();
                }
            })
        })
        .collect();
    // A reader follows the feed meanwhile, as a site does.
    let mut seen = Vec::new();
    let mut cursor = 0;
    while seen.len() < 200 {
        for item in b.changes_after(cursor, 50).await.unwrap() {
            cursor = item.seq;
            seen.push(item.key.as_str().to_owned());
        }
        tokio::task::yield_now().await;
    }
    for w in writers {
        w.await.unwrap();
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 200, "every commit seen once by the reader");
    let all = b.changes_after(0, 1000).await.unwrap();
    assert_eq!(all.len(), 200);
}

/// Two nodes claiming at once never take the same entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claims_take_each_entry_once() {
    let db = TestDatabase::new().await;
    let b = Arc::new(db.open().await);
    let keys: Vec<String> = (0..200).map(|i| format!("K{i:03}")).collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    b.write(enqueue(&refs, None, t0())).await.unwrap();
    let nodes: Vec<_> = (0..4)
        .map(|n| {
            let b = b.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let got = b.write(claim(7, &format!("n{n}"), t0())).await.unwrap();
                    if got.is_empty() {
                        return mine;
                    }
                    mine.extend(got.into_iter().map(|c| c.key.as_str().to_owned()));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for n in nodes {
        all.extend(n.await.unwrap());
    }
    all.sort();
    let before = all.len();
    all.dedup();
    assert_eq!((before, all.len()), (200, 200), "each entry claimed exactly once");
    assert_eq!(b.queue_counts().await.unwrap().running, 200);
}
