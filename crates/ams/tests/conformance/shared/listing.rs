//! GetChangedMembers and GetChangedEvents: followed page by page to the
//! end (one page for a kind without paging), `since` at or after (UTC, whole seconds), the full listing without
//! the gone, an unreadable entry rejected and the rest used.

use amsync_ams::memory::UnreadableKey;
use amsync_ams::{AmsSource, ChangedPage, EventsPage};
use amsync_core::error::Part;
use chrono::{DateTime, Utc};

use crate::fixtures::{at, contract, plain};
use crate::harness::{start, Harness};

/// Every page of the member listing since `since`, first to last.
async fn member_pages(src: &dyn AmsSource, since: Option<DateTime<Utc>>) -> Vec<ChangedPage> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = src.changed_members(since, cursor.as_deref()).await.unwrap();
        cursor = page.next_cursor.clone();
        pages.push(page);
        if cursor.is_none() {
            return pages;
        }
        assert!(pages.len() < 100, "the listing never ends");
    }
}

/// The keys of every page, in listing order.
fn keys(pages: &[ChangedPage]) -> Vec<String> {
    pages.iter().flat_map(|p| p.changed.iter().map(|c| c.key.as_str().to_string())).collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

pub async fn changed_members_are_followed_to_the_last_page(h: &dyn Harness) {
    let (run, _) = start(h, contract()).await;
    let pages = member_pages(run.source.as_ref(), Some(at("2026-11-29T13:30:00Z"))).await;
    let want_pages = if h.pages() { 2 } else { 1 };
    assert_eq!(pages.len(), want_pages, "two entries a page, where the kind pages: {pages:?}");
    assert!(pages.iter().all(|p| p.rejected.is_empty()), "{pages:?}");
    // A gone key is listed too: its removal is a change.
    assert_eq!(sorted(keys(&pages)), ["M000123", "M000555", "M000777", "M000999"]);
    let changed_at = pages[0].changed.iter().find(|c| c.key.as_str() == "M000123").and_then(|c| c.changed_at);
    assert_eq!(changed_at, Some(at("2026-11-29T13:41:07Z")));
}

pub async fn the_full_listing_lists_every_member_the_ams_has(h: &dyn Harness) {
    let (run, _) = start(h, contract()).await;
    let pages = member_pages(run.source.as_ref(), None).await;
    assert_eq!(sorted(keys(&pages)), ["M000123", "M000777", "M000999"], "no gone key: {pages:?}");
}

pub async fn since_leaves_earlier_changes_out_to_the_second(h: &dyn Harness) {
    let (run, _) = start(h, contract()).await;
    // 13:50:00.750 UTC, written with an offset: the listing starts at 13:50:00.
    let since: DateTime<Utc> = "2026-11-29T14:50:00.750+01:00".parse().unwrap();
    let pages = member_pages(run.source.as_ref(), Some(since)).await;
    assert_eq!(sorted(keys(&pages)), ["M000777", "M000999"]);
    let none = member_pages(run.source.as_ref(), Some(at("2026-11-29T14:00:00Z"))).await;
    assert_eq!(keys(&none), Vec::<String>::new(), "nothing changed since");
}

pub async fn an_unreadable_key_is_rejected_and_the_rest_used(h: &dyn Harness) {
    let mut fixture = contract();
    fixture.page_size = 10;
    let long = "K".repeat(65);
    fixture.members = vec![plain("M1", "2026-11-29T13:00:00Z"), plain("M2", "2026-11-29T13:00:02Z")];
    fixture.unreadable_keys = vec![UnreadableKey { text: long, changed_at: at("2026-11-29T13:00:01Z") }];
    let (run, _) = start(h, fixture).await;
    let page = run.source.changed_members(None, None).await.unwrap();
    let listed: Vec<_> = page.changed.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(listed, ["M1", "M2"]);
    let rejected: Vec<_> = page.rejected.iter().map(|e| (e.record.as_str(), e.part, e.field.as_str())).collect();
    assert_eq!(rejected, [("changed entry 1", Part::ChangedMembers, "/changed/1/key")]);
    assert!(page.rejected[0].message.contains("65 characters"), "{}", page.rejected[0]);
    assert_eq!(page.next_cursor, None);
}

/// Every page of the events listing, first to last.
async fn event_pages(src: &dyn AmsSource, since: Option<DateTime<Utc>>) -> Vec<EventsPage> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = src.changed_events(since, cursor.as_deref()).await.unwrap();
        cursor = page.next_cursor.clone();
        pages.push(page);
        if cursor.is_none() {
            return pages;
        }
        assert!(pages.len() < 100, "the listing never ends");
    }
}

pub async fn events_are_followed_to_the_last_page(h: &dyn Harness) {
    let mut fixture = contract();
    fixture.page_size = 1;
    let want: Vec<_> = fixture.events.iter().map(|e| e.event.clone()).collect();
    let (run, _) = start(h, fixture).await;
    let pages = event_pages(run.source.as_ref(), None).await;
    assert_eq!(pages.len(), if h.pages() { 2 } else { 1 }, "one event a page, where the kind pages");
    let events: Vec<_> = pages.into_iter().flat_map(|p| p.events).collect();
    assert_eq!(events, want, "read as the AMS holds them");
    let later = event_pages(run.source.as_ref(), Some(at("2026-11-29T13:01:00Z"))).await;
    let keys: Vec<_> = later.iter().flat_map(|p| p.events.iter().map(|e| e.key.as_str().to_string())).collect();
    assert_eq!(keys, ["EV-NYC-DINNER"], "since applies to events too");
}

pub async fn an_event_breaking_the_contract_is_rejected_and_the_rest_used(h: &dyn Harness) {
    let mut fixture = contract();
    fixture.page_size = 10;
    fixture.events[0].event.ends_at = fixture.events[0].event.starts_at - chrono::Duration::hours(1);
    let (run, _) = start(h, fixture).await;
    let page = run.source.changed_events(None, None).await.unwrap();
    let listed: Vec<_> = page.events.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(listed, ["EV-NYC-DINNER"]);
    let rejected: Vec<_> = page.rejected.iter().map(|e| (e.record.as_str(), e.part, e.field.as_str())).collect();
    assert_eq!(rejected, [("EV-2027-ANNUAL", Part::ChangedEvents, "/events/0/ends_at")]);
}
