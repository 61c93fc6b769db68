//! Helpers of the HTTP checks: fixture files, configs, sources, secrets,
//! `both!`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use amsync_ams::config::{ApiKeyAuth, BasicAuth, HttpAuth, OAuth2Auth};
use amsync_ams::{AmsConfig, CallObserver, CredentialConfig, HttpEncoding, HttpSource, SourceError, Sources};
use amsync_config_kit::{ConfigError, SecretCells, SecretCheck, SecretSource};
use amsync_core::secret::SecretCell;

use crate::http::server::TestAms;

/// Expands `check(HttpEncoding)` into the tests `check::json` and `check::xml`.
#[macro_export]
macro_rules! both {
    ($($check:ident),+ $(,)?) => {$(
        mod $check {
            #[tokio::test]
            async fn json() {
                super::$check(amsync_ams::HttpEncoding::Json).await
            }
            #[tokio::test]
            async fn xml() {
                super::$check(amsync_ams::HttpEncoding::Xml).await
            }
        }
    )+};
}

/// A fixture file's bytes (`tests/fixtures/{json,xml}/NAME.{json,xml}`).
pub fn fixture(encoding: HttpEncoding, name: &str) -> Vec<u8> {
    let ext = encoding.as_str();
    let path = format!("{}/tests/fixtures/{ext}/{name}.{ext}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Test-sized settings of the test AMS's kind: short timeout, no auth.
pub fn config(ams: &TestAms) -> AmsConfig {
    let mut cfg = AmsConfig::http(ams.encoding.kind(), ams.url.clone());
    cfg.timeout = Duration::from_secs(5);
    cfg
}

/// The secrets a test hands to a source: each environment variable a
/// config names, mapped to the cell the test keeps (to replace it as a
/// SIGHUP reload does).
#[derive(Default)]
pub struct Secrets(pub HashMap<String, SecretCell>);

impl Secrets {
    pub fn with(var: &str, cell: impl Into<SecretCell>) -> Secrets {
        Secrets(HashMap::from([(var.to_string(), cell.into())]))
    }
}

impl SecretCells for Secrets {
    fn cell(&mut self, source: SecretSource, _: Option<SecretCheck>) -> Result<SecretCell, ConfigError> {
        let SecretSource::Env { key, var } = &source else { panic!("the tests name secrets by variable") };
        self.0
            .get(var)
            .cloned()
            .ok_or_else(|| ConfigError::Secret { key: key.clone(), message: format!("{source} is not set") })
    }
}

/// `api_key` in `header`, its value in the variable `var`.
pub fn api_key(header: &str, var: &str) -> HttpAuth {
    HttpAuth::ApiKey(ApiKeyAuth { header: header.into(), value_env: Some(var.into()), value_file: None })
}

/// `basic` as `username`, the password in the variable `var`.
pub fn basic(username: &str, var: &str) -> HttpAuth {
    HttpAuth::Basic(BasicAuth { username: username.into(), password_env: Some(var.into()), password_file: None })
}

/// `oauth2` against the test AMS's token endpoint, the client secret in `var`.
pub fn oauth2(ams: &TestAms, client_id: &str, var: &str) -> HttpAuth {
    HttpAuth::Oauth2(OAuth2Auth {
        token_url: ams.token_url(),
        client_id: client_id.into(),
        client_secret_env: Some(var.into()),
        client_secret_file: None,
        scope: Some("ams.read".into()),
    })
}

/// The bare HTTP source of `cfg`, unobserved (the HTTP mechanics alone).
pub fn source(cfg: &AmsConfig, secrets: &mut Secrets) -> HttpSource {
    HttpSource::new(cfg, secrets).expect("the test config builds")
}

/// What the factory builds from `cfg` (the source's own credential
/// service), every call reported to `observer`.
pub fn built(cfg: &AmsConfig, observer: Option<Arc<dyn CallObserver>>) -> Sources {
    amsync_ams::build(cfg, &CredentialConfig::default(), &mut Secrets::default(), observer)
        .expect("the test config builds")
}

/// A test AMS of `encoding` and a default source for it.
pub async fn setup(encoding: HttpEncoding) -> (TestAms, HttpSource) {
    let ams = TestAms::start(encoding).await;
    let src = source(&config(&ams), &mut Secrets::default());
    (ams, src)
}

pub fn key(s: &str) -> amsync_core::MemberKey {
    amsync_core::MemberKey::parse(s).unwrap()
}

/// Unwraps a data error into (field, message, excerpt).
pub fn data_error(e: SourceError) -> (String, String, Option<String>) {
    match e {
        SourceError::Data { error, excerpt } => (error.field.clone(), error.to_string(), excerpt),
        other => panic!("expected a data error, got {other:?}"),
    }
}
