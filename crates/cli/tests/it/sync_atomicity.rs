//! Atomicity: a part that fails or does not parse leaves the member exactly
//! as it was, and the error is recorded with the key, the part and an excerpt.

use amsync_sim::{ChangeRequest, FaultKind, Faults, Method, TargetedFault};
use serde_json::json;

use crate::helpers::TestApp;

fn fault(key: &str, method: Method, fault: FaultKind) -> Faults {
    Faults {
        targeted: vec![TargetedFault { key: Some(key.into()), method: Some(method), fault, count: None }],
        ..Faults::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_communities_call_leaves_the_details_unchanged_too() {
    let app = TestApp::spawn().await;
    app.full_refresh().await;
    let before = app.member("M000003").await;
    let change: ChangeRequest =
        serde_json::from_value(json!({ "details": { "last_name": "Changed", "email": "changed@example.org" } }))
            .unwrap();
    app.sim.change("M000003", &change).unwrap();
    app.set_faults(fault("M000003", Method::Communities, FaultKind::Error));
    let run = app.refresh_keys(&["M000003"]).await;
    assert!(run.counts.failed >= 1 || run.counts.dead >= 1, "{run:?}");
    let after = app.member("M000003").await;
    for field in ["last_name", "email", "phones", "address", "memberships", "security_groups", "updated_at"] {
        assert_eq!(after[field], before[field], "{field} changed although the communities part failed");
    }
    let err = &after["last_error"]["failure"];
    assert_eq!(err["part"], "communities", "{after}");
    assert_eq!(err["kind"], "transient");
    // The history shows no partial change.
    let (_, history) = app.get("/api/v1/members/M000003/history").await;
    assert_eq!(history["changes"].as_array().unwrap().len(), 1, "only the creation: {history}");

    // Once the AMS answers again, the whole change lands at once.
    app.clear_faults();
    app.refresh_keys(&["M000003"]).await;
    let fixed = app.member("M000003").await;
    assert_eq!(fixed["last_name"], "Changed");
    assert_eq!(fixed["email"], "changed@example.org");
    assert!(fixed.get("last_error").is_none(), "a good refresh clears the error: {fixed}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_body_keeps_old_data_and_records_key_and_excerpt() {
    let app = TestApp::spawn().await;
    app.full_refresh().await;
    let before = app.member("M000004").await;
    let change: ChangeRequest = serde_json::from_value(json!({ "details": { "first_name": "Malformed" } })).unwrap();
    app.sim.change("M000004", &change).unwrap();
    app.set_faults(fault("M000004", Method::Details, FaultKind::Malformed));
    app.refresh_keys(&["M000004"]).await;
    let after = app.member("M000004").await;
    assert_eq!(after["first_name"], before["first_name"]);
    let err = &after["last_error"]["failure"];
    assert_eq!(err["kind"], "data", "{after}");
    assert_eq!(err["part"], "details");
    assert!(err["message"].as_str().unwrap().contains("M000004"), "the error names the record: {err}");
    assert!(!err["excerpt"].as_str().unwrap_or_default().is_empty(), "an excerpt of the body: {err}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifth_phone_is_a_data_error_naming_the_field() {
    let app = TestApp::spawn().await;
    app.full_refresh().await;
    let phones: Vec<_> = (0..5).map(|i| json!({"type": "Work", "number": format!("+1 202 555 010{i}")})).collect();
    let change: ChangeRequest = serde_json::from_value(json!({ "details": { "phones": phones } })).unwrap();
    app.sim.change("M000006", &change).unwrap();
    let before = app.member("M000006").await;
    app.refresh_keys(&["M000006"]).await;
    let after = app.member("M000006").await;
    assert_eq!(after["phones"], before["phones"], "not truncated, not applied");
    assert_eq!(after["last_error"]["failure"]["field"], "/phones/4", "{after}");
    // The queue shows it too, with the next retry or as a dead letter.
    let (_, q) = app.get("/api/v1/queue").await;
    let entry = q["entries"].as_array().unwrap().iter().find(|e| e["key"] == "M000006");
    if let Some(e) = entry {
        assert_eq!(e["last_error"]["field"], "/phones/4");
    }
    app.stop().await;
}
