//! The sign-on service as the handlers see it: settings, the token
//! verifier, the credential service, the OpenID Connect relying party, the
//! throttle and the return-URL policy.

use std::sync::Arc;

use amsync_ams::CredentialService;
use amsync_sso::{OidcRp, PskVerifier, ReturnUrlPolicy, Throttle, ThrottleSettings};

use super::settings::{SignOnSettings, SsoMode};

/// How session-variable tokens become member keys (`sso.resolve`).
pub enum TokenResolver {
    /// Pre-shared-key decryption.
    Psk(PskVerifier),
    /// The credential service's ResolveToken.
    WebService,
}

/// Why the sign-on service could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum SignOnError {
    #[error("sso.mode = \"{0}\" needs {1}")]
    Missing(&'static str, &'static str),
}

/// Shared by every sign-on handler (behind `AppState::sign_on`).
pub struct SignOn {
    pub settings: SignOnSettings,
    /// `session-variable` only.
    pub resolver: Option<TokenResolver>,
    /// `[auth]`: credential checks (and ResolveToken), when configured.
    pub credentials: Option<Arc<dyn CredentialService>>,
    /// `oidc` only.
    pub oidc: Option<Arc<OidcRp>>,
    pub throttle: Throttle,
    pub return_urls: ReturnUrlPolicy,
}

impl std::fmt::Debug for SignOn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignOn")
            .field("mode", &self.settings.mode)
            .field("credentials", &self.credentials.is_some())
            .field("oidc", &self.oidc.is_some())
            .finish_non_exhaustive()
    }
}

impl SignOn {
    /// Assembles the service, checking that the mode has what it needs.
    pub fn new(
        settings: SignOnSettings,
        resolver: Option<TokenResolver>,
        credentials: Option<Arc<dyn CredentialService>>,
        oidc: Option<Arc<OidcRp>>,
        throttle: ThrottleSettings,
    ) -> Result<SignOn, SignOnError> {
        let mode = settings.mode.as_str();
        match settings.mode {
            SsoMode::Credentials if credentials.is_none() => {
                return Err(SignOnError::Missing(mode, "a credential service ([auth])"))
            }
            SsoMode::SessionVariable => {
                if settings.login_url.is_none() {
                    return Err(SignOnError::Missing(mode, "sso.login_url"));
                }
                match &resolver {
                    None => return Err(SignOnError::Missing(mode, "sso.resolve")),
                    Some(TokenResolver::WebService) if credentials.is_none() => {
                        return Err(SignOnError::Missing(
                            mode,
                            "a credential service ([auth]) for resolve = web-service",
                        ))
                    }
                    _ => {}
                }
            }
            SsoMode::Oidc if oidc.is_none() => return Err(SignOnError::Missing(mode, "[sso.oidc]")),
            _ => {}
        }
        let return_urls = ReturnUrlPolicy::new(settings.public_url.clone(), &settings.allowed_return_hosts);
        Ok(SignOn { settings, resolver, credentials, oidc, throttle: Throttle::new(throttle), return_urls })
    }

    /// Sign-on that can sign nobody in (credentials mode with no credential
    /// service): for tools and tests that serve only the API and the
    /// dashboard. `GET /me` still answers (Public).
    pub fn unconfigured(public_url: url::Url) -> SignOn {
        let settings = SignOnSettings::new(SsoMode::Credentials, public_url);
        let return_urls = ReturnUrlPolicy::new(settings.public_url.clone(), &[]);
        SignOn {
            settings,
            resolver: None,
            credentials: None,
            oidc: None,
            throttle: Throttle::new(ThrottleSettings::default()),
            return_urls,
        }
    }

    /// The final URL after sign-in: the requested one when it passes the
    /// policy, else `/` (a refused one is logged, never followed).
    pub fn return_url_or_root(&self, raw: Option<&str>) -> String {
        match raw.filter(|r| !r.is_empty()) {
            None => "/".to_string(),
            Some(r) => self.return_urls.check(r).unwrap_or_else(|e| {
                tracing::warn!(reason = e.code(), "return URL refused; sending to /");
                "/".to_string()
            }),
        }
    }
}
