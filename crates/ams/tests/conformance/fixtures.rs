//! The AMS data the shared suite starts from: the contract's documented
//! examples (the JSON fixture files, read as core values), a few more
//! members around them, the keys the AMS no longer has, and the credential
//! service's accounts.

use amsync_ams::memory::{Account, FixtureEvent, FixtureMember, GoneMember, SourceFixture};
use amsync_core::group::SecurityGroupRef;
use amsync_core::{Event, MemberDetails, MemberKey, Membership};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Deserialize;

pub fn key(s: &str) -> MemberKey {
    MemberKey::parse(s).unwrap()
}

pub fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn example<T: DeserializeOwned>(name: &str) -> T {
    let path = format!("{}/tests/fixtures/json/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let body = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[derive(Deserialize)]
struct Memberships {
    memberships: Vec<Membership>,
}

#[derive(Deserialize)]
struct Groups {
    groups: Vec<SecurityGroupRef>,
}

#[derive(Deserialize)]
struct Events {
    events: Vec<Event>,
}

/// `M000123`, the contract's example member, whole.
pub fn ada() -> FixtureMember {
    FixtureMember {
        details: example::<MemberDetails>("member_M000123"),
        memberships: example::<Memberships>("communities_M000123").memberships,
        groups: example::<Groups>("groups_M000123").groups,
        changed_at: at("2026-11-29T13:41:07Z"),
    }
}

/// A member with a name and one group, changed at `changed_at`.
pub fn plain(k: &str, changed_at: &str) -> FixtureMember {
    let mut m = FixtureMember::new(key(k), at(changed_at));
    m.details.last_name = Some(format!("Member {k}"));
    m.groups =
        vec![SecurityGroupRef { key: amsync_core::GroupKey::parse("MEMBER").unwrap(), name: Some("Member".into()) }];
    m
}

/// The AMS of the contract's examples, listing two entries per page:
///
/// | key | | changed at |
/// |---|---|---|
/// | M000404 | gone (404) | 13:20:00 |
/// | M000123 | the example member | 13:41:07 |
/// | M000555 | merged into M000999 (410) | 13:45:00 |
/// | M000777 | | 13:50:00 |
/// | M000999 | | 13:55:00 |
///
/// with the two example events, and `ada` / `right-password` and the token
/// `good-token` signing in as M000123.
pub fn contract() -> SourceFixture {
    let events: Vec<Event> =
        [example::<Events>("events_page1").events, example::<Events>("events_page2").events].concat();
    SourceFixture {
        as_of: Some(at("2026-11-29T14:00:02Z")),
        page_size: 2,
        members: vec![ada(), plain("M000777", "2026-11-29T13:50:00Z"), plain("M000999", "2026-11-29T13:55:00Z")],
        gone: vec![
            GoneMember { key: key("M000404"), status: 404, merged_into: None, changed_at: at("2026-11-29T13:20:00Z") },
            GoneMember {
                key: key("M000555"),
                status: 410,
                merged_into: Some(key("M000999")),
                changed_at: at("2026-11-29T13:45:00Z"),
            },
        ],
        events: events
            .into_iter()
            .enumerate()
            .map(|(i, event)| FixtureEvent {
                event,
                changed_at: at("2026-11-29T13:00:00Z") + chrono::Duration::minutes(i as i64),
            })
            .collect(),
        accounts: vec![Account { username: "ada".into(), password: "right-password".into(), key: key("M000123") }],
        tokens: vec![("good-token".into(), key("M000123"))],
        ..SourceFixture::default()
    }
}
