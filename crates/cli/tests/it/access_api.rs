//! `GET /api/v1/access` end to end: visitors, unknown members and
//! resources, terms computed for the day (a membership that begins next
//! month), the communities' time zone, content items, grants, events, and a
//! policy that follows every change at once while it is built only once per
//! change.

use amsync_core::{Community, CommunityKey, Membership};
use amsync_sim::ChangeRequest;
use chrono::{Datelike, NaiveDate, Utc};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{AppOptions, TestApp, SITE_TOKEN};

fn new_york() -> Community {
    Community {
        key: CommunityKey::parse("CH-NYC").unwrap(),
        name: Some("New York Chapter".into()),
        community_type: Some("Chapter".into()),
        group_type: Some("Chapter".into()),
        group_subtype: Some("Regional".into()),
    }
}

/// Gives `key` one open-ended New York membership beginning on `begin`
/// (instead of any it had), in the AMS, and refreshes it.
async fn begins_in_new_york(app: &TestApp, key: &str, begin: NaiveDate) {
    let mut memberships = app.sim.truth(key).unwrap().memberships;
    memberships.retain(|m| m.community.key.as_str() != "CH-NYC");
    memberships.push(Membership { community: new_york(), begin, end: None, role: Some("Member".into()) });
    let change = ChangeRequest { memberships: Some(memberships), ..Default::default() };
    app.sim.change(key, &change).unwrap();
    app.refresh_keys(&[key]).await;
}

fn first_of_next_month(today: NaiveDate) -> NaiveDate {
    let (y, m) = if today.month() == 12 { (today.year() + 1, 1) } else { (today.year(), today.month() + 1) };
    NaiveDate::from_ymd_opt(y, m, 1).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_membership_that_begins_next_month_grants_access_on_its_first_day_without_a_refresh() {
    let app = TestApp::spawn_with(AppOptions { members: 20, ..AppOptions::default() }).await;
    app.full_refresh().await;
    let begin = first_of_next_month(Utc::now().date_naive());
    begins_in_new_york(&app, "M000003", begin).await;
    let history = app.get("/api/v1/members/M000003/history").await.1["changes"].as_array().unwrap().len();
    app.sim.reset_stats();

    let (allowed, reason) = app.decide(Some("M000003"), "discussion:CH-NYC").await;
    assert!(!allowed);
    assert_eq!(reason, format!("membership of CH-NYC begins {begin}"));
    let eve = (begin - chrono::Days::new(1)).to_string();
    assert!(!app.decide_on(Some("M000003"), "discussion:CH-NYC", Some(&eve)).await.0);
    let (allowed, reason) = app.decide_on(Some("M000003"), "microsite:CH-NYC", Some(&begin.to_string())).await;
    assert!(allowed, "{reason}");
    assert_eq!(reason, "current member of CH-NYC (open-ended) as Member");

    let doc = app.member("M000003").await;
    let nyc = doc["memberships"].as_array().unwrap().iter().find(|m| m["community"]["key"] == "CH-NYC").unwrap();
    assert_eq!(nyc["current"], false, "not current today");
    assert_eq!(app.sim.stats().requests_total, 0, "no AMS call");
    let after = app.get("/api/v1/members/M000003/history").await.1["changes"].as_array().unwrap().len();
    assert_eq!(after, history, "no refresh, nothing written");
    app.stop().await;
}

/// "Today" is the date in `communities.timezone`: the same stored
/// membership, beginning on today's date in the easternmost zone, is
/// current there and still to come in the westernmost one (26 hours apart,
/// so their dates always differ).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn today_is_the_date_in_the_communities_time_zone() {
    let east: chrono_tz::Tz = "Pacific/Kiritimati".parse().unwrap();
    let west: chrono_tz::Tz = "Etc/GMT+12".parse().unwrap();
    let begin = Utc::now().with_timezone(&east).date_naive();
    for (tz, current) in [(east, true), (west, false)] {
        let app = TestApp::spawn_with(AppOptions { members: 5, timezone: tz, ..AppOptions::default() }).await;
        app.full_refresh().await;
        begins_in_new_york(&app, "M000002", begin).await;
        let (allowed, reason) = app.decide(Some("M000002"), "library:CH-NYC").await;
        assert_eq!(allowed, current, "{tz}: {reason}");
        let doc = app.member("M000002").await;
        let nyc = doc["memberships"].as_array().unwrap().iter().find(|m| m["community"]["key"] == "CH-NYC").unwrap();
        assert_eq!(nyc["current"], current, "{tz}");
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visitors_unknown_members_and_unknown_resources() {
    let app = TestApp::spawn_with(AppOptions { members: 20, ..AppOptions::default() }).await;
    app.full_refresh().await;
    let (_, list) = app.get("/api/v1/communities").await;
    let community = list["communities"][0]["key"].as_str().unwrap().to_string();
    let resource = format!("discussion:{community}");
    let (allowed, reason) = app.decide(None, &resource).await;
    assert!(!allowed);
    assert_eq!(reason, format!("not signed in, and Public is not granted access to {community}"));
    let (status, body) =
        app.put(&format!("/api/v1/communities/{community}/access"), json!({"groups": ["public"]})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["groups"], json!(["Public"]), "the registered spelling");
    let (allowed, reason) = app.decide(None, &resource).await;
    assert!(allowed, "{reason}");
    assert_eq!(reason, format!("group Public is granted access to {community}"));

    let (status, body) = app.get_as("/api/v1/access?member=NOBODY&resource=content:x", Some(SITE_TOKEN)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{body}");

    let (allowed, reason) = app.decide(Some("M000001"), "foo:bar").await;
    assert!(!allowed);
    assert!(reason.starts_with("unknown resource \"foo:bar\": \"foo\" is not a kind of resource"), "{reason}");
    let (allowed, reason) = app.decide(Some("M000001"), "content:nope").await;
    assert_eq!((allowed, reason.as_str()), (false, "no content item nope is known"));
    let (allowed, reason) = app.decide(None, "event:EV-NONE").await;
    assert_eq!((allowed, reason.as_str()), (false, "no event EV-NONE is known"));

    let long = "M".repeat(65);
    for bad in [
        "/api/v1/access".to_string(),
        "/api/v1/access?resource=".to_string(),
        "/api/v1/access?resource=content:x&day=tomorrow".to_string(),
        format!("/api/v1/access?resource=content:x&member={long}"),
        "/api/v1/access?resource=content:x&who=M000001".to_string(),
    ] {
        let (status, body) = app.get_as(&bad, Some(SITE_TOKEN)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_grants_and_designations_change_decisions_at_once() {
    let app = TestApp::spawn().await;
    app.full_refresh().await;
    let truths = app.sim.truths();
    let holds = |t: &amsync_sim::MemberTruth, g: &str| t.groups.iter().any(|x| x.key.as_str() == g);
    let member = truths.iter().find(|t| holds(t, "MEMBER")).unwrap().key.clone();
    let lapsed = truths.iter().find(|t| t.groups.is_empty()).unwrap().key.clone();

    let item = json!({"name": "Members only", "groups": ["IsMember"]});
    let (status, body) = app.put("/api/v1/content/members-only", item.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!((body["id"].as_str(), body["groups"].clone()), (Some("members-only"), json!(["IsMember"])));
    assert_eq!(app.put("/api/v1/content/members-only", item).await.0, StatusCode::OK, "replaced");
    let (status, got) = app.get("/api/v1/content/members-only").await;
    assert_eq!((status, got["name"].as_str()), (StatusCode::OK, Some("Members only")));
    assert_eq!(app.get("/api/v1/content/nothing-here").await.0, StatusCode::NOT_FOUND);

    // Nothing counts as IsMember yet.
    let (allowed, reason) = app.decide(Some(&member), "content:members-only").await;
    assert!(!allowed, "{reason}");
    let (status, body) =
        app.put("/api/v1/security-groups", json!({"groups": [{"key": "MEMBER", "is_member": true}]})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (allowed, reason) = app.decide(Some(&member), "content:members-only").await;
    assert!(allowed, "{reason}");
    assert_eq!(reason, "content item members-only allows IsMember");
    let (allowed, reason) = app.decide(Some(&lapsed), "content:members-only").await;
    assert!(!allowed);
    assert!(reason.ends_with("allows only IsMember, and the member is in none of them"), "{reason}");
    assert!(!app.decide(None, "content:members-only").await.0);

    // Decisions between changes do not rebuild the policy.
    let builds = app.access.builds();
    for _ in 0..20 {
        app.decide(Some(&lapsed), "content:members-only").await;
        app.decide(None, "content:members-only").await;
    }
    assert_eq!(app.access.builds(), builds, "one build per change, not per request");

    let (status, _) = app.put("/api/v1/content/members-only", json!({"groups": ["Authenticated"]})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(app.decide(Some(&lapsed), "content:members-only").await.0, "the change shows at once");
    assert_eq!(app.access.builds(), builds + 1);
    let (status, body) = app.put("/api/v1/content/members-only", json!({"groups": ["NOPE"]})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("NOPE"), "{body}");

    // A grant opens a community's discussion to a group.
    let (_, list) = app.get("/api/v1/communities").await;
    let community = list["communities"][0]["key"].as_str().unwrap().to_string();
    let outsider = truths
        .iter()
        .find(|t| !t.memberships.iter().any(|m| m.community.key.as_str() == community))
        .unwrap()
        .key
        .clone();
    let resource = format!("discussion:{community}");
    let (allowed, reason) = app.decide(Some(&outsider), &resource).await;
    assert!(!allowed);
    assert_eq!(reason, format!("not a member of {community}, and none of the member's groups is granted access to it"));
    let path = format!("/api/v1/communities/{community}/access");
    assert_eq!(app.put(&path, json!({"groups": ["Authenticated"]})).await.0, StatusCode::OK);
    assert_eq!(app.get(&path).await.1["groups"], json!(["Authenticated"]));
    let (allowed, reason) = app.decide(Some(&outsider), &resource).await;
    assert!(allowed, "{reason}");
    assert!(!app.decide(None, &resource).await.0, "Authenticated is not Public");
    assert_eq!(app.put("/api/v1/communities/CH-NOPE/access", json!({"groups": []})).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.put(&path, json!({"groups": ["NOPE"]})).await.0, StatusCode::BAD_REQUEST);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_decided_open_limited_and_cancelled() {
    let app = TestApp::spawn().await;
    app.full_refresh().await;
    app.engine.sync_events().await.unwrap();
    let events = app.sim.events();
    let open = events.iter().find(|e| e.community_key.is_none()).unwrap();
    let (allowed, reason) = app.decide(None, &format!("event:{}", open.key)).await;
    assert!(allowed, "{reason}");
    assert_eq!(reason, format!("event {} is open to everyone", open.key));

    // A limited event whose community has a member current today.
    let today = Utc::now().date_naive();
    let truths = app.sim.truths();
    let (event, member) = events
        .iter()
        .filter_map(|e| Some((e, e.community_key.as_ref()?)))
        .find_map(|(e, c)| {
            let m =
                truths.iter().find(|t| t.memberships.iter().any(|m| &m.community.key == c && m.is_current(today)))?;
            Some((e.clone(), m.key.clone()))
        })
        .expect("a limited event with a current member");
    let community = event.community_key.clone().unwrap();
    let resource = format!("event:{}", event.key);
    let (allowed, reason) = app.decide(Some(&member), &resource).await;
    assert!(allowed, "{reason}");
    assert!(reason.starts_with(&format!("event {} is limited to members of {community}; current member", event.key)));
    assert!(!app.decide(None, &resource).await.0);

    // Cancelled in the AMS, brought over by the events sync: still visible,
    // as cancelled, at once.
    app.sim.cancel_event(event.key.as_str()).unwrap();
    app.engine.sync_events().await.unwrap();
    let (allowed, reason) = app.decide(Some(&member), &resource).await;
    assert!(allowed, "{reason}");
    assert!(reason.contains("is cancelled (it stays visible as cancelled)"), "{reason}");
    app.stop().await;
}
