//! The change feed: one item per applied change, in commit order.

use amsync_core::diff::ChangeKind;
use amsync_core::Trigger;
use amsync_store::*;

use crate::fixtures::*;
use crate::harness::TestDb;

pub async fn the_feed_lists_changes_in_commit_order(db: &mut TestDb) {
    let s = db.s();
    s.commit_refresh(commit(member("B"), t0())).await.unwrap();
    s.commit_refresh(commit(member("A"), t0())).await.unwrap();
    s.commit_refresh(commit(member("A"), t0())).await.unwrap();
    let mut changed = member("B");
    changed.details.email = None;
    s.commit_refresh(commit(changed, t0() + mins(1))).await.unwrap();
    let gone = RefreshCommit {
        claim: None,
        key: key("A"),
        trigger: Trigger::Webhook,
        run_id: None,
        at: t0() + mins(2),
        outcome: RefreshOutcome::Gone { status: 404, merged_into: None },
    };
    s.commit_refresh(gone).await.unwrap();
    let feed = s.changes_after(0, 100).await.unwrap();
    let got: Vec<_> = feed.iter().map(|f| (f.key.as_str(), f.kind)).collect();
    assert_eq!(
        got,
        [
            ("B", ChangeKind::Created),
            ("A", ChangeKind::Created),
            ("B", ChangeKind::Changed),
            ("A", ChangeKind::Disabled)
        ]
    );
    assert!(feed.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(feed[3].at, t0() + mins(2));
    let rest = s.changes_after(feed[1].seq, 1).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0], feed[2]);
    assert!(s.changes_after(feed[3].seq, 10).await.unwrap().is_empty());
}

pub async fn concurrent_commits_each_get_one_feed_item(db: &mut TestDb) {
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..8 {
        let store = db.s_arc();
        tasks.spawn(async move {
            for i in 0..50 {
                store.commit_refresh(commit(member(&format!("W{w}-{i:03}")), t0())).await.unwrap();
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    let feed = db.s().changes_after(0, 1000).await.unwrap();
    assert_eq!(feed.len(), 400);
    let distinct: std::collections::HashSet<_> = feed.iter().map(|f| f.key.clone()).collect();
    assert_eq!(distinct.len(), 400);
    assert!(feed.windows(2).all(|w| w[0].seq < w[1].seq));
}
