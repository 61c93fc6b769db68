//! Security groups over the API: built-ins, IsMember designations (in
//! member documents and the change feed), local groups and their members
//! (SuperAdmin's included) surviving refreshes, AMS groups that collide with
//! built-in or local keys never granting, and a disabled member decided as
//! Public while its local memberships are kept.

use amsync_core::{GroupKey, SecurityGroupRef};
use amsync_sim::{ChangeRequest, MemberTruth};
use amsync_store::MemberStore;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{AppOptions, TestApp};

fn holds(t: &MemberTruth, group: &str) -> bool {
    t.groups.iter().any(|g| g.key.as_str() == group)
}

fn keys_of(list: &Value, field: &str) -> Vec<String> {
    list[field].as_array().unwrap().iter().map(|g| g["key"].as_str().unwrap().to_string()).collect()
}

async fn feed_cursor(app: &TestApp) -> String {
    let mut cursor = String::new();
    loop {
        let (_, page) = app.get(&format!("/api/v1/changes?after={cursor}&limit=1000")).await;
        cursor = page["next_cursor"].as_str().unwrap().to_string();
        if page["more"] == false {
            return cursor;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_is_member_designation_shows_in_member_documents_and_the_feed() {
    let app = TestApp::spawn().await;
    app.full_refresh().await;
    let (_, groups) = app.get("/api/v1/security-groups").await;
    let listed = keys_of(&groups, "groups");
    assert_eq!(listed[..4], ["Public", "Authenticated", "IsMember", "SuperAdmin"]);
    assert!(listed.contains(&"STUDENT".to_string()), "AMS groups appear when first seen: {listed:?}");

    let truths = app.sim.truths();
    let students: Vec<&MemberTruth> = truths.iter().filter(|t| holds(t, "STUDENT")).collect();
    let student = students[0].key.clone();
    assert!(!app.effective_groups(&student).await.contains(&"IsMember".to_string()));
    let cursor = feed_cursor(&app).await;

    let body = json!({"groups": [
        {"key": "STUDENT", "is_member": true},
        {"key": "EDITORS", "source": "local", "name": "Editors"},
    ]});
    let (status, answer) = app.put("/api/v1/security-groups", body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["affected_members"], students.len(), "every student gains IsMember");
    let editors = answer["groups"].as_array().unwrap().iter().find(|g| g["key"] == "EDITORS").unwrap();
    assert_eq!((editors["source"].as_str(), editors["name"].as_str()), (Some("local"), Some("Editors")));
    assert!(app.effective_groups(&student).await.contains(&"IsMember".to_string()));

    let (_, feed) = app.get(&format!("/api/v1/changes?after={cursor}&limit=1000")).await;
    let mut fed: Vec<String> = keys_of(&feed, "changes");
    fed.sort();
    let mut want: Vec<String> = students.iter().map(|t| t.key.clone()).collect();
    want.sort();
    assert_eq!(fed, want, "one feed entry per member whose IsMember changed");

    let (_, answer) =
        app.put("/api/v1/security-groups", json!({"groups": [{"key": "student", "is_member": false}]})).await;
    assert_eq!(answer["affected_members"], students.len());
    assert!(!app.effective_groups(&student).await.contains(&"IsMember".to_string()));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_cannot_be_created_changed_or_deleted_is_refused() {
    let app = TestApp::spawn_with(AppOptions { members: 30, ..AppOptions::default() }).await;
    app.full_refresh().await;
    let refused = [
        (json!({"groups": [{"key": "member", "source": "local", "name": "Members"}]}), StatusCode::CONFLICT),
        (json!({"groups": [{"key": "SUPERADMIN", "source": "local", "name": "x"}]}), StatusCode::CONFLICT),
        (json!({"groups": [{"key": "Public", "name": "Everyone"}]}), StatusCode::CONFLICT),
        (json!({"groups": [{"key": "NEWLOCAL", "source": "local"}]}), StatusCode::BAD_REQUEST),
        (
            json!({"groups": [{"key": "NEWLOCAL", "source": "local", "name": "n", "is_member": true}]}),
            StatusCode::BAD_REQUEST,
        ),
        (json!({"groups": [{"key": "X", "source": "builtin", "name": "x"}]}), StatusCode::BAD_REQUEST),
        (json!({"groups": [{"key": "X", "source": "elsewhere"}]}), StatusCode::BAD_REQUEST),
        (json!({"groups": []}), StatusCode::BAD_REQUEST),
        (json!({"groups": [{"key": ""}]}), StatusCode::BAD_REQUEST),
    ];
    let before = app.get("/api/v1/security-groups").await.1;
    for (body, want) in refused {
        let (status, answer) = app.put("/api/v1/security-groups", body.clone()).await;
        assert_eq!(status, want, "{body}: {answer}");
    }
    assert_eq!(app.get("/api/v1/security-groups").await.1, before, "nothing changed");

    for (key, want) in [
        ("Public", StatusCode::CONFLICT),
        ("SuperAdmin", StatusCode::CONFLICT),
        ("MEMBER", StatusCode::CONFLICT),
        ("NOPE", StatusCode::NOT_FOUND),
    ] {
        let (status, answer) = app.delete(&format!("/api/v1/security-groups/{key}")).await;
        assert_eq!(status, want, "{key}: {answer}");
    }
    let (_, answer) = app.delete("/api/v1/security-groups/MEMBER").await;
    assert!(answer["error"]["message"].as_str().unwrap().contains("un-designate"), "{answer}");

    let body = json!({"groups": [{"key": "EDITORS", "source": "local", "name": "Editors"}]});
    assert_eq!(app.put("/api/v1/security-groups", body).await.0, StatusCode::OK);
    for (key, members, want) in [
        ("EDITORS", json!(["M000001", "NOBODY"]), StatusCode::BAD_REQUEST),
        ("MEMBER", json!(["M000001"]), StatusCode::CONFLICT),
        ("IsMember", json!(["M000001"]), StatusCode::CONFLICT),
        ("NOPE", json!(["M000001"]), StatusCode::NOT_FOUND),
    ] {
        let (status, answer) =
            app.put(&format!("/api/v1/security-groups/{key}/members"), json!({ "members": members })).await;
        assert_eq!(status, want, "{key}: {answer}");
    }
    let (status, answer) = app.delete("/api/v1/security-groups/editors").await;
    assert_eq!((status, answer["deleted"].as_str()), (StatusCode::OK, Some("editors")), "{answer}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_groups_survive_refreshes_and_superadmin_is_allowed_everything() {
    let app = TestApp::spawn_with(AppOptions { members: 30, ..AppOptions::default() }).await;
    app.full_refresh().await;
    let body = json!({"groups": [{"key": "EDITORS", "source": "local", "name": "Editors"}]});
    assert_eq!(app.put("/api/v1/security-groups", body).await.0, StatusCode::OK);
    let (status, answer) =
        app.put("/api/v1/security-groups/EDITORS/members", json!({"members": ["M000002", "M000003"]})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!((answer["added"].as_u64(), answer["removed"].as_u64()), (Some(2), Some(0)));
    let (status, answer) = app.put("/api/v1/security-groups/SuperAdmin/members", json!({"members": ["M000004"]})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(app.put("/api/v1/content/editors-desk", json!({"groups": ["EDITORS"]})).await.0, StatusCode::CREATED);

    let (allowed, reason) = app.decide(Some("M000002"), "content:editors-desk").await;
    assert_eq!((allowed, reason.as_str()), (true, "content item editors-desk allows EDITORS"));
    assert!(!app.decide(Some("M000005"), "content:editors-desk").await.0);
    let (_, list) = app.get("/api/v1/communities").await;
    for c in list["communities"].as_array().unwrap() {
        let (allowed, reason) =
            app.decide(Some("M000004"), &format!("discussion:{}", c["key"].as_str().unwrap())).await;
        assert_eq!((allowed, reason.as_str()), (true, "SuperAdmin is allowed everything"));
    }
    assert_eq!(
        app.decide(Some("M000004"), "content:editors-desk").await,
        (true, "SuperAdmin is allowed everything".into())
    );
    let (allowed, _) = app.decide(Some("M000004"), "content:not-there").await;
    assert!(!allowed, "an unknown resource is refused even to SuperAdmin");
    let (_, history) = app.get("/api/v1/members/M000004/history").await;
    assert_eq!(history["changes"][0]["trigger"], "admin");
    assert_eq!(history["changes"][0]["fields"][0]["field"], "/local_groups/SuperAdmin");

    // The AMS changes the members; refreshes never touch local groups.
    for k in ["M000002", "M000003", "M000004"] {
        app.sim.change(k, &ChangeRequest::default()).unwrap();
    }
    app.full_refresh().await;
    app.full_refresh().await;
    let (_, members) = app.get("/api/v1/security-groups/EDITORS/members").await;
    assert_eq!(members["members"], json!(["M000002", "M000003"]));
    let doc = app.member("M000002").await;
    let editors = doc["security_groups"].as_array().unwrap().iter().find(|g| g["key"] == "EDITORS").cloned();
    assert_eq!(editors, Some(json!({"key": "EDITORS", "name": "Editors", "source": "local"})));
    assert!(app.decide(Some("M000003"), "content:editors-desk").await.0);
    assert!(app.effective_groups("M000004").await.contains(&"SuperAdmin".to_string()));

    // Full replace.
    let (_, answer) = app.put("/api/v1/security-groups/EDITORS/members", json!({"members": ["M000003"]})).await;
    assert_eq!((answer["added"].as_u64(), answer["removed"].as_u64()), (Some(0), Some(1)));
    assert!(!app.decide(Some("M000002"), "content:editors-desk").await.0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ams_groups_colliding_with_builtin_or_local_keys_never_grant() {
    let app = TestApp::spawn_with(AppOptions { members: 30, ..AppOptions::default() }).await;
    app.full_refresh().await;
    let body = json!({"groups": [{"key": "EDITORS", "source": "local", "name": "Editors"}]});
    assert_eq!(app.put("/api/v1/security-groups", body).await.0, StatusCode::OK);
    assert_eq!(app.put("/api/v1/content/editors-desk", json!({"groups": ["EDITORS"]})).await.0, StatusCode::CREATED);
    assert_eq!(app.put("/api/v1/content/members-area", json!({"groups": ["IsMember"]})).await.0, StatusCode::CREATED);
    let group = |k: &str| SecurityGroupRef { key: GroupKey::parse(k).unwrap(), name: Some(k.into()) };
    let claimed = vec![group("editors"), group("SuperAdmin"), group("ismember"), group("Authenticated")];
    app.sim.change("M000006", &ChangeRequest { groups: Some(claimed), ..Default::default() }).unwrap();
    let run = app.refresh_keys(&["M000006"]).await;
    assert_eq!(run.counts.failed, 0, "the rest of the refresh applies: {run:?}");

    let stored = app.store.get_member(&crate::helpers::key("M000006")).await.unwrap().unwrap();
    assert_eq!(stored.record.ams_groups, [], "every claimed group was refused");
    let doc = app.member("M000006").await;
    assert_eq!(keys_of(&doc, "security_groups"), ["Authenticated"]);
    assert!(!app.decide(Some("M000006"), "content:editors-desk").await.0);
    assert!(!app.decide(Some("M000006"), "content:members-area").await.0);
    let (_, list) = app.get("/api/v1/communities").await;
    let held: Vec<&str> =
        doc["memberships"].as_array().unwrap().iter().map(|m| m["community"]["key"].as_str().unwrap()).collect();
    let other =
        list["communities"].as_array().unwrap().iter().map(|c| c["key"].as_str().unwrap()).find(|k| !held.contains(k));
    let (allowed, reason) = app.decide(Some("M000006"), &format!("library:{}", other.unwrap())).await;
    assert!(!allowed, "no SuperAdmin from the AMS: {reason}");
    let (_, groups) = app.get("/api/v1/security-groups").await;
    let sources: Vec<(String, String)> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| ["editors", "superadmin", "ismember"].contains(&g["key"].as_str().unwrap().to_lowercase().as_str()))
        .map(|g| (g["key"].as_str().unwrap().to_string(), g["source"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        sources,
        [
            ("IsMember".into(), "builtin".into()),
            ("SuperAdmin".into(), "builtin".into()),
            ("EDITORS".into(), "local".into())
        ],
        "no AMS group registered under those keys"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_member_is_decided_as_public_and_keeps_its_local_groups() {
    let app = TestApp::spawn_with(AppOptions { members: 30, ..AppOptions::default() }).await;
    app.full_refresh().await;
    let body = json!({"groups": [{"key": "EDITORS", "source": "local", "name": "Editors"}]});
    assert_eq!(app.put("/api/v1/security-groups", body).await.0, StatusCode::OK);
    assert_eq!(
        app.put("/api/v1/security-groups/EDITORS/members", json!({"members": ["M000007"]})).await.0,
        StatusCode::OK
    );
    assert_eq!(app.put("/api/v1/content/editors-desk", json!({"groups": ["EDITORS"]})).await.0, StatusCode::CREATED);
    assert_eq!(app.put("/api/v1/content/front-page", json!({"groups": ["Public"]})).await.0, StatusCode::CREATED);
    assert!(app.decide(Some("M000007"), "content:editors-desk").await.0);

    let status = |s: &str| {
        let details = serde_json::Map::from_iter([("status".to_string(), json!(s))]);
        ChangeRequest { details: Some(details), ..Default::default() }
    };
    app.sim.change("M000007", &status("disabled")).unwrap();
    app.refresh_keys(&["M000007"]).await;
    let doc = app.member("M000007").await;
    assert_eq!((doc["status"].as_str(), doc["security_groups"].clone()), (Some("disabled"), json!([])));
    let (allowed, reason) = app.decide(Some("M000007"), "content:editors-desk").await;
    assert!(!allowed);
    assert!(reason.starts_with("member M000007 is disabled; decided as a signed-out visitor"), "{reason}");
    assert!(app.decide(Some("M000007"), "content:front-page").await.0, "what Public may see");
    let (_, members) = app.get("/api/v1/security-groups/EDITORS/members").await;
    assert_eq!(members["members"], json!(["M000007"]), "the local membership is kept");

    app.sim.change("M000007", &status("active")).unwrap();
    app.refresh_keys(&["M000007"]).await;
    let (allowed, reason) = app.decide(Some("M000007"), "content:editors-desk").await;
    assert!(allowed, "enabled again, with its local groups: {reason}");
    app.stop().await;
}
