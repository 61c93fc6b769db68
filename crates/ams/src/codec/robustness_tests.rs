//! Arbitrary bytes never make a reader panic, in either encoding.

use amsync_core::error::Part;
use amsync_core::{Encoding, MemberKey};
use proptest::prelude::*;

use super::Codec;

fn run_every_reader(codec: &Codec, body: &[u8]) {
    let key = MemberKey::parse("M000123").unwrap();
    let _ = codec.changed_members(body, "first page");
    let _ = codec.member_details(body, &key);
    let _ = codec.gone(body, &key);
    let _ = codec.memberships(body, &key);
    let _ = codec.groups(body, &key);
    let _ = codec.changed_events(body, "first page");
    let _ = codec.key_answer(body, Part::Credentials);
}

/// Bytes that are mostly markup, so the readers get past the first byte.
fn markup() -> impl Strategy<Value = Vec<u8>> {
    let atoms = prop::sample::select(vec![
        "<",
        ">",
        "/",
        "</",
        "/>",
        "=",
        "\"",
        "'",
        "&",
        ";",
        "&amp;",
        "&#x41;",
        "<!DOCTYPE",
        "<![CDATA[",
        "]]>",
        "<?xml",
        "?>",
        "<!--",
        "-->",
        "Member",
        "MemberKey",
        "Phone5",
        "x:",
        "xmlns",
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "null",
        "\"key\"",
        "\"phones\"",
        "\"changed\"",
        "\"events\"",
        "1",
        "M1",
        " ",
        "\n",
        "\u{e9}",
        "\u{0}",
    ]);
    prop::collection::vec(atoms, 0..64).prop_map(|parts| parts.concat().into_bytes())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        for encoding in [Encoding::Json, Encoding::Xml] {
            run_every_reader(&Codec::new(encoding, 4096), &body);
        }
    }

    #[test]
    fn arbitrary_markup_never_panics(body in markup()) {
        for encoding in [Encoding::Json, Encoding::Xml] {
            run_every_reader(&Codec::new(encoding, 4096), &body);
        }
    }
}
