//! Communities over the API: the list with member counts current today,
//! a community's members (all, or current only) page by page, and member
//! search by community and group, all compared with the simulator's truth.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, SITE_TOKEN};

/// Every member key of a paged member list, following `next_cursor`.
async fn all_pages(app: &TestApp, path: &str) -> BTreeSet<String> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut keys = BTreeSet::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = app.get_as(&format!("{path}{sep}limit=7&cursor={cursor}"), Some(SITE_TOKEN)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {page}");
        for m in page["members"].as_array().unwrap() {
            assert!(keys.insert(m["key"].as_str().unwrap().to_string()), "a member twice: {m}");
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => return keys,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn communities_members_and_search_follow_the_terms_of_today() {
    let app = TestApp::spawn().await;
    app.full_refresh().await;
    let today = Utc::now().date_naive();
    let truths = app.sim.truths();
    let active = |t: &amsync_sim::MemberTruth| t.details.status == amsync_core::AmsStatus::Active;
    let mut current: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut any: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for t in &truths {
        for m in &t.memberships {
            let c = m.community.key.to_string();
            any.entry(c.clone()).or_default().insert(t.key.clone());
            if m.is_current(today) && active(t) {
                current.entry(c).or_default().insert(t.key.clone());
            }
        }
    }

    let (status, list) = app.get_as("/api/v1/communities", Some(SITE_TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    let listed: BTreeMap<String, u64> = list["communities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["key"].as_str().unwrap().to_string(), c["current_members"].as_u64().unwrap()))
        .collect();
    assert_eq!(listed.keys().collect::<Vec<_>>(), any.keys().collect::<Vec<_>>(), "every community seen");
    for (c, n) in &listed {
        assert_eq!(*n, current.get(c).map_or(0, |s| s.len() as u64), "{c}");
    }
    let first = &list["communities"][0];
    for field in ["key", "name", "type", "group_type", "current_members"] {
        assert!(!first[field].is_null(), "{field} in {first}");
    }

    // The community with the most former, future or disabled members shows the difference.
    let (community, _) = any.iter().max_by_key(|(c, all)| all.len() - current.get(*c).map_or(0, |s| s.len())).unwrap();
    let now = current.get(community).cloned().unwrap_or_default();
    assert_ne!(&now, &any[community], "{community} has members who are not current");
    // Current means current on the day, whatever the member's status.
    let on_the_day: BTreeSet<String> = truths
        .iter()
        .filter(|t| t.memberships.iter().any(|m| m.community.key.as_str() == community && m.is_current(today)))
        .map(|t| t.key.clone())
        .collect();
    assert_eq!(all_pages(&app, &format!("/api/v1/communities/{community}/members?current=true")).await, on_the_day);
    assert_eq!(all_pages(&app, &format!("/api/v1/communities/{community}/members")).await, any[community]);
    assert_eq!(all_pages(&app, &format!("/api/v1/members?community={community}&current=true")).await, on_the_day);
    let (status, _) = app.get_as("/api/v1/communities/CH-NOWHERE/members", Some(SITE_TOKEN)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Search by group: stored groups by key (any case), computed ones as decided.
    let holding = |g: &str| -> BTreeSet<String> {
        truths.iter().filter(|t| t.groups.iter().any(|x| x.key.as_str() == g)).map(|t| t.key.clone()).collect()
    };
    assert_eq!(all_pages(&app, "/api/v1/members?group=student").await, holding("STUDENT"));
    assert!(all_pages(&app, "/api/v1/members?group=IsMember").await.is_empty(), "nothing designated yet");
    let body = json!({"groups": [{"key": "MEMBER", "is_member": true}, {"key": "FELLOW", "is_member": true}]});
    assert_eq!(app.put("/api/v1/security-groups", body).await.0, StatusCode::OK);
    let active_keys: BTreeSet<String> = truths.iter().filter(|t| active(t)).map(|t| t.key.clone()).collect();
    assert!(active_keys.len() < truths.len(), "the simulator has members disabled in the AMS");
    let members: BTreeSet<String> =
        holding("MEMBER").union(&holding("FELLOW")).filter(|k| active_keys.contains(*k)).cloned().collect();
    assert_eq!(all_pages(&app, "/api/v1/members?group=IsMember").await, members, "active members only");
    assert_eq!(all_pages(&app, "/api/v1/members?group=Authenticated").await, active_keys);
    assert_eq!(all_pages(&app, "/api/v1/members?group=Public").await.len(), truths.len());
    app.stop().await;
}
