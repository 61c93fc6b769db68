//! The harness of `http-json` and `http-xml`: the test AMS serves the
//! fixture's data in the kind's encoding (rendered by the simulator's
//! renderers) and wants an API key; the source is what the factory builds
//! from an `[ams]` naming that key by variable, as `amsync serve` builds
//! it. An AMS that refuses our credentials wants another key.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use amsync_ams::config::{ApiKeyAuth, HttpAuth};
use amsync_ams::memory::SourceFixture;
use amsync_ams::{AmsConfig, CallObserver, CredentialConfig, HttpEncoding};
use amsync_config_kit::ResolveNow;
use amsync_core::PayloadFormat;

use crate::harness::{Harness, Running};
use crate::http::server::{ServerAuth, TestAms};

pub struct HttpHarness(pub HttpEncoding);

const KEY_VAR: &str = "CONFORMANCE_AMS_KEY";
const OUR_KEY: &str = "conformance-key";

#[async_trait::async_trait]
impl Harness for HttpHarness {
    fn kind(&self) -> &'static str {
        self.0.kind().as_str()
    }

    fn format(&self) -> PayloadFormat {
        self.0.format()
    }

    async fn start(&self, fixture: SourceFixture, observer: Arc<dyn CallObserver>) -> Running {
        let ams = TestAms::start(self.0).await;
        let wanted = if fixture.refuses_our_credentials { "a-key-we-do-not-have" } else { OUR_KEY };
        ams.set_auth(ServerAuth::ApiKey { header: "X-Api-Key".into(), value: wanted.into() });
        ams.serve(fixture);
        let mut cfg = AmsConfig::http(self.0.kind(), ams.url.clone());
        cfg.timeout = Duration::from_secs(5);
        cfg.auth = Some(HttpAuth::ApiKey(ApiKeyAuth {
            header: "X-Api-Key".into(),
            value_env: Some(KEY_VAR.into()),
            value_file: None,
        }));
        let env = HashMap::from([(KEY_VAR.to_string(), OUR_KEY.to_string())]);
        let built = amsync_ams::build(&cfg, &CredentialConfig::default(), &mut ResolveNow(&env), Some(observer))
            .expect("the harness's config builds");
        Running { source: built.source, credentials: built.credentials, _keep: Box::new(ams) }
    }
}
