//! Members, commits and times the tests build on.

use amsync_core::community::{Community, Membership};
use amsync_core::diff::FetchedMember;
use amsync_core::member::{Address, Demographic, MemberDetails, Phone, SocialLink};
use amsync_core::{
    CommunityKey, Failure, FailureKind, GroupKey, MemberKey, PayloadFormat, RawPayload, SecurityGroupRef, Trigger,
};
use amsync_store::*;
use chrono::{DateTime, Utc};

pub fn t(s: &str) -> DateTime<Utc> {
    s.parse().expect("a test time")
}

/// A fixed "now" for tests that do not care.
pub fn t0() -> DateTime<Utc> {
    t("2026-11-29T14:00:00Z")
}

pub fn mins(n: i64) -> chrono::Duration {
    chrono::Duration::minutes(n)
}

pub fn key(k: &str) -> MemberKey {
    MemberKey::parse(k).expect("a test key")
}

pub fn keys(ks: &[&str]) -> Vec<MemberKey> {
    ks.iter().map(|k| key(k)).collect()
}

pub fn membership(c: &str, group_type: &str, begin: &str, end: Option<&str>) -> Membership {
    Membership {
        community: Community {
            key: CommunityKey::parse(c).unwrap(),
            name: Some(format!("{c} community")),
            community_type: Some("Chapter".into()),
            group_type: Some(group_type.into()),
            group_subtype: None,
        },
        begin: begin.parse().unwrap(),
        end: end.map(|e| e.parse().unwrap()),
        role: Some("Member".into()),
    }
}

pub fn group(k: &str) -> SecurityGroupRef {
    SecurityGroupRef { key: GroupKey::parse(k).unwrap(), name: Some(format!("{k} group")) }
}

/// A realistic member: names, phones, address, links, demographics, a
/// chapter and a committee membership, the MEMBER group.
pub fn member(k: &str) -> FetchedMember {
    let mut d = MemberDetails::empty(key(k));
    d.first_name = Some("Ada".into());
    d.last_name = Some(format!("Lovelace-{k}"));
    d.email = Some(format!("{}@example.org", k.to_lowercase()));
    d.phones = vec![
        Phone { kind: Some("Work".into()), number: "+1 202 555 0100".into() },
        Phone { kind: Some("Mobile".into()), number: "+1 202 555 0101".into() },
    ];
    d.address = Some(Address {
        line1: Some("1 Analytical Way".into()),
        city: Some("London".into()),
        country_code: Some("GB".into()),
        ..Default::default()
    });
    d.social = vec![SocialLink { network: "linkedin".into(), url: format!("https://linkedin.example/{k}") }];
    d.demographics =
        vec![Demographic { name: "Industry".into(), value: Some("Computing".into()), search: true, network: true }];
    FetchedMember {
        details: d,
        memberships: vec![
            membership("CH-NYC", "Chapter", "2026-01-01", Some("2026-12-31")),
            membership("CMT-A", "Committee", "2026-01-01", None),
        ],
        groups: vec![group("MEMBER")],
    }
}

fn raw<T: serde::Serialize>(v: &T) -> RawPayload {
    RawPayload { format: PayloadFormat::JSON, body: serde_json::to_vec(v).unwrap() }
}

pub fn fetched(m: FetchedMember) -> RefreshOutcome {
    let hashes = PartHashes::of(&m);
    let raw = RawParts { details: raw(&m.details), communities: raw(&m.memberships), groups: raw(&m.groups) };
    RefreshOutcome::Fetched { member: m, hashes, raw }
}

/// A commit of a fetched member without a claim (a serial refresh).
pub fn commit(m: FetchedMember, at: DateTime<Utc>) -> RefreshCommit {
    RefreshCommit {
        claim: None,
        key: m.details.key.clone(),
        trigger: Trigger::Periodic,
        run_id: None,
        at,
        outcome: fetched(m),
    }
}

/// A commit under a claim.
pub fn claimed(c: &Claim, outcome: RefreshOutcome, at: DateTime<Utc>) -> RefreshCommit {
    RefreshCommit { claim: Some(c.token()), key: c.key.clone(), trigger: c.trigger, run_id: c.run_id, at, outcome }
}

pub fn failure(kind: FailureKind) -> Failure {
    Failure {
        kind,
        part: amsync_core::error::Part::Details,
        message: "the AMS answered 503".into(),
        status: Some(503),
        excerpt: Some("Service Unavailable".into()),
        field: None,
    }
}

pub fn failed(kind: FailureKind, disposition: Disposition) -> RefreshOutcome {
    RefreshOutcome::Failed { failure: failure(kind), disposition }
}

pub const LEASE: std::time::Duration = std::time::Duration::from_secs(120);
