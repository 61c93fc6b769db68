//! GetMemberDetails, GetMemberCommunities, GetMemberSecurityGroups: a
//! member reads as the AMS holds it (normalized, lists sorted), with its
//! raw answer kept; a key the AMS no longer has is an answer (404, or 410
//! with its merge target), never an error; the health check answers.

use amsync_ams::{AmsSource, DetailsAnswer};
use amsync_core::hash::ContentHash;

use crate::fixtures::{contract, key};
use crate::harness::{start, Harness};

pub async fn members_read_as_the_ams_holds_them(h: &dyn Harness) {
    let fixture = contract();
    let (run, _) = start(h, fixture.clone()).await;
    for m in &fixture.members {
        let k = m.key();
        let details = run.source.member_details(k).await.unwrap();
        let mut want = m.details.clone();
        want.normalize();
        assert_eq!(details.value, DetailsAnswer::Found(want.clone()), "{k}");
        assert_eq!(details.raw.format, h.format(), "{k}");
        assert!(!details.raw.body.is_empty(), "the raw answer is kept: {k}");

        let memberships = run.source.member_communities(k).await.unwrap();
        let mut want_memberships = m.memberships.clone();
        amsync_core::community::normalize_memberships(&mut want_memberships);
        assert_eq!(memberships.value, want_memberships, "{k}");
        assert_eq!(memberships.raw.format, h.format());

        let groups = run.source.member_groups(k).await.unwrap();
        let mut want_groups = m.groups.clone();
        amsync_core::group::normalize_groups(&mut want_groups);
        assert_eq!(groups.value, want_groups, "{k}");
        assert_eq!(groups.raw.format, h.format());
        // Equal values, equal hashes: a kind change alone rewrites nothing.
        assert_eq!(ContentHash::of(&memberships.value), ContentHash::of(&want_memberships));
    }
    let ada = run.source.member_details(&key("M000123")).await.unwrap();
    let DetailsAnswer::Found(d) = ada.value else { panic!("{:?}", ada.value) };
    assert_eq!(d.phones.len(), 2);
    assert_eq!(d.address.and_then(|a| a.line3), None, "an empty line is no value");
}

pub async fn gone_members_are_answers(h: &dyn Harness) {
    let (run, _) = start(h, contract()).await;
    let gone = run.source.member_details(&key("M000404")).await.unwrap();
    assert_eq!(gone.value, DetailsAnswer::Gone { status: 404, merged_into: None });
    let merged = run.source.member_details(&key("M000555")).await.unwrap();
    assert_eq!(merged.value, DetailsAnswer::Gone { status: 410, merged_into: Some(key("M000999")) });
    let never = run.source.member_details(&key("M000000")).await.unwrap();
    assert_eq!(never.value, DetailsAnswer::Gone { status: 404, merged_into: None }, "a key it never had");
}

pub async fn health_answers(h: &dyn Harness) {
    let (run, _) = start(h, contract()).await;
    run.source.health().await.unwrap();
}
