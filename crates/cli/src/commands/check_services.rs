//! `amsync check`'s probes of the services sign-in relies on, in the same
//! table as the source's methods (see [`super::check_source::report`]):
//!
//! - the credential service of `[auth]`: one AuthenticateCredentials with
//!   a username that cannot exist and a random password. A refusal proves
//!   that the service answers and takes our own credentials; a transport
//!   error, a refusal of our credentials, a 5xx or a body that does not
//!   parse fails the probe, and so does a sign-in (a service that accepts
//!   anything). Nobody is signed in. Over HTTP the contract's 401 means
//!   "wrong username or password", so a service that also answers 401 to
//!   a wrong API key or basic password of ours looks healthy here; when
//!   the service is the source's own, the source's lines show whether the
//!   key is taken.
//! - the OpenID Connect provider (`sso.mode = "oidc"`): discovery as
//!   `amsync serve` does it ([`amsync_sso::OidcRp::discover`]), which reads
//!   `<issuer>/.well-known/openid-configuration`, refuses a document whose
//!   `issuer` differs from the configured one, and reads the key set at
//!   its `jwks_uri`; a key set with no key fails too (no ID token could be
//!   verified).

use std::time::Instant;

use amsync_ams::CredentialService;
use amsync_config::{Config, ProcessEnv};
use amsync_core::escaped;
use amsync_sso::OidcRp;
use rand::Rng;
use secrecy::SecretString;

use super::check_source::report;
use crate::exit::CliResult;
use crate::secrets::SharedSecrets;
use crate::wiring_sso;

/// Asks the credential service to sign in a username that cannot exist.
/// Returns the failures (0 or 1).
pub async fn credentials(service: &dyn CredentialService, kind: &str) -> u32 {
    println!("      credential service {kind}");
    let mut rng = rand::rng();
    let username = format!("amsync-check-no-such-user-{:016x}", rng.random::<u64>());
    let password = SecretString::from(format!("{:032x}", rng.random::<u128>()));
    let t = Instant::now();
    let answer = service.authenticate(&username, &password).await;
    let outcome = match answer {
        Ok(None) => Ok(format!("answers; refused {username} (a username that cannot exist), as it should")),
        Ok(Some(key)) => Err(format!(
            "signed in {username}, a username that cannot exist, as {}: the service accepts anything",
            escaped(key.as_str())
        )),
        Err(e) => Err(escaped(&e).to_string()),
    };
    report("AuthenticateCredentials", t.elapsed(), outcome)
}

/// Discovers the OpenID Connect provider when `sso.mode = "oidc"`.
/// Returns the failures (0 or 1).
pub async fn oidc(cfg: &Config) -> CliResult<u32> {
    let settings = wiring_sso::sign_on_settings(cfg);
    let Some(oidc) = wiring_sso::oidc_settings(cfg, &ProcessEnv, &settings, &mut SharedSecrets::default())? else {
        return Ok(0);
    };
    println!("      OpenID Connect provider {}", oidc.issuer);
    let t = Instant::now();
    let outcome = match OidcRp::discover(oidc).await {
        Ok(rp) if rp.key_count() == 0 => {
            Err(format!("jwks_uri {} holds no key: no ID token could be verified", escaped(rp.jwks_uri())))
        }
        Ok(rp) => Ok(format!(
            "issuer {} matches, jwks_uri {} answers with {} key(s)",
            escaped(rp.issuer()),
            escaped(rp.jwks_uri()),
            rp.key_count()
        )),
        Err(e) => Err(escaped(&e).to_string()),
    };
    Ok(report("OIDC discovery", t.elapsed(), outcome))
}
