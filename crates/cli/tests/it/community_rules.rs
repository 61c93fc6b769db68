//! Community rules at run time: sim-ams → refresh → a rule change over the
//! API → the decision changes, re-applied from stored payloads without one
//! AMS call, and the change is in the member's history (trigger `rules`).

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::TestApp;

/// A member with a membership of a committee current today, and the committee.
fn committee_member(app: &TestApp) -> (String, String) {
    let today = chrono::Utc::now().date_naive();
    app.sim
        .truths()
        .into_iter()
        .filter(|t| !t.deleted)
        .find_map(|t| {
            t.memberships
                .iter()
                .find(|m| m.community.group_type.as_deref() == Some("Committee") && m.is_current(today))
                .map(|m| (t.key.clone(), m.community.key.to_string()))
        })
        .expect("the simulator has a member with a current committee membership")
}

fn group_types(list: &Value) -> Vec<String> {
    list["communities"].as_array().unwrap().iter().map(|c| c["group_type"].as_str().unwrap_or("").to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_change_over_the_api_changes_decisions_without_calling_the_ams() {
    let app = TestApp::spawn().await;
    app.full_refresh().await;
    let (member, committee) = committee_member(&app);
    let resource = format!("discussion:{committee}");
    let (allowed, reason) = app.decide(Some(&member), &resource).await;
    assert!(allowed, "{reason}");
    assert!(reason.starts_with(&format!("current member of {committee}")), "{reason}");
    let (_, list) = app.get("/api/v1/communities").await;
    assert!(group_types(&list).iter().any(|t| t == "Committee"), "{list}");

    app.sim.reset_stats();
    let rules = json!([{"action": "exclude", "group_type": "Committee", "group_subtype": "*"}]);
    let (status, body) = app.put("/api/v1/community-rules", json!({ "rules": rules })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rules"], rules);
    assert_eq!(body["reapplied"]["members"], 200);
    let changed = body["reapplied"]["changed"].as_u64().unwrap();
    assert!(changed > 0 && body["reapplied"]["memberships_removed"].as_u64().unwrap() >= changed, "{body}");
    assert_eq!(app.sim.stats().requests_total, 0, "re-applying rules calls no AMS method");

    // The decision changed at once: the committee is hidden everywhere.
    let (allowed, reason) = app.decide(Some(&member), &resource).await;
    assert!(!allowed);
    assert_eq!(reason, format!("no community {committee} is known"));
    let (_, list) = app.get("/api/v1/communities").await;
    assert!(group_types(&list).iter().all(|t| t != "Committee"), "{list}");
    let doc = app.member(&member).await;
    assert!(doc["memberships"].as_array().unwrap().iter().all(|m| m["community"]["group_type"] != "Committee"));

    // The member's history tells it, with the trigger `rules`.
    let (_, history) = app.get(&format!("/api/v1/members/{member}/history")).await;
    let latest = &history["changes"][0];
    assert_eq!(latest["trigger"], "rules", "{history}");
    let prefix = format!("/memberships/{committee}/");
    let removed =
        latest["fields"].as_array().unwrap().iter().find(|f| f["field"].as_str().unwrap().starts_with(&prefix));
    assert!(removed.is_some_and(|f| f["after"].is_null() && !f["before"].is_null()), "{latest}");

    // One `rules` run, counted once.
    let run_id = body["run_id"].as_i64().unwrap();
    let (_, run) = app.get(&format!("/api/v1/sync/runs/{run_id}")).await;
    assert_eq!((run["kind"].as_str(), run["outcome"].as_str()), (Some("rules"), Some("succeeded")), "{run}");
    assert_eq!(run["counts"]["changed"], changed, "{run}");
    assert_eq!(run["counts"]["refreshed"], 200, "{run}");

    let (_, got) = app.get("/api/v1/community-rules").await;
    assert_eq!(got["rules"], rules);

    // And back: the same members change again, still without the AMS.
    let (status, body) = app.put("/api/v1/community-rules", json!({ "rules": [] })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["reapplied"]["changed"], changed);
    assert!(app.decide(Some(&member), &resource).await.0);
    assert_eq!(app.sim.stats().requests_total, 0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_after_a_rule_change_keeps_to_the_new_rules() {
    let app = TestApp::spawn().await;
    app.full_refresh().await;
    let (member, committee) = committee_member(&app);
    let rules = json!({"rules": [{"action": "exclude", "group_type": "Committee"}]});
    assert_eq!(app.put("/api/v1/community-rules", rules).await.0, StatusCode::OK);
    // A change in the AMS, brought over by a refresh: the rules still hold.
    app.sim.change(&member, &amsync_sim::ChangeRequest::default()).unwrap();
    app.refresh_keys(&[&member]).await;
    let (allowed, reason) = app.decide(Some(&member), &format!("library:{committee}")).await;
    assert!(!allowed, "{reason}");
    let doc = app.member(&member).await;
    assert!(doc["memberships"].as_array().unwrap().iter().all(|m| m["community"]["group_type"] != "Committee"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_rules_are_refused_and_change_nothing() {
    let app = TestApp::spawn_with(crate::helpers::AppOptions { members: 20, ..Default::default() }).await;
    app.full_refresh().await;
    let before = app.get("/api/v1/community-rules").await.1;
    for bad in [
        json!({"rules": [{"action": "drop"}]}),
        json!({"rules": [{"action": "exclude", "grouptype": "Committee"}]}),
        json!({"rule": []}),
        json!({"rules": [{"action": "exclude", "group_type": "x".repeat(300)}]}),
    ] {
        let (status, body) = app.put("/api/v1/community-rules", bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "bad_request");
    }
    assert_eq!(app.get("/api/v1/community-rules").await.1, before);
    let (_, runs) = app.get("/api/v1/sync/runs?kind=rules").await;
    assert_eq!(runs["runs"], json!([]), "no re-apply ran");
    app.stop().await;
}
