//! The deletion and removal thresholds (product.md job 10): a mass disable
//! is applied up to the limit and the rest held (still active, the rest of
//! each refresh applied); a mass membership removal likewise; a mass rule
//! change answers 202 and changes nothing; applying an approval releases
//! exactly its changes; rejecting keeps them unapplied across the next
//! refresh until the AMS answers otherwise; what an admin approved or made
//! counts for the audit, not against the limits the AMS's later changes
//! are judged by.

use std::time::Duration;

use amsync_core::safety::Thresholds;
use amsync_sim::ChangeRequest;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_matches_truth, AppOptions, TestApp};

fn limits(max_disables: u64, removal_share: f64) -> Thresholds {
    Thresholds {
        max_disables,
        max_disable_share: 0.5,
        max_membership_removal_share: removal_share,
        window: Duration::from_secs(3600),
    }
}

async fn status_of(app: &TestApp, key: &str) -> String {
    app.member(key).await["status"].as_str().unwrap().to_string()
}

async fn pending(app: &TestApp) -> Vec<Value> {
    let (status, body) = app.get("/api/v1/approvals?status=pending").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["approvals"].as_array().unwrap().clone()
}

fn ams_status(s: &str) -> ChangeRequest {
    let details = serde_json::Map::from_iter([("status".to_string(), json!(s))]);
    ChangeRequest { details: Some(details), ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mass_disable_is_held_past_the_threshold_and_released_by_approval() {
    let app =
        TestApp::spawn_with(AppOptions { members: 300, thresholds: limits(5, 1.0), ..AppOptions::default() }).await;
    app.full_refresh().await;
    // Forty members the AMS holds as active (a few are disabled in its data).
    let mut deleted: Vec<String> = app
        .sim
        .truths()
        .into_iter()
        .filter(|t| t.key.as_str() > "M000010" && t.details.status == amsync_core::AmsStatus::Active)
        .take(40)
        .map(|t| t.key)
        .collect();
    deleted.sort();
    for k in &deleted {
        app.sim.delete(k).unwrap();
    }
    for k in ["M000101", "M000102"] {
        app.sim.change(k, &ChangeRequest::default()).unwrap();
    }
    let (report, run) = app.full_refresh().await;
    assert_eq!(report.reconciled, 40, "{report:?}");
    assert_eq!((run.counts.disabled, run.counts.held), (5, 35), "{run:?}");
    let mut still_active = Vec::new();
    for k in &deleted {
        if status_of(&app, k).await == "active" {
            still_active.push(k.clone());
        }
    }
    assert_eq!(still_active.len(), 35, "held disables leave the members active");
    // The rest of the run applied.
    let truths: Vec<_> = app.sim.truths().into_iter().filter(|t| t.key == "M000101" || t.key == "M000102").collect();
    for t in &truths {
        assert!(crate::helpers::differences(&app.member(&t.key).await, t).is_empty(), "{} converged", t.key);
    }

    let approvals = pending(&app).await;
    assert_eq!(approvals.len(), 1, "{approvals:?}");
    let a = &approvals[0];
    assert_eq!((a["kind"].as_str(), a["run_id"].as_i64()), (Some("disable"), Some(run.id)));
    assert_eq!(a["counts"]["pending"], 35);
    assert!(a["reason"].as_str().unwrap().contains("thresholds.max_disables = 5"), "{a}");
    let mut held: Vec<String> =
        a["changes"].as_array().unwrap().iter().map(|c| c["member"].as_str().unwrap().into()).collect();
    held.sort();
    assert_eq!(held, still_active, "the approval lists exactly the held members");
    let change = &a["changes"][0];
    assert_eq!(
        (change["signal"].as_str(), change["http_status"].as_u64(), change["status"].as_str()),
        (Some("gone"), Some(404), Some("pending"))
    );
    let (_, s) = app.get("/api/v1/sync/status").await;
    assert_eq!(
        (s["thresholds"]["pending_approvals"].as_u64(), s["thresholds"]["disables"].as_u64()),
        (Some(1), Some(5))
    );

    // The next refresh with the same answers holds nothing new.
    let (_, again) = app.full_refresh().await;
    assert_eq!((again.counts.disabled, again.counts.held), (0, 35), "{again:?}");
    assert_eq!(pending(&app).await.len(), 1);

    let id = a["id"].as_i64().unwrap();
    let (status, body) = app.post(&format!("/api/v1/approvals/{id}"), json!({"decision": "apply"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["applied"].as_u64(), body["dropped"].as_u64()), (Some(35), Some(0)), "{body}");
    assert_eq!(body["approval"]["status"], "applied");
    for k in &deleted {
        assert_eq!(status_of(&app, k).await, "disabled", "{k}");
    }
    let (_, history) = app.get(&format!("/api/v1/members/{}/history", still_active[0])).await;
    assert_eq!(
        (history["changes"][0]["kind"].as_str(), history["changes"][0]["trigger"].as_str()),
        (Some("disabled"), Some("admin"))
    );
    let (status, _) = app.post(&format!("/api/v1/approvals/{id}"), json!({"decision": "reject"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "decided already");
    let (status, _) = app.post("/api/v1/approvals/9999", json!({"decision": "apply"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.post(&format!("/api/v1/approvals/{id}"), json!({"decision": "maybe"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, audit) = app.get("/api/v1/audit").await;
    let entry = audit["entries"].as_array().unwrap().iter().find(|e| e["target"] == format!("approval {id}")).cloned();
    let entry = entry.expect("the decision is audited");
    assert!(entry["detail"].as_str().unwrap().starts_with("applied: 35 applied"), "{entry}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_hold_stays_rejected_across_refreshes_until_the_ams_answers_otherwise() {
    let app =
        TestApp::spawn_with(AppOptions { members: 100, thresholds: limits(1, 1.0), ..AppOptions::default() }).await;
    app.full_refresh().await;
    let keys = ["M000031", "M000032", "M000033"];
    for k in keys {
        app.sim.change(k, &ams_status("disabled")).unwrap();
    }
    let run = app.refresh_keys(&keys).await;
    assert_eq!((run.counts.disabled, run.counts.held), (1, 2), "{run:?}");
    let approval = pending(&app).await.remove(0);
    let id = approval["id"].as_i64().unwrap();
    let held: Vec<String> =
        approval["changes"].as_array().unwrap().iter().map(|c| c["member"].as_str().unwrap().into()).collect();
    for k in &held {
        let doc = app.member(k).await;
        assert_eq!((doc["status"].as_str(), doc["ams_status"].as_str()), (Some("active"), Some("disabled")), "{k}");
    }
    let (status, body) = app.post(&format!("/api/v1/approvals/{id}"), json!({"decision": "reject"})).await;
    assert_eq!((status, body["rejected"].as_u64()), (StatusCode::OK, Some(2)), "{body}");

    // The same answer again: still not applied, and not held anew.
    let run = app.refresh_keys(&keys).await;
    assert_eq!((run.counts.disabled, run.counts.held), (0, 2), "{run:?}");
    assert!(pending(&app).await.is_empty());
    for k in &held {
        assert_eq!(status_of(&app, k).await, "active");
    }
    // The AMS says active again, then disabled again: a new answer, held anew.
    let k = held[0].as_str();
    app.sim.change(k, &ams_status("active")).unwrap();
    app.refresh_keys(&[k]).await;
    app.sim.change(k, &ams_status("disabled")).unwrap();
    let run = app.refresh_keys(&[k]).await;
    assert_eq!(run.counts.held, 1, "{run:?}");
    let fresh = pending(&app).await;
    assert_eq!(fresh.len(), 1);
    assert_ne!(fresh[0]["id"], json!(id));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mass_membership_removals_are_held_while_the_rest_applies() {
    let app =
        TestApp::spawn_with(AppOptions { members: 200, thresholds: limits(100, 0.1), ..AppOptions::default() }).await;
    app.full_refresh().await;
    // A misconfigured filter in the AMS: members lose every membership
    // (and a field changes beside it).
    let mut emptied = Vec::new();
    for t in app.sim.truths() {
        if t.memberships.len() >= 2 && emptied.len() < 40 {
            let mut details = serde_json::Map::new();
            details.insert("last_name".into(), json!(format!("Renamed {}", t.key)));
            let req = ChangeRequest { details: Some(details), memberships: Some(vec![]), ..Default::default() };
            app.sim.change(&t.key, &req).unwrap();
            emptied.push(t.key.clone());
        }
    }
    let keys: Vec<&str> = emptied.iter().map(String::as_str).collect();
    let run = app.refresh_keys(&keys).await;
    assert!(run.counts.held > 0 && run.counts.held < 40, "some applied, the rest held: {run:?}");
    let mut kept = 0;
    for k in &emptied {
        let doc = app.member(k).await;
        assert_eq!(doc["last_name"], json!(format!("Renamed {k}")), "the rest of the refresh applies");
        if !doc["memberships"].as_array().unwrap().is_empty() {
            kept += 1;
        }
    }
    assert_eq!(kept, run.counts.held, "held members keep their memberships");
    let approval = pending(&app).await.remove(0);
    assert_eq!(approval["kind"], "membership_removal");
    assert!(approval["reason"].as_str().unwrap().contains("max_membership_removal_share = 10%"), "{approval}");
    let id = approval["id"].as_i64().unwrap();
    let (status, body) = app.post(&format!("/api/v1/approvals/{id}"), json!({"decision": "apply"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for k in &emptied {
        assert_eq!(app.member(k).await["memberships"], json!([]), "{k}");
    }
    assert_matches_truth(&app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mass_rule_change_is_held_until_approved() {
    let app =
        TestApp::spawn_with(AppOptions { members: 200, thresholds: limits(100, 0.1), ..AppOptions::default() }).await;
    app.full_refresh().await;
    let exclude = json!({"rules": [{"action": "exclude", "group_type": "Committee", "group_subtype": "*"}]});
    let committee_member = app
        .sim
        .truths()
        .into_iter()
        .find(|t| t.memberships.iter().any(|m| m.community.group_type.as_deref() == Some("Committee")))
        .expect("someone sits on a committee")
        .key;
    let before = app.member(&committee_member).await;

    let (status, body) = app.put("/api/v1/community-rules", exclude.clone()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["held"], true);
    let removed = body["dry_run"]["memberships_removed"].as_u64().unwrap();
    assert!(removed > 0, "{body}");
    let id = body["approval_id"].as_i64().unwrap();
    assert_eq!(app.get("/api/v1/community-rules").await.1, json!({"rules": []}), "nothing changed");
    assert_eq!(app.member(&committee_member).await, before);
    let (_, runs) = app.get("/api/v1/sync/runs?kind=rules").await;
    assert_eq!(runs["runs"], json!([]), "no rule change ran");
    let (_, one) = app.get(&format!("/api/v1/approvals/{id}")).await;
    assert_eq!((one["kind"].as_str(), one["status"].as_str()), (Some("rule_change"), Some("pending")), "{one}");
    assert_eq!(one["rules"], exclude);

    let (status, body) = app.post(&format!("/api/v1/approvals/{id}"), json!({"decision": "apply"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["reapplied"]["memberships_removed"].as_u64(), Some(removed), "{body}");
    assert!(body["run_id"].as_i64().is_some());
    assert_eq!(app.get("/api/v1/community-rules").await.1, exclude);
    let after = app.member(&committee_member).await;
    assert!(after["memberships"].as_array().unwrap().len() < before["memberships"].as_array().unwrap().len());

    // Bringing the committees back removes nothing: it applies at once.
    let (status, body) = app.put("/api/v1/community-rules", json!({"rules": []})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Excluding them again would remove as many: held; rejected, it never applies.
    let (status, body) = app.put("/api/v1/community-rules", exclude).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id = body["approval_id"].as_i64().unwrap();
    let (status, _) = app.post(&format!("/api/v1/approvals/{id}"), json!({"decision": "reject"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.get("/api/v1/community-rules").await.1, json!({"rules": []}));
    assert_eq!(app.member(&committee_member).await["memberships"], before["memberships"]);
    app.stop().await;
}

fn is_committee(m: &amsync_core::community::Membership) -> bool {
    m.community.group_type.as_deref() == Some("Committee")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_rule_change_and_an_admins_disables_do_not_hold_the_next_ordinary_changes() {
    let app =
        TestApp::spawn_with(AppOptions { members: 200, thresholds: limits(3, 0.1), ..AppOptions::default() }).await;
    app.full_refresh().await;
    // An admin approves a rule change that removes more than 10 % of the memberships…
    let exclude = json!({"rules": [{"action": "exclude", "group_type": "Committee", "group_subtype": "*"}]});
    let (status, body) = app.put("/api/v1/community-rules", exclude).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let (id, removed) =
        (body["approval_id"].as_i64().unwrap(), body["dry_run"]["memberships_removed"].as_u64().unwrap());
    let (status, body) = app.post(&format!("/api/v1/approvals/{id}"), json!({"decision": "apply"})).await;
    assert_eq!((status, body["reapplied"]["memberships_removed"].as_u64()), (StatusCode::OK, Some(removed)), "{body}");
    // …and disables four members, more than max_disables = 3.
    let truths = app.sim.truths();
    let mut active = truths
        .iter()
        .filter(|t| !t.deleted && t.details.status == amsync_core::AmsStatus::Active)
        .map(|t| t.key.clone());
    let by_admin: Vec<String> = active.by_ref().take(4).collect();
    for k in &by_admin {
        let (status, body) = app.post(&format!("/api/v1/members/{k}/disable"), json!({})).await;
        assert_eq!((status, body["changed"].as_bool()), (StatusCode::OK, Some(true)), "{body}");
    }
    let deleted: Vec<String> = active.by_ref().take(2).collect();

    // Within the same window, the AMS's ordinary changes: 5 % of the
    // members lose a membership the rules keep, and two members are gone.
    let mut changed = Vec::new();
    for t in truths.iter().filter(|t| !t.deleted && !by_admin.contains(&t.key) && !deleted.contains(&t.key)) {
        if changed.len() == 10 {
            break;
        }
        let Some(gone) = t.memberships.iter().position(|m| !is_committee(m)) else { continue };
        let mut memberships = t.memberships.clone();
        memberships.remove(gone);
        app.sim.change(&t.key, &ChangeRequest { memberships: Some(memberships), ..Default::default() }).unwrap();
        changed.push(t.key.clone());
    }
    assert_eq!(changed.len(), 10);
    for k in &deleted {
        app.sim.delete(k).unwrap();
    }
    let keys: Vec<&str> = changed.iter().chain(&deleted).map(String::as_str).collect();
    let run = app.refresh_keys(&keys).await;
    assert_eq!(
        (run.counts.held, run.counts.disabled, run.counts.failed),
        (0, 2, 0),
        "applied without approval: {run:?}"
    );
    assert!(pending(&app).await.is_empty(), "no new approval");
    for k in &changed {
        let truth = app.sim.truth(k).unwrap();
        let mut want: Vec<String> =
            truth.memberships.iter().filter(|m| !is_committee(m)).map(|m| m.community.key.to_string()).collect();
        let doc = app.member(k).await;
        let mut got: Vec<String> = doc["memberships"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["community"]["key"].as_str().unwrap().to_string())
            .collect();
        want.sort();
        got.sort();
        assert_eq!(got, want, "{k}: the removal applied");
    }
    for k in &deleted {
        assert_eq!(status_of(&app, k).await, "disabled", "{k}");
    }
    // For the audit the window shows the admin's changes beside the AMS's.
    let (_, s) = app.get("/api/v1/sync/status").await;
    let t = &s["thresholds"];
    assert_eq!((t["disables"].as_u64(), t["admin_disables"].as_u64()), (Some(2), Some(4)), "{t}");
    assert_eq!(
        (t["membership_removals"].as_u64(), t["admin_membership_removals"].as_u64()),
        (Some(10), Some(removed)),
        "{t}"
    );
    app.stop().await;
}
