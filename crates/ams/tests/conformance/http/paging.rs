//! Listings are paged with an opaque cursor; a caller loop follows
//! `next_cursor` to the end. `since` is UTC, `Z`, whole seconds.

use amsync_ams::AmsSource;
use amsync_ams::HttpEncoding;
use chrono::{DateTime, Utc};

use crate::http::server::Script;
use crate::http::support::setup;

async fn changed_members_are_followed_to_the_last_page(encoding: HttpEncoding) {
    let (ams, src) = setup(encoding).await;
    let since: DateTime<Utc> = "2026-11-29T14:30:00.750+01:00".parse().unwrap();
    let mut keys = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = src.changed_members(Some(since), cursor.as_deref()).await.unwrap();
        pages += 1;
        keys.extend(page.changed.into_iter().map(|c| c.key.into_string()));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
        assert!(pages < 10, "the listing never ends");
    }
    assert_eq!(pages, 2);
    // Duplicates are the caller's to remove; the source reports what the AMS said.
    assert_eq!(keys, ["M000123", "M000777", "M000999", "M000123"]);
    let queries: Vec<_> = ams.hits_to("/members/changed").into_iter().map(|h| h.query.unwrap_or_default()).collect();
    assert_eq!(queries, ["since=2026-11-29T13%3A30%3A00Z", "since=2026-11-29T13%3A30%3A00Z&cursor=eyJwIjoyfQ"]);
}

async fn a_full_listing_sends_no_since(encoding: HttpEncoding) {
    let (ams, src) = setup(encoding).await;
    src.changed_members(None, None).await.unwrap();
    assert_eq!(ams.hits_to("/members/changed")[0].query, None);
}

async fn events_are_followed_to_the_last_page(encoding: HttpEncoding) {
    let (ams, src) = setup(encoding).await;
    let mut events = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = src.changed_events(None, cursor.as_deref()).await.unwrap();
        events.extend(page.events.into_iter().map(|e| e.key.into_string()));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(events, ["EV-2027-ANNUAL", "EV-NYC-DINNER"]);
    let queries: Vec<_> = ams.hits_to("/events/changed").into_iter().map(|h| h.query).collect();
    assert_eq!(queries, [None, Some("cursor=ev-2".to_string())]);
}

async fn a_bad_key_in_a_changed_page_is_rejected_and_the_rest_used(encoding: HttpEncoding) {
    let (ams, src) = setup(encoding).await;
    let long = "K".repeat(65);
    ams.script(Script::new(
        "/members/changed",
        200,
        ams.pick(
            &format!(r#"{{"changed": [{{"key": "M1"}}, {{"key": "{long}"}}, {{"key": 7}}, {{"key": "M2"}}]}}"#),
            &format!(
                "<GetChangedMembersResult><ChangedMember><MemberKey>M1</MemberKey></ChangedMember>\
                 <ChangedMember><MemberKey>{long}</MemberKey></ChangedMember>\
                 <ChangedMember><MemberKey><Bad/></MemberKey></ChangedMember>\
                 <ChangedMember><MemberKey>M2</MemberKey></ChangedMember></GetChangedMembersResult>"
            ),
        ),
    ));
    let page = src.changed_members(None, None).await.unwrap();
    let keys: Vec<_> = page.changed.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(keys, ["M1", "M2"]);
    let rejected: Vec<_> = page.rejected.iter().map(|e| (e.record.as_str(), e.field.as_str())).collect();
    assert_eq!(rejected, [("changed entry 1", "/changed/1/key"), ("changed entry 2", "/changed/2/key")]);
    assert!(page.rejected[0].message.contains("65 characters"), "{}", page.rejected[0]);
    assert_eq!(page.next_cursor, None);
}

crate::both!(
    changed_members_are_followed_to_the_last_page,
    a_full_listing_sends_no_since,
    events_are_followed_to_the_last_page,
    a_bad_key_in_a_changed_page_is_rejected_and_the_rest_used,
);
