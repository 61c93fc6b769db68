//! Events: upserts by content, cancelled kept, overlap queries, offsets kept.

use amsync_core::{CommunityKey, Event, EventKey, EventStatus};
use chrono::DateTime;

use crate::fixtures::*;
use crate::harness::TestDb;

fn event(k: &str, starts: &str, ends: &str) -> Event {
    Event {
        key: EventKey::parse(k).unwrap(),
        title: Some(format!("Event {k}")),
        description: Some("A long evening of talks.".into()),
        starts_at: DateTime::parse_from_rfc3339(starts).unwrap(),
        ends_at: DateTime::parse_from_rfc3339(ends).unwrap(),
        timezone: Some("America/New_York".into()),
        location: Some("Hall A".into()),
        url: None,
        community_key: Some(CommunityKey::parse("CH-NYC").unwrap()),
        status: EventStatus::Scheduled,
    }
}

fn calendar() -> Vec<Event> {
    vec![
        event("E1", "2026-12-01T18:00:00-05:00", "2026-12-01T21:00:00-05:00"),
        event("E2", "2026-12-05T09:00:00+01:00", "2026-12-07T17:00:00+01:00"),
        event("E3", "2027-01-10T10:00:00Z", "2027-01-10T11:00:00Z"),
    ]
}

pub async fn events_upsert_by_content(db: &mut TestDb) {
    let s = db.s();
    let c = s.upsert_events(&calendar(), t0()).await.unwrap();
    assert_eq!((c.created, c.updated, c.unchanged), (3, 0, 0));
    let changes = db.total_changes().await;
    let s = db.s();
    let c = s.upsert_events(&calendar(), t0() + mins(5)).await.unwrap();
    assert_eq!((c.created, c.updated, c.unchanged), (0, 0, 3));
    assert_eq!(db.total_changes().await, changes, "an unchanged event writes nothing");
    let s = db.s();
    let mut cancelled = calendar();
    cancelled[1].status = EventStatus::Cancelled;
    let c = s.upsert_events(&cancelled[1..2], t0() + mins(10)).await.unwrap();
    assert_eq!((c.created, c.updated, c.unchanged), (0, 1, 0));
    let all = s.list_events(None, None).await.unwrap();
    assert_eq!(all.len(), 3);
    let e2 = &all[1];
    assert_eq!(e2.event, cancelled[1], "cancelled is kept as cancelled, offsets and all");
    assert_eq!(e2.event.starts_at.offset().local_minus_utc(), 3600);
    assert_eq!(e2.updated_at, t0() + mins(10));
    assert_eq!(all[0].updated_at, t0());
}

pub async fn events_are_listed_by_overlap_in_start_order(db: &mut TestDb) {
    let s = db.s();
    s.upsert_events(&calendar(), t0()).await.unwrap();
    let keys = |v: Vec<amsync_store::StoredEvent>| v.into_iter().map(|e| e.event.key.to_string()).collect::<Vec<_>>();
    // E2 runs 5-7 December: a window on the 6th overlaps it.
    let got = s.list_events(Some(t("2026-12-06T00:00:00Z")), Some(t("2026-12-06T23:59:59Z"))).await.unwrap();
    assert_eq!(keys(got), ["E2"]);
    // E1 ends at 02:00Z on the 2nd; bounds are inclusive.
    let got = s.list_events(Some(t("2026-12-02T02:00:00Z")), None).await.unwrap();
    assert_eq!(keys(got), ["E1", "E2", "E3"]);
    let got = s.list_events(Some(t("2026-12-02T02:00:01Z")), None).await.unwrap();
    assert_eq!(keys(got), ["E2", "E3"]);
    let got = s.list_events(None, Some(t("2026-12-05T07:59:59Z"))).await.unwrap();
    assert_eq!(keys(got), ["E1"]);
    assert!(s.list_events(Some(t("2028-01-01T00:00:00Z")), None).await.unwrap().is_empty());
}
