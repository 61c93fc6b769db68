//! Identifiers of the contract, parsed once at the edge.
//!
//! A key is 1-64 Unicode scalar values without control characters. amsync
//! never interprets a key; it only compares, stores and percent-encodes it.

use std::fmt;

/// Longest key the contract allows, in Unicode scalar values.
pub const MAX_KEY_CHARS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("key is empty")]
    Empty,
    #[error("key has {0} characters, at most {MAX_KEY_CHARS} are allowed")]
    TooLong(usize),
    #[error("key contains the control character U+{0:04X}")]
    ControlCharacter(u32),
}

/// Checks the contract's rules for keys.
pub fn validate_key(s: &str) -> Result<(), KeyError> {
    if s.is_empty() {
        return Err(KeyError::Empty);
    }
    let mut n = 0usize;
    for c in s.chars() {
        n += 1;
        if c.is_control() {
            return Err(KeyError::ControlCharacter(c as u32));
        }
    }
    if n > MAX_KEY_CHARS {
        return Err(KeyError::TooLong(n));
    }
    Ok(())
}

macro_rules! key_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses a key, refusing what the contract does not allow.
            pub fn parse(s: impl Into<String>) -> Result<Self, KeyError> {
                let s = s.into();
                validate_key(&s)?;
                Ok(Self(s))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_string(self) -> String {
                self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = KeyError;
            fn try_from(s: String) -> Result<Self, KeyError> {
                Self::parse(s)
            }
        }
        impl TryFrom<&str> for $name {
            type Error = KeyError;
            fn try_from(s: &str) -> Result<Self, KeyError> {
                Self::parse(s)
            }
        }
        impl From<$name> for String {
            fn from(k: $name) -> String {
                k.0
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:?}", self.0)
            }
        }
    };
}

key_type!(
    /// A member's key in the AMS (e.g. `M000123`).
    MemberKey
);
key_type!(
    /// A community's key (e.g. `CH-NYC`).
    CommunityKey
);
key_type!(
    /// A security group's key (e.g. `MEMBER`, `SuperAdmin`).
    GroupKey
);
key_type!(
    /// An event's key (e.g. `EV-2027-ANNUAL`).
    EventKey
);

impl GroupKey {
    /// Group keys are compared case-insensitively when deciding whether an
    /// AMS group collides with a built-in or local one.
    pub fn folded(&self) -> String {
        self.0.to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_contract_keys() {
        assert!(MemberKey::parse("M000123").is_ok());
        assert!(MemberKey::parse("ä/b c~d").is_ok());
        assert!(MemberKey::parse("x".repeat(64)).is_ok());
        assert!(MemberKey::parse("é".repeat(64)).is_ok(), "64 scalar values, not bytes");
    }

    #[test]
    fn refuses_bad_keys() {
        assert_eq!(MemberKey::parse(""), Err(KeyError::Empty));
        assert_eq!(MemberKey::parse("x".repeat(65)), Err(KeyError::TooLong(65)));
        assert_eq!(MemberKey::parse("a\nb"), Err(KeyError::ControlCharacter(10)));
        assert_eq!(MemberKey::parse("a\u{7f}"), Err(KeyError::ControlCharacter(0x7f)));
    }

    #[test]
    fn serde_refuses_bad_keys() {
        let r: Result<MemberKey, _> = serde_json::from_str("\"\"");
        assert!(r.is_err());
        let k: MemberKey = serde_json::from_str("\"M1\"").unwrap();
        assert_eq!(k.as_str(), "M1");
    }
}
