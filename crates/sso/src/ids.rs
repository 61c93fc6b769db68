//! Random ids for sessions, mobile tokens, CSRF tokens and SSO state, and
//! the hash under which a bearer secret is stored.
//!
//! Ids are 256 random bits from the operating system's generator (through
//! `rand`'s thread-local CSPRNG), base64url without padding (43 characters).
//! A session id or mobile token is a bearer secret: the store keeps only its
//! SHA-256, so a copy of the database does not sign anyone in.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Characters of an id made by [`random_id`].
pub const ID_LEN: usize = 43;

/// 256 random bits, base64url without padding.
pub fn random_id() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `s` has the shape of an id made by [`random_id`] (checked before
/// any lookup, so junk never reaches the store).
pub fn looks_like_id(s: &str) -> bool {
    s.len() == ID_LEN && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The stored form of a bearer secret: SHA-256, lowercase hex. The secret is
/// 256 random bits, so a fast hash is enough (no dictionary to guess from).
pub fn hash_secret(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from(b"0123456789abcdef"[(b >> 4) as usize]));
        out.push(char::from(b"0123456789abcdef"[(b & 15) as usize]));
    }
    out
}

/// Constant-time equality of two strings (CSRF tokens, SSO state).
pub fn ct_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_long_distinct_and_recognised() {
        let a = random_id();
        let b = random_id();
        assert_eq!(a.len(), ID_LEN);
        assert_ne!(a, b);
        assert!(looks_like_id(&a));
        assert!(!looks_like_id(&a[1..]));
        assert!(!looks_like_id(&format!("{}=", &a[1..])));
    }

    #[test]
    fn the_hash_is_sha256_hex() {
        assert_eq!(hash_secret("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(ct_eq("x", "x"));
        assert!(!ct_eq("x", "y"));
        assert!(!ct_eq("x", "xx"));
    }
}
