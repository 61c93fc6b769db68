//! Data that breaks the contract, whatever the kind reads it from, is a
//! data error of that call naming the record and the field (a JSON pointer
//! of the contract's shape), and the member's other parts still read.

use amsync_ams::SourceError;
use amsync_core::community::{Community, Membership};
use amsync_core::error::Part;
use amsync_core::group::SecurityGroupRef;
use amsync_core::member::Phone;
use amsync_core::{CommunityKey, FailureKind, GroupKey, MemberKey};

use crate::fixtures::{contract, key, plain};
use crate::harness::{start, Harness};

/// (part, record, field) of a data error.
fn named(e: SourceError) -> (Part, String, String) {
    assert_eq!(e.kind(), FailureKind::Data, "{e:?}");
    match e {
        SourceError::Data { error, .. } => (error.part, error.record, error.field),
        other => panic!("not a data error: {other:?}"),
    }
}

pub async fn a_member_breaking_the_contract_is_a_data_error_naming_record_and_field(h: &dyn Harness) {
    let mut fixture = contract();
    let mut phones = plain("M100001", "2026-11-29T13:00:00Z");
    phones.details.phones =
        (1..=5).map(|i| Phone { kind: Some(format!("T{i}")), number: format!("+1 555 000{i}") }).collect();
    let mut email = plain("M100002", "2026-11-29T13:00:00Z");
    email.details.email = Some(format!("{}@example.org", "a".repeat(300)));
    let mut terms = plain("M100003", "2026-11-29T13:00:00Z");
    terms.memberships = vec![Membership {
        community: Community {
            key: CommunityKey::parse("CH-NYC").unwrap(),
            name: Some("New York Chapter".into()),
            community_type: None,
            group_type: None,
            group_subtype: None,
        },
        begin: "2026-06-01".parse().unwrap(),
        end: Some("2026-01-01".parse().unwrap()),
        role: None,
    }];
    let mut group = plain("M100004", "2026-11-29T13:00:00Z");
    group.groups = vec![SecurityGroupRef { key: GroupKey::parse("STAFF").unwrap(), name: Some("S".repeat(300)) }];
    fixture.members.extend([phones, email, terms, group]);
    let (run, _) = start(h, fixture).await;
    let src = run.source.as_ref();
    let k = |s: &str| -> MemberKey { key(s) };

    let e = src.member_details(&k("M100001")).await.unwrap_err();
    assert!(e.to_string().contains("M100001"), "the message names the member: {e}");
    assert_eq!(named(e), (Part::Details, "M100001".into(), "/phones/4".into()), "a fifth phone is refused");
    let e = src.member_details(&k("M100002")).await.unwrap_err();
    assert_eq!(named(e), (Part::Details, "M100002".into(), "/email".into()));
    let e = src.member_communities(&k("M100003")).await.unwrap_err();
    assert_eq!(named(e), (Part::Communities, "M100003".into(), "/memberships/0/end".into()));
    let e = src.member_groups(&k("M100004")).await.unwrap_err();
    assert_eq!(named(e), (Part::SecurityGroups, "M100004".into(), "/groups/0/name".into()));
    // One bad part spoils only its own call.
    src.member_communities(&k("M100001")).await.unwrap();
    src.member_details(&k("M100003")).await.unwrap();
}
