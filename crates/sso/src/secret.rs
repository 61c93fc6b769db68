//! A password on its way to the credential service.
//!
//! amsync never stores or logs a password. Our own copies live in a
//! [`Password`] (a `secrecy` box, zeroized on drop) and the plain buffers a
//! request body was parsed into are wiped as soon as the secret is taken
//! from them. `Debug` prints nothing of it.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};
use zeroize::Zeroize;

/// A password. Zeroized on drop; never printed.
pub struct Password(SecretString);

impl Password {
    /// Takes the text out of `buf` and wipes `buf` (its whole capacity).
    pub fn take(buf: &mut String) -> Password {
        let secret = SecretString::from(buf.as_str());
        buf.zeroize();
        Password(secret)
    }

    /// For the credential service trait, which takes a `SecretString`.
    pub fn as_secret(&self) -> &SecretString {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.expose_secret().is_empty()
    }

    /// Longer passwords are refused before they reach the AMS.
    pub fn len(&self) -> usize {
        self.0.expose_secret().len()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

impl<'de> Deserialize<'de> for Password {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut plain = String::deserialize(d)?;
        Ok(Password::take(&mut plain))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taking_wipes_the_buffer_and_debug_hides_it() {
        let mut buf = String::from("hunter2");
        let p = Password::take(&mut buf);
        assert!(buf.is_empty());
        assert_eq!(p.as_secret().expose_secret(), "hunter2");
        assert_eq!(format!("{p:?}"), "Password([redacted])");
        assert_eq!(p.len(), 7);
    }

    #[test]
    fn it_deserializes_from_a_json_string() {
        #[derive(Deserialize)]
        struct Form {
            password: Password,
        }
        let f: Form = serde_json::from_str(r#"{"password": "s3cret"}"#).unwrap();
        assert_eq!(f.password.as_secret().expose_secret(), "s3cret");
        assert!(!f.password.is_empty());
    }
}
