//! The harness of `soap`: a test AMS on 127.0.0.1 speaking the SOAP 1.1
//! RefreshService dialect, its envelopes written by the simulator's SOAP
//! writers (`amsync_sim::soap`) around the fixture's data rendered by its
//! XML renderers; the source is what the factory builds from an `[ams]`
//! with `kind = "soap"` naming the security key by variable. An AMS that
//! refuses our credentials wants another key and answers a SOAP fault.
//!
//! Gone members exercise both ways the dialect says "not there": a key the
//! AMS removed (404) answers the fault `Member … not found`, a key it never
//! had a null result, a merged one `<Gone MergedInto="…"/>`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amsync_ams::config::{SoapSourceConfig, SourceKind};
use amsync_ams::memory::SourceFixture;
use amsync_ams::{AmsConfig, CallObserver, CredentialConfig};
use amsync_config_kit::ResolveNow;
use amsync_core::{MemberKey, PayloadFormat};
use amsync_sim::render::{xml, ChangedEntry};
use amsync_sim::soap::{self, Operation};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use url::Url;

use crate::harness::{Harness, Running};

pub struct SoapHarness;

const KEY_VAR: &str = "CONFORMANCE_SOAP_KEY";
const OUR_KEY: &str = "conformance-security-key";

/// One request the test AMS received: its `SOAPAction` and body.
pub type SoapHit = (String, Bytes);

/// A running SOAP test AMS.
pub struct SoapAms {
    pub endpoint: Url,
    pub state: Arc<SoapState>,
}

pub struct SoapState {
    pub data: Mutex<SourceFixture>,
    pub wanted_key: Mutex<String>,
    pub hits: Mutex<Vec<SoapHit>>,
    /// Answered instead of everything else while set: (HTTP status, body).
    pub scripted: Mutex<Option<(u16, Vec<u8>)>>,
}

impl SoapAms {
    pub async fn start(fixture: SourceFixture) -> SoapAms {
        let wanted = if fixture.refuses_our_credentials { "a-key-we-do-not-have" } else { OUR_KEY };
        let state = Arc::new(SoapState {
            data: Mutex::new(fixture),
            wanted_key: Mutex::new(wanted.to_string()),
            hits: Mutex::default(),
            scripted: Mutex::default(),
        });
        let app = axum::Router::new().route(soap::PATH, axum::routing::post(answer)).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let endpoint = Url::parse(&format!("http://{addr}{}", soap::PATH)).unwrap();
        SoapAms { endpoint, state }
    }

    pub fn hits(&self) -> Vec<SoapHit> {
        self.state.hits.lock().unwrap().clone()
    }

    pub fn script(&self, status: u16, body: impl Into<Vec<u8>>) {
        *self.state.scripted.lock().unwrap() = Some((status, body.into()));
    }

    /// `[ams]` of a soap source of this AMS, its key in [`KEY_VAR`].
    pub fn config(&self) -> AmsConfig {
        let mut soap = SoapSourceConfig::at(self.endpoint.clone());
        soap.security_key_env = Some(KEY_VAR.into());
        AmsConfig { kind: SourceKind::Soap, timeout: Duration::from_secs(5), soap: Some(soap), ..AmsConfig::default() }
    }

    /// The environment [`SoapAms::config`] reads its key from.
    pub fn env() -> HashMap<String, String> {
        HashMap::from([(KEY_VAR.to_string(), OUR_KEY.to_string())])
    }
}

fn envelope(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, soap::CONTENT_TYPE)], body).into_response()
}

fn fault(code: &str, text: &str) -> Response {
    envelope(StatusCode::INTERNAL_SERVER_ERROR, soap::fault(code, text))
}

async fn answer(State(ams): State<Arc<SoapState>>, headers: HeaderMap, body: Bytes) -> Response {
    let action = headers.get("soapaction").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    ams.hits.lock().unwrap().push((action.clone(), body.clone()));
    if let Some((status, body)) = ams.scripted.lock().unwrap().clone() {
        return envelope(StatusCode::from_u16(status).unwrap(), body);
    }
    let Some(op) = Operation::of_action(&action) else { return fault("Client", "Unknown SOAPAction") };
    let params = match soap::params(&body) {
        Ok(p) => p,
        Err(e) => return fault("Client", &e),
    };
    if params.get("security_key") != Some(&*ams.wanted_key.lock().unwrap()) {
        return fault("Client", "Invalid security key");
    }
    let data = ams.data.lock().unwrap().clone();
    let since = match params.get("updated_since").map(|s| s.parse()).transpose() {
        Ok(s) => s,
        Err(_) => return fault("Client", "updatedSince is not a date"),
    };
    let key = params.get("member_key").and_then(|k| MemberKey::parse(k).ok());
    let member = key.as_ref().and_then(|k| data.member(k));
    let name = op.name();
    let ok = |body: Vec<u8>| envelope(StatusCode::OK, body);
    match op {
        Operation::GetChangedMembers => {
            let entries: Vec<ChangedEntry> = data
                .listing(since)
                .into_iter()
                .map(|(k, at)| ChangedEntry { key: k.text().to_string(), changed_at: at.timestamp() })
                .collect();
            ok(soap::changed_members(&entries))
        }
        Operation::GetEvents => ok(soap::events(name, data.event_listing(since))),
        Operation::GetMemberDetails => match (member, key.as_ref().and_then(|k| data.gone(k))) {
            (Some(m), _) => ok(soap::response(name, Some(soap::root_content(&xml::details(&m.details))))),
            (None, Some(g)) if g.status == 410 => ok(soap::gone(name, g.merged_into.as_ref().map(|k| k.as_str()))),
            (None, Some(g)) => fault("Server", &format!("Member {} not found", g.key.as_str())),
            (None, None) => ok(soap::response(name, None)),
        },
        Operation::GetMemberCommunityGroups => match member {
            Some(m) => ok(soap::response(name, Some(soap::root_content(&xml::communities(&m.memberships))))),
            None => fault("Client", "Member not found"),
        },
        Operation::GetMemberSecurityGroups => match member {
            Some(m) => ok(soap::response(name, Some(soap::root_content(&xml::groups(&m.groups))))),
            None => fault("Client", "Member not found"),
        },
        Operation::AuthenticateUser => {
            let (user, pass) = (params.get("username"), params.get("password"));
            let account = data.accounts.iter().find(|a| Some(&a.username) == user && Some(&a.password) == pass);
            ok(soap::member_key(name, account.map(|a| a.key.as_str())))
        }
        Operation::ResolveToken => {
            let found = data.tokens.iter().find(|(t, _)| Some(t) == params.get("token"));
            ok(soap::member_key(name, found.map(|(_, k)| k.as_str())))
        }
    }
}

#[async_trait::async_trait]
impl Harness for SoapHarness {
    fn kind(&self) -> &'static str {
        "soap"
    }

    fn format(&self) -> PayloadFormat {
        PayloadFormat::parse("application/soap+xml").unwrap()
    }

    fn pages(&self) -> bool {
        false
    }

    async fn start(&self, fixture: SourceFixture, observer: Arc<dyn CallObserver>) -> Running {
        let ams = SoapAms::start(fixture).await;
        let built = amsync_ams::build(
            &ams.config(),
            &CredentialConfig::default(),
            &mut ResolveNow(&SoapAms::env()),
            Some(observer),
        )
        .expect("the harness's config builds");
        Running { source: built.source, credentials: built.credentials, _keep: Box::new(ams) }
    }
}
