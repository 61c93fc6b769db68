//! The control API: changes, deletes, merges, creation, churn, events, and
//! that the contract methods reflect them at once.

use amsync_sim::MemberTruth;
use serde_json::{json, Value};

use crate::helpers::{small, spawn};

async fn bodies(sim: &crate::helpers::TestSim, key: &str) -> Vec<bytes::Bytes> {
    let mut out = Vec::new();
    for path in
        [format!("/members/{key}"), format!("/members/{key}/communities"), format!("/members/{key}/security-groups")]
    {
        out.push(sim.get(&path).await.bytes().await.unwrap());
        out.push(sim.get_xml(&path).await.bytes().await.unwrap());
    }
    out
}

#[tokio::test]
async fn a_random_change_is_served_at_once_with_a_new_version() {
    let sim = spawn(small(30)).await;
    for key in ["M000001", "M000002", "M000003", "M000004", "M000005", "M000006"] {
        let before: MemberTruth = serde_json::from_value(sim.json(&format!("/_sim/members/{key}")).await).unwrap();
        let served_before = bodies(&sim, key).await; // warms the cache
        let after: MemberTruth =
            serde_json::from_value(sim.control(&format!("/_sim/members/{key}/change"), json!({})).await).unwrap();
        assert_eq!(after.version, before.version + 1);
        assert!(after.changed_at > before.changed_at);
        assert!(
            (after.details.clone(), after.memberships.clone(), after.groups.clone())
                != (before.details, before.memberships, before.groups)
        );
        let served_after = bodies(&sim, key).await;
        assert_ne!(served_before, served_after, "cached bodies were dropped");
        let details: amsync_core::MemberDetails = serde_json::from_slice(&served_after[0]).unwrap();
        assert_eq!(details, after.details);
    }
}

#[tokio::test]
async fn requested_changes_replace_parts() {
    let sim = spawn(small(10)).await;
    let change = json!({
        "details": {"first_name": "Ada", "phones": []},
        "memberships": [{"community": {"key": "CH-NYC", "name": "New York Chapter", "type": "Chapter",
                         "group_type": "Chapter", "group_subtype": "Regional"},
                         "begin": "2026-01-01", "end": null, "role": "Chair"}],
        "groups": [{"key": "STAFF", "name": "Staff"}]
    });
    sim.control("/_sim/members/M000003/change", change).await;
    let d = sim.json("/members/M000003").await;
    assert_eq!(d["first_name"], "Ada");
    assert_eq!(d["phones"], json!([]));
    let c = sim.json("/members/M000003/communities").await;
    assert_eq!(c["memberships"][0]["role"], "Chair");
    assert_eq!(c["memberships"].as_array().unwrap().len(), 1);
    assert_eq!(
        sim.json("/members/M000003/security-groups").await,
        json!({"groups": [{"key": "STAFF", "name": "Staff"}]})
    );
    // Five phones are served as given (to test amsync's data error).
    let phones: Vec<Value> = (0..5).map(|i| json!({"type": "Work", "number": format!("+1 202 555 010{i}")})).collect();
    sim.control("/_sim/members/M000003/change", json!({"details": {"phones": phones}})).await;
    assert_eq!(sim.json("/members/M000003").await["phones"].as_array().unwrap().len(), 5);

    for bad in [json!({"details": {"key": "M000004"}}), json!({"details": {"shoe": 1}}), json!({"nonsense": true})] {
        assert_eq!(sim.post("/_sim/members/M000003/change", bad).await.status(), 400);
    }
    assert_eq!(sim.post("/_sim/members/M000099/change", json!({})).await.status(), 404);
}

#[tokio::test]
async fn delete_and_merge() {
    let sim = spawn(small(10)).await;
    let deleted = sim.control("/_sim/members/M000002/delete", json!({})).await;
    assert_eq!(deleted["deleted"], true);
    for path in ["/members/M000002", "/members/M000002/communities", "/members/M000002/security-groups"] {
        assert_eq!(sim.get(path).await.status(), 404, "{path}");
    }
    assert_eq!(sim.post("/_sim/members/M000002/change", json!({})).await.status(), 409);
    assert_eq!(sim.post("/_sim/members/M000002/delete", json!({})).await.status(), 409);
    let r = sim.post("/auth/credentials", json!({"username": "M000002", "password": "pw-M000002"})).await;
    assert_eq!(r.status(), 401);

    let target_before = sim.json("/_sim/members/M000008").await;
    let merged = sim.control("/_sim/members/M000007/merge", json!({"into": "M000008"})).await;
    assert_eq!((merged["deleted"].clone(), merged["merged_into"].clone()), (json!(true), json!("M000008")));
    let r = sim.get("/members/M000007").await;
    assert_eq!(r.status(), 410);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"merged_into": "M000008"}));
    assert_eq!(sim.get("/members/M000007/communities").await.status(), 404);
    let target_after = sim.json("/_sim/members/M000008").await;
    assert!(target_after["changed_at"].as_str() > target_before["changed_at"].as_str());
    assert_eq!(target_after["version"], target_before["version"].as_u64().unwrap() + 1);

    assert_eq!(sim.post("/_sim/members/M000001/merge", json!({"into": "M000002"})).await.status(), 400);
    assert_eq!(sim.post("/_sim/members/M000001/merge", json!({"into": "M000001"})).await.status(), 400);
    assert_eq!(sim.post("/_sim/members/M000001/merge", json!({})).await.status(), 400);
}

#[tokio::test]
async fn create_and_churn() {
    let sim = spawn(small(10)).await;
    let created = sim.control("/_sim/members", json!({"details": {"first_name": "Nova"}})).await;
    assert_eq!(created["key"], "M000011");
    assert_eq!(sim.json("/members/M000011").await["first_name"], "Nova");
    assert_eq!(sim.json("/_sim/stats").await["members"], 11);
    let plain = sim.control("/_sim/members", json!({})).await;
    assert_eq!(plain["key"], "M000012");
    let r =
        sim.post("/auth/credentials", json!({"username": plain["details"]["email"], "password": "pw-M000012"})).await;
    assert_eq!(r.status(), 200);

    let churned = sim.control("/_sim/churn", json!({"count": 40})).await;
    let keys = churned["changed"].as_array().unwrap();
    assert_eq!(keys.len(), 40);
    for key in keys {
        let t = sim.json(&format!("/_sim/members/{}", key.as_str().unwrap())).await;
        assert!(t["version"].as_u64().unwrap() > 1);
    }
}

#[tokio::test]
async fn event_changes_are_listed() {
    let sim = spawn(small(3)).await;
    let as_of = sim.json("/events/changed?since=2999-01-01T00:00:00Z").await["as_of"].as_str().unwrap().to_string();
    let changed = sim.control("/_sim/events/EV-0002/change", json!({"title": "Renamed <event>"})).await;
    assert_eq!(changed["title"], "Renamed <event>");
    let random = sim.control("/_sim/events/EV-0003/change", json!({})).await;
    let cancelled = sim.control("/_sim/events/EV-0004/cancel", json!({})).await;
    assert_eq!(cancelled["status"], "cancelled");
    let listed = sim.list_all(&format!("/events/changed?since={as_of}"), "events").await;
    let keys: Vec<&str> = listed.iter().map(|e| e["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["EV-0002", "EV-0003", "EV-0004"]);
    assert_eq!(listed[1], random);
    assert_eq!(sim.post("/_sim/events/EV-9999/cancel", json!({})).await.status(), 404);
    assert_eq!(sim.post("/_sim/events/EV-0002/change", json!({"key": "EV-1"})).await.status(), 400);
}

#[tokio::test]
async fn the_whole_truth_of_twenty_thousand_members() {
    let sim = spawn(small(20_000)).await;
    let started = std::time::Instant::now();
    let r = sim.get("/_sim/truth").await;
    assert_eq!(r.status(), 200);
    let all: Vec<MemberTruth> = r.json().await.unwrap();
    eprintln!("GET /_sim/truth for 20,000 members took {:?}", started.elapsed());
    assert_eq!(all.len(), 20_000);
    assert_eq!(all[19_999].key, "M020000");
    assert!(all.iter().all(|t| !t.deleted));
}
