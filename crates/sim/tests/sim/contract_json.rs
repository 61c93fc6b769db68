//! Every contract method in JSON, checked against the sim's truth.

use amsync_core::community::MembershipList;
use amsync_core::group::GroupList;
use amsync_core::{Event, MemberDetails};
use amsync_sim::MemberTruth;
use serde_json::json;

use crate::helpers::{small, spawn};

#[tokio::test]
async fn member_documents_match_the_truth() {
    let sim = spawn(small(300)).await;
    assert_eq!(sim.json("/health").await["status"], "ok");
    for key in ["M000001", "M000002", "M000150", "M000300"] {
        let truth: MemberTruth = serde_json::from_value(sim.json(&format!("/_sim/members/{key}")).await).unwrap();
        let details: MemberDetails = serde_json::from_value(sim.json(&format!("/members/{key}")).await).unwrap();
        assert_eq!(details, truth.details);
        details.validate(&details.key).unwrap();
        let communities: MembershipList =
            serde_json::from_value(sim.json(&format!("/members/{key}/communities")).await).unwrap();
        assert_eq!(communities.memberships, truth.memberships);
        let groups: GroupList =
            serde_json::from_value(sim.json(&format!("/members/{key}/security-groups")).await).unwrap();
        assert_eq!(groups.groups, truth.groups);
        // A second request is served from the cache: the same bytes.
        let again = sim.get(&format!("/members/{key}")).await.bytes().await.unwrap();
        assert_eq!(serde_json::from_slice::<MemberDetails>(&again).unwrap(), truth.details);
    }
}

#[tokio::test]
async fn unknown_keys_are_404_and_keys_are_percent_decoded() {
    let sim = spawn(small(10)).await;
    for path in ["/members/M000011", "/members/nobody", "/members/M1", "/members/M000011/communities"] {
        assert_eq!(sim.get(path).await.status(), 404, "{path}");
    }
    let decoded = sim.json("/members/%4D%30%30%30%30%30%33").await;
    assert_eq!(decoded["key"], "M000003");
}

#[tokio::test]
async fn the_full_listing_pages_through_every_member() {
    let sim = spawn(amsync_sim::SimConfig { page_size: 40, ..small(250) }).await;
    let first = sim.json("/members/changed").await;
    assert!(first["as_of"].as_str().unwrap().ends_with('Z'));
    assert_eq!(first["changed"].as_array().unwrap().len(), 40);
    let entries = sim.list_all("/members/changed", "changed").await;
    let mut keys: Vec<&str> = entries.iter().map(|e| e["key"].as_str().unwrap()).collect();
    let stamps: Vec<chrono::DateTime<chrono::Utc>> =
        entries.iter().map(|e| e["changed_at"].as_str().unwrap().parse().unwrap()).collect();
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "ordered by changed_at");
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 250);
    assert_eq!(keys[0], "M000001");
    assert_eq!(keys[249], "M000250");
}

#[tokio::test]
async fn events_are_listed_and_valid() {
    let sim = spawn(amsync_sim::SimConfig { page_size: 5, ..small(5) }).await;
    let events = sim.list_all("/events/changed", "events").await;
    assert_eq!(events.len(), 12);
    for e in events {
        let event: Event = serde_json::from_value(e.clone()).unwrap();
        event.validate().unwrap();
        assert!(e["starts_at"].as_str().unwrap().len() >= 20, "RFC 3339 with offset");
    }
    let page = sim.json("/events/changed?since=2999-01-01T00:00:00Z").await;
    assert!(page["events"].as_array().unwrap().is_empty());
    assert!(page["next_cursor"].is_null());
}

#[tokio::test]
async fn credentials_and_tokens() {
    let sim = spawn(small(20)).await;
    let truth = sim.json("/_sim/members/M000007").await;
    let email = truth["details"]["email"].as_str().unwrap().to_uppercase();
    for username in [email.as_str(), "M000007"] {
        let r = sim.post("/auth/credentials", json!({"username": username, "password": "pw-M000007"})).await;
        assert_eq!(r.status(), 200, "{username}");
        assert_eq!(r.json::<serde_json::Value>().await.unwrap(), json!({"key": "M000007"}));
    }
    for (username, password) in [("M000007", "pw-M000008"), ("M000021", "pw-M000021"), ("x@example.org", "pw-M000007")]
    {
        let r = sim.post("/auth/credentials", json!({"username": username, "password": password})).await;
        assert_eq!(r.status(), 401, "{username}");
    }
    // Another member's e-mail number does not open this member.
    let other = sim.json("/_sim/members/M000008").await["details"]["email"].as_str().unwrap().to_string();
    let r = sim.post("/auth/credentials", json!({"username": other, "password": "pw-M000007"})).await;
    assert_eq!(r.status(), 401);
    // A changed e-mail works, the old one no longer does.
    sim.control("/_sim/members/M000007/change", json!({"details": {"email": "ada@lovelace.example"}})).await;
    let r = sim.post("/auth/credentials", json!({"username": "ADA@lovelace.example", "password": "pw-M000007"})).await;
    assert_eq!(r.status(), 200);
    let r = sim.post("/auth/credentials", json!({"username": email, "password": "pw-M000007"})).await;
    assert_eq!(r.status(), 401);

    let token = sim.control("/_sim/tokens", json!({"key": "M000003"})).await["token"].as_str().unwrap().to_string();
    let r = sim.post("/auth/resolve-token", json!({"token": token})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap(), json!({"key": "M000003"}));
    assert_eq!(sim.post("/auth/resolve-token", json!({"token": "nope"})).await.status(), 401);
    assert_eq!(sim.post("/auth/resolve-token", json!({"tokn": "x"})).await.status(), 400);
    assert_eq!(sim.post("/_sim/tokens", json!({"key": "M999999"})).await.status(), 404);
}
