//! The audit log: appended, listed newest first, paged, filtered by actor.

use amsync_store::*;

use crate::fixtures::*;
use crate::harness::TestDb;

fn entry(actor: &str, action: &str, minute: i64) -> NewAuditEntry {
    NewAuditEntry {
        at: t0() + mins(minute),
        actor: actor.into(),
        action: action.into(),
        target: Some(format!("target-{minute}")),
        detail: (minute % 2 == 0).then(|| format!("detail {minute}")),
        status: 200,
        request_id: Some(format!("req-{minute}")),
    }
}

pub async fn the_audit_log_lists_newest_first_pages_and_filters_by_actor(db: &mut TestDb) {
    let s = db.s();
    assert!(s.list_audit(&AuditFilter { limit: 10, ..Default::default() }).await.unwrap().is_empty());
    let mut ids = Vec::new();
    for i in 0..5 {
        let actor = if i == 3 { "M000001" } else { ADMIN_TOKEN_ACTOR };
        ids.push(s.record_audit(&entry(actor, "POST /api/v1/sync/pause", i)).await.unwrap());
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids grow: {ids:?}");
    let all = s.list_audit(&AuditFilter { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), ids.iter().rev().copied().collect::<Vec<_>>());
    let newest = &all[0];
    assert_eq!(newest.at, t0() + mins(4));
    assert_eq!(newest.detail.as_deref(), Some("detail 4"));
    assert_eq!(newest.request_id.as_deref(), Some("req-4"));
    assert_eq!(all[1].detail, None);
    let page = s.list_audit(&AuditFilter { limit: 2, before: Some(all[1].id), ..Default::default() }).await.unwrap();
    assert_eq!(page.iter().map(|e| e.id).collect::<Vec<_>>(), vec![all[2].id, all[3].id]);
    let by = s.list_audit(&AuditFilter { actor: Some("M000001".into()), limit: 10, before: None }).await.unwrap();
    assert_eq!(by.len(), 1);
    assert_eq!(by[0].target.as_deref(), Some("target-3"));
}

pub async fn the_audit_log_survives_a_reopen(db: &mut TestDb) {
    let id = db.s().record_audit(&entry(ADMIN_TOKEN_ACTOR, "POST /admin/resume", 0)).await.unwrap();
    db.reopen().await;
    let all = db.s().list_audit(&AuditFilter { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].id, id);
    assert_eq!(all[0].action, "POST /admin/resume");
}
