//! A secret that can be replaced while the process runs (a `*_file` secret
//! re-read on SIGHUP), shared by everything that uses it.
//!
//! The configuration loads the value and keeps the cell; the parts that
//! send or check the secret (the AMS source's authentication, the OpenID
//! Connect relying party) hold a clone and read the current value on every
//! use, so a replaced value takes effect at the next call without
//! rebuilding anything. The generation tells a user that caches something
//! derived from the secret (an OAuth2 token fetched with it) that the
//! secret changed since.

use std::fmt;
use std::sync::{Arc, RwLock};

use secrecy::{ExposeSecret, SecretString};

/// A shared, replaceable secret. Clones share the value.
#[derive(Clone)]
pub struct SecretCell {
    inner: Arc<RwLock<Slot>>,
}

struct Slot {
    value: Arc<SecretString>,
    /// 0 for the first value, one more for each replacement that changed it.
    generation: u64,
}

impl SecretCell {
    pub fn new(value: SecretString) -> SecretCell {
        SecretCell { inner: Arc::new(RwLock::new(Slot { value: Arc::new(value), generation: 0 })) }
    }

    /// The current value.
    pub fn current(&self) -> Arc<SecretString> {
        Arc::clone(&self.slot().value)
    }

    /// The current value and its generation, read together.
    pub fn snapshot(&self) -> (Arc<SecretString>, u64) {
        let slot = self.slot();
        (Arc::clone(&slot.value), slot.generation)
    }

    /// Replaces the value; `true` (and a new generation) when it differs.
    pub fn replace(&self, value: SecretString) -> bool {
        let mut slot = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if slot.value.expose_secret() == value.expose_secret() {
            return false;
        }
        slot.value = Arc::new(value);
        slot.generation += 1;
        true
    }

    fn slot(&self) -> std::sync::RwLockReadGuard<'_, Slot> {
        // A writer cannot panic while holding the lock (it only swaps an
        // Arc), so a poisoned lock still holds a whole value.
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }
}

impl From<SecretString> for SecretCell {
    fn from(value: SecretString) -> SecretCell {
        SecretCell::new(value)
    }
}

impl From<&str> for SecretCell {
    fn from(value: &str) -> SecretCell {
        SecretCell::new(SecretString::from(value))
    }
}

impl fmt::Debug for SecretCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretCell([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_replacements_and_the_generation_counts_changes() {
        let cell = SecretCell::from("first");
        let user = cell.clone();
        assert_eq!(user.snapshot().1, 0);
        assert!(!cell.replace(SecretString::from("first")), "the same value is no change");
        assert_eq!(user.snapshot().1, 0);
        assert!(cell.replace(SecretString::from("second")));
        let (value, generation) = user.snapshot();
        assert_eq!((value.expose_secret(), generation), ("second", 1));
        assert_eq!(format!("{user:?}"), "SecretCell([redacted])");
    }
}
