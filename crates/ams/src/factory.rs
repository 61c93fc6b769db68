//! The source factory: from `[ams]` and `[auth]` to the
//! `Arc<dyn AmsSource>` the engine holds and the optional
//! `Arc<dyn CredentialService>` sign-in uses.
//!
//! It is the one place that knows the kinds: each `ams.kind` this version
//! runs has an arm here, the others are refused naming the key. Every
//! source and credential service it builds is wrapped in [`Observed`], so
//! every call of every kind feeds the metrics and the [`CallObserver`]
//! alike. Secrets are resolved through a [`SecretCells`], which keeps them
//! reloadable (`amsync serve`) or resolves them once (one-shot commands).

use std::sync::Arc;

use amsync_config_kit::SecretCells;

use crate::codec::HttpEncoding;
use crate::config::{AmsConfig, CredentialConfig, CredentialKind, SourceKind};
use crate::http::auth::Auth;
use crate::http::HttpSettings;
use crate::http_source::HttpSource;
use crate::observe::{CallObserver, Observed};
use crate::soap::SoapSource;
use crate::source::{AmsSource, CredentialService};

/// The `User-Agent` of every call to the AMS.
pub const USER_AGENT: &str = concat!("amsync/", env!("CARGO_PKG_VERSION"));

/// Largest answer of a credential service that is a service of its own
/// (a member key in a small document).
const CREDENTIAL_MAX_BODY: u64 = 64 * 1024;

/// What the factory built.
#[derive(Clone)]
pub struct Sources {
    /// The source of `[ams]`, every call observed.
    pub source: Arc<dyn AmsSource>,
    /// The credential service of `[auth]`, when one is configured; when it
    /// is the source's own service, it shares the source's client, limits
    /// and token, and reports its calls to the same observer.
    pub credentials: Option<Arc<dyn CredentialService>>,
}

/// A configuration that cannot be built; reported at start (exit code 2).
/// Every message names the key or the section it is about, never a
/// secret's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// A kind this version does not run (the whole sentence, naming the key).
    #[error("{0}")]
    NotAvailable(String),
    /// A key the kind needs is not set (validation reports it first).
    #[error("{0}: required")]
    Required(&'static str),
    /// An authentication configured at this key names no secret.
    #[error("{0}: no secret is configured")]
    NoSecret(String),
    /// A secret that could not be read, as `key: why`.
    #[error("{0}")]
    Secret(String),
    /// The HTTP client of `section` (`ams`, `auth`) cannot be built so.
    #[error("{section}: {problem}")]
    Http { section: &'static str, problem: HttpProblem },
}

impl BuildError {
    /// The refusal of an `ams.kind` this version does not run.
    pub fn not_available(kind: SourceKind) -> BuildError {
        BuildError::NotAvailable(format!(
            "ams.kind = \"{}\" is not available in this version; use \"http-json\", \"http-xml\" or \"soap\"",
            kind.as_str()
        ))
    }
}

/// Why an HTTP client cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpProblem {
    #[error("ams.base_url {0:?} must be an http or https URL")]
    BaseUrl(String),
    #[error("the OAuth2 token_url {0:?} must be an http or https URL")]
    TokenUrl(String),
    #[error("{0} must be greater than zero")]
    Zero(&'static str),
    #[error("the basic authentication username must not contain a colon")]
    BasicUsername,
    #[error("the api_key header name {0:?} is not a valid HTTP header name")]
    HeaderName(String),
    #[error("the secret of the {0} authentication is not a valid HTTP header value")]
    SecretNotHeaderSafe(&'static str),
    #[error("the HTTP client could not be built: {0}")]
    Client(String),
}

/// The kinds' sources before observation: one variant per kind that can be
/// built, so the credential service can share what its kind shares.
enum KindSource {
    Http(HttpSource),
    Soap(SoapSource),
}

impl KindSource {
    fn observed(&self, observer: Option<Arc<dyn CallObserver>>) -> Arc<dyn AmsSource> {
        match self {
            KindSource::Http(s) => Arc::new(Observed::new(s.clone(), observer)),
            KindSource::Soap(s) => Arc::new(Observed::new(s.clone(), observer)),
        }
    }
}

fn kind_source(ams: &AmsConfig, secrets: &mut dyn SecretCells) -> Result<KindSource, BuildError> {
    match ams.kind {
        SourceKind::HttpJson | SourceKind::HttpXml => HttpSource::new(ams, secrets).map(KindSource::Http),
        SourceKind::Soap => SoapSource::new(ams, secrets).map(KindSource::Soap),
        SourceKind::Sql | SourceKind::Scim | SourceKind::Push => Err(BuildError::not_available(ams.kind)),
    }
}

/// The source of `[ams]`, reporting every call to `observer` (and the
/// metrics). For a caller that needs no credential service (`amsync
/// status` probing the AMS).
pub fn build_source(
    ams: &AmsConfig,
    secrets: &mut dyn SecretCells,
    observer: Option<Arc<dyn CallObserver>>,
) -> Result<Arc<dyn AmsSource>, BuildError> {
    Ok(kind_source(ams, secrets)?.observed(observer))
}

/// The source of `[ams]` and the credential service of `[auth]`, each call
/// of both reported to `observer` when the credential service is the
/// source's own (its failures are the AMS's), to the metrics only when it
/// is another service.
pub fn build(
    ams: &AmsConfig,
    auth: &CredentialConfig,
    secrets: &mut dyn SecretCells,
    observer: Option<Arc<dyn CallObserver>>,
) -> Result<Sources, BuildError> {
    let built = kind_source(ams, secrets)?;
    let source = built.observed(observer.clone());
    let credentials = credentials(ams, auth, &built, secrets, observer)?;
    Ok(Sources { source, credentials })
}

fn credentials(
    ams: &AmsConfig,
    auth: &CredentialConfig,
    source: &KindSource,
    secrets: &mut dyn SecretCells,
    observer: Option<Arc<dyn CallObserver>>,
) -> Result<Option<Arc<dyn CredentialService>>, BuildError> {
    let service = auth.effective(ams);
    let settings = |base_url| HttpSettings {
        base_url,
        timeout: ams.timeout,
        max_concurrency: ams.max_concurrency as usize,
        // Sign-ins are not the AMS's load to budget.
        max_rate: 0,
        max_body: CREDENTIAL_MAX_BODY,
        http_version: ams.http_version,
    };
    let encoding = match service.kind {
        CredentialKind::None => return Ok(None),
        CredentialKind::HttpJson => HttpEncoding::Json,
        CredentialKind::HttpXml => HttpEncoding::Xml,
        CredentialKind::Soap => {
            // The source's own service shares its client, limits and key.
            if let KindSource::Soap(own) = source {
                return Ok(Some(Arc::new(Observed::new(own.clone(), observer))));
            }
            let soap = ams.soap.as_ref().ok_or(BuildError::Required("ams.soap"))?;
            let other =
                SoapSource::credential_service(&settings(soap.endpoint.clone()), soap, auth.auth.as_ref(), secrets)?;
            return Ok(Some(Arc::new(Observed::new(other, None))));
        }
    };
    if service.is_the_source() {
        if let KindSource::Http(own) = source {
            return Ok(Some(Arc::new(Observed::new(own.with_encoding(encoding), observer))));
        }
    }
    let base_url = service.base_url.clone().ok_or(BuildError::Required("auth.base_url"))?;
    let auth = Auth::build(service.auth.as_ref(), service.auth_key, "auth", secrets)?;
    let other = HttpSource::on(&settings(base_url), auth, encoding, "auth")?;
    Ok(Some(Arc::new(Observed::new(other, None))))
}
