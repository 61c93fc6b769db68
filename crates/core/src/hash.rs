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
        // Streamed into the hasher: no buffer per hash. The digest equals
        // xxh3_128 of the JSON bytes. Serializing our plain types cannot fail.
        let mut w = HashWriter(xxhash_rust::xxh3::Xxh3::new());
        serde_json::to_writer(&mut w, value).expect("domain types serialize to JSON");
        ContentHash(w.0.digest128())
    }

    pub fn to_bytes(self) -> [u8; 16] {
        self.0.to_be_bytes()
    }

    pub fn from_bytes(b: &[u8]) -> Option<ContentHash> {
        let arr: [u8; 16] = b.try_into().ok()?;
        Some(ContentHash(u128::from_be_bytes(arr)))
    }
}

/// Feeds serialized bytes straight into the hasher.
struct HashWriter(xxhash_rust::xxh3::Xxh3);

impl std::io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_hash_equal_and_roundtrip() {
        let a = ContentHash::of(&vec!["x", "y"]);
        assert_eq!(a, ContentHash::of(&vec!["x", "y"]));
        assert_ne!(a, ContentHash::of(&vec!["y", "x"]));
        assert_eq!(ContentHash::from_bytes(&a.to_bytes()), Some(a));
        // Streaming gives the one-shot digest of the JSON, so stored hashes stay valid.
        let bytes = serde_json::to_vec(&vec!["x", "y"]).unwrap();
        assert_eq!(a.0, xxhash_rust::xxh3::xxh3_128(&bytes));
    }
}
