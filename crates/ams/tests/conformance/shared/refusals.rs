//! An AMS that refuses amsync's own credentials: every data method and the
//! health check fail as unauthorized (a configuration error that pauses
//! the source), never as gone or as data.

use amsync_core::FailureKind;

use crate::fixtures::{contract, key};
use crate::harness::{start, Harness};

pub async fn a_refusal_of_our_credentials_is_unauthorized(h: &dyn Harness) {
    let mut fixture = contract();
    fixture.refuses_our_credentials = true;
    let (run, _) = start(h, fixture).await;
    let src = run.source.as_ref();
    let k = key("M000123");
    let kinds = [
        src.health().await.unwrap_err().kind(),
        src.changed_members(None, None).await.unwrap_err().kind(),
        src.member_details(&k).await.unwrap_err().kind(),
        src.member_details(&key("M000404")).await.unwrap_err().kind(),
        src.member_communities(&k).await.unwrap_err().kind(),
        src.member_groups(&k).await.unwrap_err().kind(),
        src.changed_events(None, None).await.unwrap_err().kind(),
    ];
    assert_eq!(kinds, [FailureKind::Unauthorized; 7]);
}
