//! The pre-shared-key token of session-variable sign-on (product.md,
//! "Pre-shared-key token").
//!
//! Format: `v1.<kid>.<base64url without padding(nonce12 ‖ ciphertext ‖ tag)>`,
//! AES-256-GCM with the ASCII prefix `v1.<kid>` as additional data, so a
//! token cannot be moved to another key id. The plaintext is JSON
//! `{"key", "iat", "exp", "jti", "aud"}`.
//!
//! [`PskVerifier::verify`] makes every check but one: whether the `jti` was
//! seen before needs the store (a unique insert, so it holds across nodes),
//! and is the caller's last step.

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use amsync_core::MemberKey;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use chrono::{DateTime, TimeZone, Utc};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The only version of the format.
const VERSION: &str = "v1";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Longest token looked at; anything longer is refused before decoding.
pub const MAX_TOKEN_LEN: usize = 4096;
/// Longest `jti` accepted (it is stored until the token expires).
pub const MAX_JTI_LEN: usize = 128;
/// How far in the future `iat` may be (clock skew between the association's
/// server and ours).
pub const FUTURE_SKEW: Duration = Duration::from_secs(60);

/// Whether `kid` has the allowed form `[A-Za-z0-9_-]{1,32}`.
pub fn is_valid_kid(kid: &str) -> bool {
    (1..=32).contains(&kid.len()) && kid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Why a pre-shared key could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("key id {0:?} is not 1-32 characters of A-Z, a-z, 0-9, _ and -")]
    BadKid(String),
    #[error("key {kid:?} is not standard base64")]
    NotBase64 { kid: String },
    #[error("key {kid:?} is {len} bytes; AES-256 needs 32")]
    WrongLength { kid: String, len: usize },
}

/// One pre-shared key and its id. The key bytes are zeroized on drop and
/// never printed.
#[derive(Clone)]
pub struct PskKey {
    kid: String,
    key: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for PskKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PskKey").field("kid", &self.kid).field("key", &"[redacted]").finish()
    }
}

impl PskKey {
    pub fn new(kid: &str, key: [u8; 32]) -> Result<PskKey, KeyError> {
        if !is_valid_kid(kid) {
            return Err(KeyError::BadKid(kid.to_string()));
        }
        Ok(PskKey { kid: kid.to_string(), key: Zeroizing::new(key) })
    }

    /// A key given as 32 bytes in standard base64 (surrounding whitespace,
    /// such as a file's final newline, is ignored).
    pub fn from_base64(kid: &str, encoded: &SecretString) -> Result<PskKey, KeyError> {
        let bytes = Zeroizing::new(
            STANDARD
                .decode(encoded.expose_secret().trim())
                .map_err(|_| KeyError::NotBase64 { kid: kid.to_string() })?,
        );
        let key: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::WrongLength { kid: kid.to_string(), len: bytes.len() })?;
        PskKey::new(kid, key)
    }

    /// A new random key (for tests, the demo and `amsync init`).
    pub fn generate(kid: &str) -> Result<PskKey, KeyError> {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        PskKey::new(kid, key)
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key in standard base64, as the association's login page holds it.
    pub fn to_base64(&self) -> SecretString {
        SecretString::from(STANDARD.encode(self.key.as_slice()))
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new_from_slice(self.key.as_slice()).expect("a 32-byte key fits AES-256")
    }
}

/// The plaintext of a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The member key.
    pub key: String,
    /// Issued at, seconds since the Unix epoch.
    pub iat: i64,
    /// Expires at, seconds since the Unix epoch.
    pub exp: i64,
    /// A random id; each token is accepted once.
    pub jti: String,
    /// amsync's `web.public_url`.
    pub aud: String,
}

impl Claims {
    /// Claims for `member`, issued `now`, valid for `ttl`, with a random `jti`.
    pub fn new(member: &str, audience: &str, now: DateTime<Utc>, ttl: Duration) -> Claims {
        let iat = now.timestamp();
        Claims {
            key: member.to_string(),
            iat,
            exp: iat + ttl.as_secs() as i64,
            jti: crate::ids::random_id(),
            aud: audience.to_string(),
        }
    }
}

/// Encrypts `claims` with `key`: `v1.<kid>.<base64url(nonce ‖ ciphertext ‖ tag)>`.
pub fn mint(key: &PskKey, claims: &Claims) -> String {
    let prefix = format!("{VERSION}.{}", key.kid);
    let plaintext = Zeroizing::new(serde_json::to_vec(claims).expect("claims serialize"));
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    let sealed = key
        .cipher()
        .encrypt(&Nonce::from(nonce), Payload { msg: &plaintext, aad: prefix.as_bytes() })
        .expect("AES-GCM encryption of a small message cannot fail");
    let mut body = Vec::with_capacity(NONCE_LEN + sealed.len());
    body.extend_from_slice(&nonce);
    body.extend_from_slice(&sealed);
    format!("{prefix}.{}", URL_SAFE_NO_PAD.encode(body))
}

/// Why a token was refused. The messages name the check, never the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not in the v1.<kid>.<data> format")]
    Malformed,
    #[error("the token's key id is not of the allowed form")]
    BadKid,
    #[error("the token names a key id that is not configured")]
    UnknownKid,
    #[error("the token does not decrypt with its key (wrong key, or altered)")]
    Undecryptable,
    #[error("the token's claims are not the expected JSON")]
    BadClaims,
    #[error("the token's member key is not a valid key")]
    BadMemberKey,
    #[error("the token's jti is empty or too long")]
    BadJti,
    #[error("the token was made for another audience")]
    WrongAudience,
    #[error("the token is issued in the future")]
    IssuedInFuture,
    #[error("the token is older than max_age")]
    TooOld,
    #[error("the token's lifetime is longer than max_age")]
    TooLongLived,
    #[error("the token has expired")]
    Expired,
    #[error("the token was already used")]
    Replayed,
}

impl TokenError {
    /// A short machine-readable reason for logs and metrics.
    pub fn code(self) -> &'static str {
        match self {
            TokenError::Malformed => "malformed",
            TokenError::BadKid => "bad_kid",
            TokenError::UnknownKid => "unknown_kid",
            TokenError::Undecryptable => "undecryptable",
            TokenError::BadClaims => "bad_claims",
            TokenError::BadMemberKey => "bad_member_key",
            TokenError::BadJti => "bad_jti",
            TokenError::WrongAudience => "wrong_audience",
            TokenError::IssuedInFuture => "issued_in_future",
            TokenError::TooOld => "too_old",
            TokenError::TooLongLived => "too_long_lived",
            TokenError::Expired => "expired",
            TokenError::Replayed => "replayed",
        }
    }
}

/// A token that passed every check but the single-use one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    pub member: MemberKey,
    pub jti: String,
    pub kid: String,
    /// Until when the `jti` must be remembered.
    pub expires_at: DateTime<Utc>,
}

/// Checks tokens against the configured keys, audience and `max_age`.
///
/// The keys can be replaced while amsync runs ([`PskVerifier::replace_keys`],
/// on SIGHUP); clones share them. A token is checked against the set of
/// keys current when its check starts.
#[derive(Debug, Clone)]
pub struct PskVerifier {
    keys: Arc<RwLock<Arc<Vec<PskKey>>>>,
    audience: String,
    max_age: Duration,
}

/// `aud` is compared after removing one trailing `/` (product.md, "Precise rules").
fn trim_one_slash(s: &str) -> &str {
    s.strip_suffix('/').unwrap_or(s)
}

impl PskVerifier {
    /// `audience` is `web.public_url`.
    pub fn new(keys: Vec<PskKey>, audience: &str, max_age: Duration) -> PskVerifier {
        PskVerifier {
            keys: Arc::new(RwLock::new(Arc::new(keys))),
            audience: trim_one_slash(audience).to_string(),
            max_age,
        }
    }

    /// The keys in use now.
    fn keys(&self) -> Arc<Vec<PskKey>> {
        Arc::clone(&self.keys.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Uses `keys` from now on (for every clone of this verifier): a
    /// rotated key file takes effect without a restart.
    pub fn replace_keys(&self, keys: Vec<PskKey>) {
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(keys);
    }

    /// The ids of the keys in use, in order.
    pub fn kids(&self) -> Vec<String> {
        self.keys().iter().map(|k| k.kid.clone()).collect()
    }

    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The key with id `kid`.
    pub fn key(&self, kid: &str) -> Option<PskKey> {
        self.keys().iter().find(|k| k.kid == kid).cloned()
    }

    /// The first configured key (the one `mint-token` uses by default).
    pub fn first_key(&self) -> Option<PskKey> {
        self.keys().first().cloned()
    }

    /// Decrypts and checks a token: format, key id, authenticity, `aud`,
    /// `iat <= now + 60 s`, `now - iat <= max_age`, `exp - iat <= max_age`,
    /// `now < exp`. The caller then records the `jti` (single use).
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<VerifiedToken, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let mut parts = token.splitn(3, '.');
        let (Some(version), Some(kid), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(TokenError::Malformed);
        };
        if version != VERSION {
            return Err(TokenError::Malformed);
        }
        if !is_valid_kid(kid) {
            return Err(TokenError::BadKid);
        }
        let keys = self.keys();
        let key = keys.iter().find(|k| k.kid == kid).ok_or(TokenError::UnknownKid)?;
        let body = URL_SAFE_NO_PAD.decode(data).map_err(|_| TokenError::Malformed)?;
        if body.len() < NONCE_LEN + TAG_LEN {
            return Err(TokenError::Malformed);
        }
        let (nonce, sealed) = body.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| TokenError::Malformed)?;
        let prefix = &token[..VERSION.len() + 1 + kid.len()];
        let plaintext = Zeroizing::new(
            key.cipher()
                .decrypt(&Nonce::from(nonce), Payload { msg: sealed, aad: prefix.as_bytes() })
                .map_err(|_| TokenError::Undecryptable)?,
        );
        let claims: Claims = serde_json::from_slice(&plaintext).map_err(|_| TokenError::BadClaims)?;
        self.check_claims(claims, kid, now)
    }

    fn check_claims(&self, c: Claims, kid: &str, now: DateTime<Utc>) -> Result<VerifiedToken, TokenError> {
        let audience_ok: bool =
            subtle::ConstantTimeEq::ct_eq(trim_one_slash(&c.aud).as_bytes(), self.audience.as_bytes()).into();
        if !audience_ok {
            return Err(TokenError::WrongAudience);
        }
        let now_s = now.timestamp();
        let max_age = self.max_age.as_secs() as i64;
        if c.iat > now_s + FUTURE_SKEW.as_secs() as i64 {
            return Err(TokenError::IssuedInFuture);
        }
        if now_s.saturating_sub(c.iat) > max_age {
            return Err(TokenError::TooOld);
        }
        if c.exp.saturating_sub(c.iat) > max_age {
            return Err(TokenError::TooLongLived);
        }
        if now_s >= c.exp {
            return Err(TokenError::Expired);
        }
        if c.jti.is_empty() || c.jti.len() > MAX_JTI_LEN {
            return Err(TokenError::BadJti);
        }
        let member = MemberKey::parse(c.key).map_err(|_| TokenError::BadMemberKey)?;
        let expires_at = Utc.timestamp_opt(c.exp, 0).single().ok_or(TokenError::BadClaims)?;
        Ok(VerifiedToken { member, jti: c.jti, kid: kid.to_string(), expires_at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUD: &str = "https://community.example.org";

    fn key(kid: &str, byte: u8) -> PskKey {
        PskKey::new(kid, [byte; 32]).unwrap()
    }

    fn now() -> DateTime<Utc> {
        Utc.timestamp_opt(1_764_426_000, 0).unwrap()
    }

    fn verifier() -> PskVerifier {
        PskVerifier::new(vec![key("k1", 1), key("k2", 2)], AUD, Duration::from_secs(300))
    }

    fn claims() -> Claims {
        Claims {
            key: "M000123".into(),
            iat: now().timestamp(),
            exp: now().timestamp() + 300,
            jti: "j1".into(),
            aud: AUD.into(),
        }
    }

    #[test]
    fn a_minted_token_verifies_with_either_rotation_key() {
        for k in [key("k1", 1), key("k2", 2)] {
            let t = mint(&k, &claims());
            assert!(t.starts_with(&format!("v1.{}.", k.kid())));
            let v = verifier().verify(&t, now()).unwrap();
            assert_eq!(v.member.as_str(), "M000123");
            assert_eq!(v.jti, "j1");
            assert_eq!(v.expires_at.timestamp(), now().timestamp() + 300);
        }
    }

    #[test]
    fn the_audience_may_differ_by_one_trailing_slash() {
        let mut c = claims();
        c.aud = format!("{AUD}/");
        assert!(verifier().verify(&mint(&key("k1", 1), &c), now()).is_ok());
        c.aud = format!("{AUD}//");
        assert_eq!(verifier().verify(&mint(&key("k1", 1), &c), now()), Err(TokenError::WrongAudience));
        let v = PskVerifier::new(vec![key("k1", 1)], &format!("{AUD}/"), Duration::from_secs(300));
        assert!(v.verify(&mint(&key("k1", 1), &claims()), now()).is_ok());
    }

    #[test]
    fn the_time_checks_follow_product_md() {
        let k = key("k1", 1);
        let at = |iat: i64, exp: i64| Claims { iat, exp, ..claims() };
        let n = now().timestamp();
        let cases = [
            (at(n + 60, n + 120), Ok(())),
            (at(n + 61, n + 120), Err(TokenError::IssuedInFuture)),
            (at(n - 300, n + 1), Err(TokenError::TooLongLived)),
            (at(n - 299, n + 1), Ok(())),
            (at(n - 301, n - 1), Err(TokenError::TooOld)),
            (at(n - 10, n + 291), Err(TokenError::TooLongLived)),
            (at(n - 10, n), Err(TokenError::Expired)),
            (at(n - 10, n + 1), Ok(())),
        ];
        for (c, want) in cases {
            let got = verifier().verify(&mint(&k, &c), now()).map(|_| ());
            assert_eq!(got, want, "iat {} exp {}", c.iat - n, c.exp - n);
        }
    }

    #[test]
    fn tampering_the_kid_the_body_or_the_key_is_refused() {
        let t = mint(&key("k1", 1), &claims());
        // Same ciphertext under the other configured key id: the AAD differs.
        let moved = t.replacen("v1.k1.", "v1.k2.", 1);
        assert_eq!(verifier().verify(&moved, now()), Err(TokenError::Undecryptable));
        // One flipped character of the body.
        let mut bytes = t.clone().into_bytes();
        let i = bytes.len() - 5;
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        assert_eq!(verifier().verify(&String::from_utf8(bytes).unwrap(), now()), Err(TokenError::Undecryptable));
        // A key of the right id but the wrong bytes.
        let wrong = mint(&key("k1", 9), &claims());
        assert_eq!(verifier().verify(&wrong, now()), Err(TokenError::Undecryptable));
        assert_eq!(verifier().verify(&mint(&key("k3", 1), &claims()), now()), Err(TokenError::UnknownKid));
        assert_eq!(verifier().verify("v1.k$1.AAAA", now()), Err(TokenError::BadKid));
        assert_eq!(verifier().verify("v2.k1.AAAA", now()), Err(TokenError::Malformed));
        assert_eq!(verifier().verify("v1.k1", now()), Err(TokenError::Malformed));
        assert_eq!(verifier().verify("v1.k1.!!", now()), Err(TokenError::Malformed));
        assert_eq!(verifier().verify(&"v1.k1.".repeat(1000), now()), Err(TokenError::Malformed));
    }

    #[test]
    fn claims_must_carry_a_valid_key_and_jti() {
        let k = key("k1", 1);
        let bad_key = Claims { key: String::new(), ..claims() };
        assert_eq!(verifier().verify(&mint(&k, &bad_key), now()), Err(TokenError::BadMemberKey));
        let bad_jti = Claims { jti: "x".repeat(MAX_JTI_LEN + 1), ..claims() };
        assert_eq!(verifier().verify(&mint(&k, &bad_jti), now()), Err(TokenError::BadJti));
        let wrong_aud = Claims { aud: "https://evil.example".into(), ..claims() };
        assert_eq!(verifier().verify(&mint(&k, &wrong_aud), now()), Err(TokenError::WrongAudience));
    }

    #[test]
    fn keys_load_from_standard_base64_and_refuse_other_lengths() {
        let k = PskKey::generate("k1").unwrap();
        let again = PskKey::from_base64("k1", &k.to_base64()).unwrap();
        assert_eq!(*again.key, *k.key);
        let short = SecretString::from(STANDARD.encode([0u8; 16]));
        assert!(matches!(PskKey::from_base64("k1", &short), Err(KeyError::WrongLength { len: 16, .. })));
        assert!(matches!(PskKey::from_base64("k1", &SecretString::from("***")), Err(KeyError::NotBase64 { .. })));
        assert!(matches!(PskKey::new("", [0; 32]), Err(KeyError::BadKid(_))));
        assert!(!format!("{k:?}").contains(&STANDARD.encode(k.key.as_slice())));
    }

    #[test]
    fn replaced_keys_take_effect_for_every_clone() {
        let v = verifier();
        let clone = v.clone();
        let old = mint(&key("k1", 1), &claims());
        let new = mint(&key("k3", 3), &claims());
        assert_eq!(clone.verify(&new, now()), Err(TokenError::UnknownKid));
        v.replace_keys(vec![key("k3", 3)]);
        assert_eq!(v.kids(), ["k3"]);
        assert!(clone.verify(&new, now()).is_ok());
        assert_eq!(clone.verify(&old, now()), Err(TokenError::UnknownKid), "a removed key is refused");
    }

    #[test]
    fn kid_form() {
        assert!(is_valid_kid("k1"));
        assert!(is_valid_kid("A-z_0"));
        assert!(is_valid_kid(&"a".repeat(32)));
        assert!(!is_valid_kid(&"a".repeat(33)));
        assert!(!is_valid_kid(""));
        assert!(!is_valid_kid("k.1"));
        assert!(!is_valid_kid("kü"));
    }
}
