//! Keys are opaque: `/`, spaces, `%`, `?`, `#`, `+` and non-ASCII are
//! percent-encoded as one path segment and reach the AMS unchanged.

use amsync_ams::HttpEncoding;
use amsync_ams::{AmsSource, DetailsAnswer};
use amsync_core::FailureKind;

use crate::http::support::{data_error, key, setup};

async fn keys_are_percent_encoded_and_round_trip(encoding: HttpEncoding) {
    let (ams, src) = setup(encoding).await;
    for (raw, encoded) in [
        ("a/b c", "a%2Fb%20c"),
        ("Müller~Ø", "M%C3%BCller~%C3%98"),
        ("50%?x#y+z&w", "50%25%3Fx%23y%2Bz%26w"),
        ("..x", "..x"),
        ("日本/会員", "%E6%97%A5%E6%9C%AC%2F%E4%BC%9A%E5%93%A1"),
    ] {
        let k = key(raw);
        // The test AMS answers with the key it decoded; validate() checks it is ours.
        let d = src.member_details(&k).await.unwrap();
        let DetailsAnswer::Found(details) = d.value else { panic!("{raw}: {:?}", d.value) };
        assert_eq!(details.key, k);
        assert_eq!(ams.hits().last().unwrap().path, format!("/api/members/{encoded}"));
        src.member_communities(&k).await.unwrap();
        assert_eq!(ams.hits().last().unwrap().path, format!("/api/members/{encoded}/communities"));
        src.member_groups(&k).await.unwrap();
        assert_eq!(ams.hits().last().unwrap().path, format!("/api/members/{encoded}/security-groups"));
    }
}

async fn dot_segments_are_refused_without_a_call(encoding: HttpEncoding) {
    let (ams, src) = setup(encoding).await;
    for raw in [".", ".."] {
        let e = src.member_details(&key(raw)).await.unwrap_err();
        assert_eq!(e.kind(), FailureKind::Data);
        let (field, message, _) = data_error(e);
        assert_eq!(field, "/key");
        assert!(message.contains("path segment"), "{message}");
    }
    assert!(ams.hits().is_empty());
}

crate::both!(keys_are_percent_encoded_and_round_trip, dot_segments_are_refused_without_a_call);
