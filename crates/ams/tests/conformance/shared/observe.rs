//! Every call of every kind reaches the observer (the quarantine's window)
//! once, classified as the contract classifies it: found and gone members,
//! listings and refused passwords are answers; broken data and refused
//! credentials are failures of their kind.

use amsync_ams::{AmsSource, CredentialService};
use amsync_core::error::Part;
use amsync_core::FailureKind;
use secrecy::SecretString;

use crate::fixtures::{contract, key};
use crate::harness::{start, Harness};

pub async fn every_call_is_observed_with_its_classification(h: &dyn Harness) {
    let mut fixture = contract();
    fixture.members[1].details.email = Some("x".repeat(300));
    let (run, recorder) = start(h, fixture).await;
    let src = run.source.as_ref();
    src.health().await.unwrap();
    src.changed_members(None, None).await.unwrap();
    src.member_details(&key("M000123")).await.unwrap();
    src.member_details(&key("M000404")).await.unwrap();
    src.member_details(&key("M000555")).await.unwrap();
    src.member_details(&key("M000777")).await.unwrap_err();
    src.member_communities(&key("M000123")).await.unwrap();
    src.member_groups(&key("M000123")).await.unwrap();
    src.changed_events(None, None).await.unwrap();
    let mut want = vec![
        (Part::Health, Ok(())),
        (Part::ChangedMembers, Ok(())),
        (Part::Details, Ok(())),
        (Part::Details, Ok(())),
        (Part::Details, Ok(())),
        (Part::Details, Err(FailureKind::Data)),
        (Part::Communities, Ok(())),
        (Part::SecurityGroups, Ok(())),
        (Part::ChangedEvents, Ok(())),
    ];
    if let Some(creds) = &run.credentials {
        creds.authenticate("ada", &SecretString::from("wrong-password")).await.unwrap();
        creds.resolve_token("good-token").await.unwrap();
        want.extend([(Part::Credentials, Ok(())), (Part::ResolveToken, Ok(()))]);
    }
    assert_eq!(recorder.outcomes(), want);

    let mut refusing = contract();
    refusing.refuses_our_credentials = true;
    let (run, recorder) = start(h, refusing).await;
    run.source.member_groups(&key("M000123")).await.unwrap_err();
    assert_eq!(recorder.outcomes(), [(Part::SecurityGroups, Err(FailureKind::Unauthorized))]);
}
