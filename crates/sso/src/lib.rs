//! The sign-on parts of amsync that are not HTTP (product.md job 8):
//!
//! - [`config`]: the parts of `[sso]` sign-on owns ([`SsoMode`], where the
//!   token comes back, the configured keys), which `amsync-config` reads
//!   the file into;
//! - [`psk`]: the pre-shared-key token of session-variable sign-on
//!   (`v1.<kid>.…`, AES-256-GCM): mint and verify with every check;
//! - [`return_url`]: where a member may be sent back to (no open redirect);
//! - [`throttle`]: growing delays after failed sign-ins, per (account,
//!   address) and per address, in bounded memory; an attempt is counted
//!   before its answer is awaited (an [`Attempt`] guard);
//! - [`secret`]: the password type (zeroized, never printed);
//! - [`ids`]: 256-bit random ids for sessions and tokens, and their stored hash;
//! - [`oidc`]: the OpenID Connect relying party.
//!
//! **Architecture invariants:** no secret (password, token, key, session id)
//! is ever logged or put in an error message; comparisons of secrets are
//! constant-time; crypto comes from RustCrypto crates only (TLS: rustls
//! with ring).

pub mod config;
pub mod ids;
pub mod oidc;
pub mod psk;
pub mod return_url;
pub mod secret;
pub mod throttle;

pub use config::{PskKeyConfig, SsoMode, SsoToken, TokenSource};
pub use oidc::{OidcError, OidcIdentity, OidcRp, OidcSettings, PendingLogin};
pub use psk::{Claims, PskKey, PskVerifier, TokenError, VerifiedToken};
pub use return_url::{ReturnUrlError, ReturnUrlPolicy};
pub use secret::Password;
pub use throttle::{Attempt, Throttle, ThrottleSettings};
