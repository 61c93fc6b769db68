//! Content hashes of the parts of a member refresh.
//!
//! A refresh compares the hash of what the AMS said with the stored hash;
//! equal hashes mean nothing is written (no member, child or history row).
//! The hash is over the canonical JSON of the *normalized* value, so JSON and
//! XML sources of the same data hash equal.

use serde::Serialize;

/// 128-bit content hash (xxh3). Not a security measure: it only detects change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ContentHash(pub u128);

impl ContentHash {
    pub fn of<T: Serialize + ?Sized>(value: &T) -> ContentHash {
        // The JSON goes into a buffer kept per thread, then is hashed in one
        // go: serde_json writes token by token, and feeding those pieces to
        // a streaming hasher one by one cost about twice the one-shot hash.
        // Serializing our plain types cannot fail.
        thread_local! {
            static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        BUF.with(|buf| {
            let mut buf = buf.borrow_mut();
            buf.clear();
            serde_json::to_writer(&mut *buf, value).expect("domain types serialize to JSON");
            let hash = ContentHash(xxhash_rust::xxh3::xxh3_128(&buf));
            // A rare huge value does not keep its buffer for the thread's life.
            if buf.capacity() > MAX_KEPT_BUFFER {
                *buf = Vec::new();
            }
            hash
        })
    }

    pub fn to_bytes(self) -> [u8; 16] {
        self.0.to_be_bytes()
    }

    pub fn from_bytes(b: &[u8]) -> Option<ContentHash> {
        let arr: [u8; 16] = b.try_into().ok()?;
        Some(ContentHash(u128::from_be_bytes(arr)))
    }
}

/// Bytes of JSON a thread keeps between hashes.
const MAX_KEPT_BUFFER: usize = 64 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_hash_equal_and_roundtrip() {
        let a = ContentHash::of(&vec!["x", "y"]);
        assert_eq!(a, ContentHash::of(&vec!["x", "y"]));
        assert_ne!(a, ContentHash::of(&vec!["y", "x"]));
        assert_eq!(ContentHash::from_bytes(&a.to_bytes()), Some(a));
        // The digest is xxh3_128 of the JSON bytes, as stored hashes were made.
        let bytes = serde_json::to_vec(&vec!["x", "y"]).unwrap();
        assert_eq!(a.0, xxhash_rust::xxh3::xxh3_128(&bytes));
    }
}
