//! amsync as an OpenID Connect relying party (`sso.mode = "oidc"`), on the
//! `openidconnect` crate.
//!
//! - [`OidcRp::discover`] reads the provider's discovery document and keys;
//! - [`OidcRp::start`] makes the authorization request: code flow with
//!   PKCE (S256), a fresh `state` and `nonce` that the caller keeps in a
//!   short-lived cookie;
//! - [`OidcRp::finish`] trades the code (with the PKCE verifier) for tokens
//!   and validates the ID token: signature with the provider's keys, issuer,
//!   audience, expiry, nonce; the member key is read from `key_claim`;
//! - [`OidcRp::verify_mobile_id_token`] validates an ID token a mobile app
//!   obtained itself (RFC 8252): its `aud`/`azp` must be one of
//!   `mobile_client_ids`. The caller records the token's
//!   [`OidcIdentity::token_id`] until it expires, so one ID token is
//!   exchanged once;
//! - [`OidcRp::logout_url`] is the provider's RP-initiated logout, when it
//!   offers one.
//!
//! When the provider rotates its keys, a token signed with a key we do not
//! know makes us fetch the key set again (at most once a minute). The
//! client secret is a [`SecretCell`] read at each code exchange, so a
//! secret replaced while the process runs (`client_secret_file` re-read on
//! SIGHUP) is used from the next sign-in on.

use std::sync::RwLock;
use std::time::{Duration, Instant};

use amsync_core::secret::SecretCell;
use amsync_core::{escaped, MemberKey};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, IssuerUrl, LogoutRequest, Nonce,
    PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadataWithLogout, RedirectUrl, Scope,
    SignatureVerificationError, TokenResponse,
};
use secrecy::ExposeSecret;
use url::Url;

/// How long one call to the provider may take.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);
/// Fewest seconds between two fetches of the key set.
const JWKS_REFETCH_FLOOR: Duration = Duration::from_secs(60);

/// `[sso.oidc]` in plain types, plus where the provider sends members back.
#[derive(Clone)]
pub struct OidcSettings {
    pub issuer: Url,
    pub client_id: String,
    /// `None` for a public client (PKCE alone); its current value is used.
    pub client_secret: Option<SecretCell>,
    pub scopes: Vec<String>,
    /// The ID-token claim that holds the member key (`sub` by default).
    pub key_claim: String,
    /// `aud`/`azp` values accepted in ID tokens that mobile apps trade in.
    pub mobile_client_ids: Vec<String>,
    /// `{public_url}/sso/callback`.
    pub redirect_url: Url,
    /// Where the provider sends a member after RP-initiated logout.
    pub post_logout_redirect_url: Url,
}

impl std::fmt::Debug for OidcSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcSettings")
            .field("issuer", &self.issuer.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "[redacted]"))
            .field("scopes", &self.scopes)
            .field("key_claim", &self.key_claim)
            .field("mobile_client_ids", &self.mobile_client_ids)
            .finish()
    }
}

/// Why an OpenID Connect step failed. Messages hold no token or secret.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("OpenID Connect discovery failed: {0}")]
    Discovery(String),
    #[error("OpenID Connect configuration: {0}")]
    Config(String),
    #[error("the provider did not answer the code exchange: {0}")]
    Exchange(String),
    #[error("the provider refused the authorization code: {0}")]
    CodeRefused(String),
    #[error("the provider's answer carried no ID token")]
    NoIdToken,
    #[error("the ID token is not valid: {0}")]
    InvalidIdToken(String),
    #[error("the ID token has no usable {0:?} claim")]
    MissingKeyClaim(String),
    #[error("the ID token's member key is not a valid key")]
    BadMemberKey,
    #[error("the ID token was not issued to a configured mobile client")]
    NotAMobileClient,
}

impl OidcError {
    /// A short reason for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            OidcError::Discovery(_) => "discovery",
            OidcError::Config(_) => "config",
            OidcError::Exchange(_) => "exchange",
            OidcError::CodeRefused(_) => "code_refused",
            OidcError::NoIdToken => "no_id_token",
            OidcError::InvalidIdToken(_) => "invalid_id_token",
            OidcError::MissingKeyClaim(_) => "missing_key_claim",
            OidcError::BadMemberKey => "bad_member_key",
            OidcError::NotAMobileClient => "not_a_mobile_client",
        }
    }

    /// Whether the provider could not be reached (a "try again" page) rather
    /// than a refusal.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, OidcError::Discovery(_) | OidcError::Exchange(_))
    }
}

/// What the caller keeps (in a short-lived HttpOnly cookie) between
/// [`OidcRp::start`] and [`OidcRp::finish`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PendingLogin {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// The result of a completed sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcIdentity {
    pub member: MemberKey,
    /// The ID token's `sub`, for logs.
    pub subject: String,
    /// The id under which the ID token is recorded as used, so that it is
    /// taken once (see [`single_use_id`]).
    pub token_id: String,
    /// The ID token's `exp`: until when its id must be remembered.
    pub expires_at: DateTime<Utc>,
}

/// The relying party: discovery results and the settings.
pub struct OidcRp {
    settings: OidcSettings,
    metadata: ProviderMetadataWithLogout,
    jwks: RwLock<(CoreJsonWebKeySet, Instant)>,
    http: reqwest::Client,
}

impl std::fmt::Debug for OidcRp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcRp").field("settings", &self.settings).finish_non_exhaustive()
    }
}

/// The HTTP client for the provider: no redirects followed (the
/// `openidconnect` crate's advice against SSRF), bounded time.
fn http_client() -> Result<reqwest::Client, OidcError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(PROVIDER_TIMEOUT)
        .connect_timeout(PROVIDER_TIMEOUT)
        .build()
        .map_err(|e| OidcError::Config(format!("HTTP client: {e}")))
}

/// The payload of a compact JWS, not verified (only read after the
/// signature was checked, or to pick which verifier to use).
fn unverified_payload(jwt: &str) -> Option<serde_json::Value> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

impl OidcRp {
    /// Reads the provider's discovery document and key set.
    pub async fn discover(settings: OidcSettings) -> Result<OidcRp, OidcError> {
        let http = http_client()?;
        let issuer = IssuerUrl::new(settings.issuer.as_str().trim_end_matches('/').to_string())
            .map_err(|e| OidcError::Config(format!("issuer: {e}")))?;
        let metadata = ProviderMetadataWithLogout::discover_async(issuer, &http)
            .await
            .map_err(|e| OidcError::Discovery(error_chain(&e)))?;
        let jwks = metadata.jwks().clone();
        tracing::info!(issuer = %settings.issuer, keys = jwks.keys().len(), "OpenID Connect provider discovered");
        Ok(OidcRp { settings, metadata, jwks: RwLock::new((jwks, Instant::now())), http })
    }

    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    /// The issuer the discovery document names (discovery refuses one that
    /// differs from the configured issuer).
    pub fn issuer(&self) -> &str {
        self.metadata.issuer().as_str()
    }

    /// Where the provider's key set was read.
    pub fn jwks_uri(&self) -> &str {
        self.metadata.jwks_uri().as_str()
    }

    /// How many keys the provider's key set holds now.
    pub fn key_count(&self) -> usize {
        self.jwks.read().map(|j| j.0.keys().len()).unwrap_or_default()
    }

    fn client_secret(&self) -> Option<ClientSecret> {
        self.settings.client_secret.as_ref().map(|s| ClientSecret::new(s.current().expose_secret().to_string()))
    }

    /// The authorization request: the URL to send the browser to, and what
    /// to keep until the callback.
    pub fn start(&self) -> (Url, PendingLogin) {
        let client = CoreClient::from_provider_metadata(
            self.metadata.clone(),
            ClientId::new(self.settings.client_id.clone()),
            self.client_secret(),
        )
        .set_redirect_uri(RedirectUrl::from_url(self.settings.redirect_url.clone()));
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .set_pkce_challenge(challenge);
        for scope in self.settings.scopes.iter().filter(|s| s.as_str() != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        let pending = PendingLogin {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        };
        (url, pending)
    }

    /// Trades the authorization code for tokens and validates the ID token
    /// against the nonce of `pending`. The caller has already checked that
    /// the callback's `state` equals `pending.state`.
    pub async fn finish(&self, code: &str, pending: &PendingLogin) -> Result<OidcIdentity, OidcError> {
        let client = CoreClient::from_provider_metadata(
            self.metadata.clone(),
            ClientId::new(self.settings.client_id.clone()),
            self.client_secret(),
        )
        .set_redirect_uri(RedirectUrl::from_url(self.settings.redirect_url.clone()));
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| OidcError::Config(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                // The provider answered with an OAuth error (a used or forged
                // code): a refusal, not an outage.
                openidconnect::RequestTokenError::ServerResponse(r) => OidcError::CodeRefused(r.error().to_string()),
                other => OidcError::Exchange(error_chain(&other)),
            })?;
        let id_token = response.id_token().ok_or(OidcError::NoIdToken)?;
        let nonce = Nonce::new(pending.nonce.clone());
        self.verified(id_token, &self.settings.client_id, &nonce).await
    }

    /// Validates an ID token a mobile app obtained from the provider. Its
    /// audience (or authorized party) must be one of `mobile_client_ids`;
    /// there is no nonce to check (the app checked its own).
    pub async fn verify_mobile_id_token(&self, raw: &str) -> Result<OidcIdentity, OidcError> {
        if raw.len() > 16 * 1024 {
            return Err(OidcError::InvalidIdToken("too long".into()));
        }
        let token: CoreIdToken = raw.parse().map_err(|_| OidcError::InvalidIdToken("not a JWT".into()))?;
        // Pick the mobile client the token names; the verifier then checks
        // it properly (signature first, then aud and azp).
        let claims = unverified_payload(raw).ok_or_else(|| OidcError::InvalidIdToken("not a JWT".into()))?;
        let named = |id: &String| {
            claims.get("azp").and_then(|v| v.as_str()) == Some(id.as_str())
                || match claims.get("aud") {
                    Some(serde_json::Value::String(a)) => a == id,
                    Some(serde_json::Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(id.as_str())),
                    _ => false,
                }
        };
        let client_id =
            self.settings.mobile_client_ids.iter().find(|id| named(id)).ok_or(OidcError::NotAMobileClient)?;
        self.verified(&token, client_id, |_: Option<&Nonce>| Ok(())).await
    }

    async fn verified<N>(&self, id_token: &CoreIdToken, client_id: &str, nonce: N) -> Result<OidcIdentity, OidcError>
    where
        N: openidconnect::NonceVerifier + Clone,
    {
        let first = self.check(id_token, client_id, nonce.clone());
        let result = match first {
            Err(ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey))
                if self.refetch_keys().await =>
            {
                self.check(id_token, client_id, nonce)
            }
            other => other,
        };
        let (subject, expires_at) = result.map_err(|e| OidcError::InvalidIdToken(e.to_string()))?;
        let raw = id_token.to_string();
        let payload =
            unverified_payload(&raw).ok_or_else(|| OidcError::InvalidIdToken("payload is not JSON".into()))?;
        let member = self.member_key(&payload)?;
        let token_id = single_use_id(&raw, &payload);
        Ok(OidcIdentity { member, subject, token_id, expires_at })
    }

    /// Verifies the token; returns its `sub` and `exp`.
    fn check<N: openidconnect::NonceVerifier>(
        &self,
        id_token: &CoreIdToken,
        client_id: &str,
        nonce: N,
    ) -> Result<(String, DateTime<Utc>), ClaimsVerificationError> {
        let jwks = self.jwks.read().expect("jwks lock").0.clone();
        let issuer = self.metadata.issuer().clone();
        let client_id = ClientId::new(client_id.to_string());
        let verifier = match self.client_secret() {
            Some(secret) => CoreIdTokenVerifier::new_confidential_client(client_id, secret, issuer, jwks),
            None => CoreIdTokenVerifier::new_public_client(client_id, issuer, jwks),
        };
        let algs: Vec<CoreJwsSigningAlgorithm> = self.metadata.id_token_signing_alg_values_supported().clone();
        let verifier = verifier.set_allowed_algs(algs);
        let claims = id_token.claims(&verifier, nonce)?;
        Ok((claims.subject().to_string(), claims.expiration()))
    }

    /// Fetches the key set again, unless it was fetched within the last
    /// minute. Returns whether it did.
    async fn refetch_keys(&self) -> bool {
        if self.jwks.read().expect("jwks lock").1.elapsed() < JWKS_REFETCH_FLOOR {
            return false;
        }
        match CoreJsonWebKeySet::fetch_async(self.metadata.jwks_uri(), &self.http).await {
            Ok(keys) => {
                tracing::info!(keys = keys.keys().len(), "fetched the OpenID Connect provider's keys again");
                *self.jwks.write().expect("jwks lock") = (keys, Instant::now());
                true
            }
            Err(e) => {
                tracing::warn!(error = %escaped(error_chain(&e)), "could not fetch the OpenID Connect provider's keys");
                false
            }
        }
    }

    /// The member key from `key_claim` of the payload of a token whose
    /// signature was checked.
    fn member_key(&self, payload: &serde_json::Value) -> Result<MemberKey, OidcError> {
        let claim = &self.settings.key_claim;
        let value = match payload.get(claim) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            _ => return Err(OidcError::MissingKeyClaim(claim.clone())),
        };
        MemberKey::parse(value).map_err(|_| OidcError::BadMemberKey)
    }

    /// The provider's RP-initiated logout URL, when its discovery document
    /// names an `end_session_endpoint`.
    pub fn logout_url(&self) -> Option<Url> {
        let endpoint = self.metadata.additional_metadata().end_session_endpoint.clone()?;
        let mut request = LogoutRequest::from(endpoint).set_client_id(ClientId::new(self.settings.client_id.clone()));
        request = request.set_post_logout_redirect_uri(PostLogoutRedirectUrl::from_url(
            self.settings.post_logout_redirect_url.clone(),
        ));
        Some(request.http_get_url())
    }
}

/// The id under which a verified ID token is recorded as used: the hash of
/// its `jti` when it has one, else the hash of what its signature covers
/// (header and payload, not the signature: an ECDSA signature can be
/// recomputed as another valid one over the same signed part, so hashing
/// the whole token would let a replay through). Prefixed, so that it never
/// meets a pre-shared-key token's `jti` in the same table; hashed, so that
/// a provider's long `jti` costs the table 64 characters.
pub fn single_use_id(raw: &str, payload: &serde_json::Value) -> String {
    match payload.get("jti").and_then(|v| v.as_str()).filter(|j| !j.is_empty()) {
        Some(jti) => format!("oidc-jti:{}", crate::ids::hash_secret(jti)),
        None => {
            let signed = raw.rsplit_once('.').map_or(raw, |(signed, _signature)| signed);
            format!("oidc-token:{}", crate::ids::hash_secret(signed))
        }
    }
}

/// An error and its sources on one line (the provider's answer is often
/// two levels down).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unverified_payload_is_read_from_the_middle_segment() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"M1","aud":["a","b"]}"#);
        let v = unverified_payload(&format!("xx.{payload}.yy")).unwrap();
        assert_eq!(v["sub"], "M1");
        assert!(unverified_payload("nodots").is_none());
    }

    #[test]
    fn the_single_use_id_is_the_jti_or_the_signed_part() {
        let with_jti = serde_json::json!({"sub": "M1", "jti": "abc"});
        let without = serde_json::json!({"sub": "M1"});
        let a = single_use_id("h.p.sig1", &with_jti);
        assert_eq!(a, single_use_id("h.other.sig2", &with_jti), "the jti names the token");
        assert!(a.starts_with("oidc-jti:") && a.len() == 9 + 64);
        let b = single_use_id("h.p.sig1", &without);
        assert_eq!(b, single_use_id("h.p.another-signature", &without), "a re-made signature is the same token");
        assert_ne!(b, single_use_id("h.q.sig1", &without), "another payload is another token");
        assert!(b.starts_with("oidc-token:"));
    }

    #[test]
    fn debug_hides_the_client_secret() {
        let s = OidcSettings {
            issuer: Url::parse("https://id.example.org").unwrap(),
            client_id: "amsync".into(),
            client_secret: Some(SecretCell::from("very-secret")),
            scopes: vec!["openid".into()],
            key_claim: "sub".into(),
            mobile_client_ids: vec![],
            redirect_url: Url::parse("https://c.example.org/sso/callback").unwrap(),
            post_logout_redirect_url: Url::parse("https://c.example.org/").unwrap(),
        };
        assert!(!format!("{s:?}").contains("very-secret"));
    }
}
