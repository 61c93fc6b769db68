//! GetChangedMembers paging and `since` filtering, also while members change.

use std::collections::HashSet;

use amsync_sim::{MemberTruth, SimConfig};
use serde_json::{json, Value};

use crate::helpers::{small, spawn, TestSim};

fn keys(entries: &[Value]) -> HashSet<String> {
    entries.iter().map(|e| e["key"].as_str().unwrap().to_string()).collect()
}

async fn truths(sim: &TestSim) -> Vec<MemberTruth> {
    serde_json::from_value(sim.json("/_sim/truth").await).unwrap()
}

#[tokio::test]
async fn paging_stays_complete_while_members_change() {
    let sim = spawn(SimConfig { page_size: 25, ..small(400) }).await;
    let mut seen: Vec<Value> = Vec::new();
    let mut page = sim.json("/members/changed").await;
    let mut pages = 0;
    let mut deleted = None;
    loop {
        let items = page["changed"].as_array().unwrap().clone();
        let listed = keys(&items);
        seen.extend(items);
        pages += 1;
        if pages == 3 {
            // Members already listed and members not listed yet change;
            // one not listed yet is deleted; one is created.
            let mut changed_now = 0;
            for i in (1..=400).step_by(37) {
                let key = format!("M{i:06}");
                if listed.contains(&key) || !keys(&seen).contains(&key) {
                    sim.control(&format!("/_sim/members/{key}/change"), json!({})).await;
                    changed_now += 1;
                }
            }
            assert!(changed_now > 5);
            let not_yet = (1..=400).map(|i| format!("M{i:06}")).find(|k| !keys(&seen).contains(k)).unwrap();
            sim.control(&format!("/_sim/members/{not_yet}/delete"), json!({})).await;
            deleted = Some(not_yet);
            let created = sim.control("/_sim/members", json!({})).await;
            assert_eq!(created["key"], "M000401");
        }
        match page["next_cursor"].as_str() {
            Some(c) => page = sim.json(&format!("/members/changed?cursor={c}")).await,
            None => break,
        }
    }
    let seen = keys(&seen);
    let deleted = deleted.unwrap();
    let existing: HashSet<String> = truths(&sim).await.into_iter().filter(|t| !t.deleted).map(|t| t.key).collect();
    assert_eq!(existing.len(), 400);
    assert!(existing.is_subset(&seen), "missing: {:?}", existing.difference(&seen).collect::<Vec<_>>());
    assert!(seen.contains("M000401"));
    assert!(!seen.contains(&deleted), "a member deleted before it was listed is not in the full listing");
}

#[tokio::test]
async fn since_returns_exactly_the_members_changed_at_or_after_it() {
    let sim = spawn(SimConfig { page_size: 50, ..small(300) }).await;
    let all = truths(&sim).await;
    let mut stamps: Vec<_> = all.iter().map(|t| t.changed_at).collect();
    stamps.sort();
    let since = stamps[200];
    let since_text = since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let listed = sim.list_all(&format!("/members/changed?since={since_text}"), "changed").await;
    let expected: HashSet<String> = all.iter().filter(|t| t.changed_at >= since).map(|t| t.key.clone()).collect();
    assert_eq!(keys(&listed), expected);
    for e in &listed {
        let at: chrono::DateTime<chrono::Utc> = e["changed_at"].as_str().unwrap().parse().unwrap();
        assert!(at >= since);
    }

    // Offsets are understood; the future lists nothing; garbage is refused.
    let page = sim.json("/members/changed?since=2999-01-01T00:00:00%2B02:00").await;
    assert!(page["changed"].as_array().unwrap().is_empty());
    assert!(page["next_cursor"].is_null());
    assert_eq!(sim.get("/members/changed?since=yesterday").await.status(), 400);
    assert_eq!(sim.get("/members/changed?since=2026-11-29").await.status(), 400);
    assert_eq!(sim.get("/members/changed?cursor=bm9wZQ").await.status(), 400);
}

#[tokio::test]
async fn a_change_at_t_is_reported_for_any_since_up_to_t() {
    let sim = spawn(small(50)).await;
    let before = sim.json("/members/changed?since=2999-01-01T00:00:00Z").await["as_of"].as_str().unwrap().to_string();
    let changed = sim.control("/_sim/members/M000010/change", json!({})).await;
    let t = changed["changed_at"].as_str().unwrap().to_string();
    assert!(t >= before);
    for since in [before.as_str(), t.as_str()] {
        let listed = sim.list_all(&format!("/members/changed?since={since}"), "changed").await;
        assert!(keys(&listed).contains("M000010"), "since {since}");
    }
    let after = (t.parse::<chrono::DateTime<chrono::Utc>>().unwrap() + chrono::Duration::seconds(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let listed = sim.list_all(&format!("/members/changed?since={after}"), "changed").await;
    assert!(!keys(&listed).contains("M000010"));

    // Deletion is a change too: `since` reports it, the full listing drops it.
    sim.control("/_sim/members/M000011/delete", json!({})).await;
    let listed = sim.list_all(&format!("/members/changed?since={t}"), "changed").await;
    assert!(keys(&listed).contains("M000011"));
    assert!(!keys(&sim.list_all("/members/changed", "changed").await).contains("M000011"));
}

#[tokio::test]
async fn a_change_within_the_second_of_the_cursor_is_not_skipped() {
    let sim = spawn(SimConfig { page_size: 2, ..small(60) }).await;
    // Changes made within one second share `changed_at`; the listing must
    // still place a later change after the cursor, whatever its key.
    for attempt in 0..5 {
        let as_of =
            sim.json("/members/changed?since=2999-01-01T00:00:00Z").await["as_of"].as_str().unwrap().to_string();
        for key in ["M000050", "M000040", "M000030"] {
            sim.control(&format!("/_sim/members/{key}/change"), json!({})).await;
        }
        let first = sim.json(&format!("/members/changed?since={as_of}")).await;
        let mut seen = keys(first["changed"].as_array().unwrap());
        assert_eq!(seen, HashSet::from(["M000050".to_string(), "M000040".to_string()]));
        let late = sim.control("/_sim/members/M000010/change", json!({})).await;
        let stamps_equal = late["changed_at"] == sim.json("/_sim/members/M000040").await["changed_at"];
        let mut cursor = first["next_cursor"].as_str().map(str::to_string);
        while let Some(c) = cursor {
            let page = sim.json(&format!("/members/changed?cursor={c}")).await;
            seen.extend(keys(page["changed"].as_array().unwrap()));
            cursor = page["next_cursor"].as_str().map(str::to_string);
        }
        assert!(seen.contains("M000010") && seen.contains("M000030"), "attempt {attempt}: {seen:?}");
        if stamps_equal {
            return;
        }
    }
    panic!("the clock ticked during every attempt");
}
