//! The state of an SSO round trip (session-variable and OIDC), kept in a
//! short-lived HttpOnly cookie between `GET /login` and `GET /sso/callback`.
//!
//! It holds the `state` value the callback must bring back (so a token
//! meant for someone else's browser is refused: login CSRF), the final
//! return URL (which never travels to the association's site), whether the
//! member was already sent back to the login page once (so a stale cookie
//! token never loops), and for OIDC the nonce and PKCE verifier.

use amsync_sso::ids::random_id;
use amsync_sso::PendingLogin;
use axum::http::{HeaderMap, HeaderValue};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::cookies;
use super::settings::SignOnSettings;

/// Longest state cookie read back (it is ours; anything longer is junk).
const MAX_COOKIE_LEN: usize = 3000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundTrip {
    /// The `state` the callback must carry.
    #[serde(rename = "s")]
    pub state: String,
    /// Where to go once signed in (already checked).
    #[serde(rename = "r")]
    pub return_url: String,
    /// Sent back to the login page once already after a refused cookie token.
    #[serde(rename = "b", default)]
    pub bounced: bool,
    /// OIDC: nonce and PKCE verifier.
    #[serde(rename = "o", default, skip_serializing_if = "Option::is_none")]
    pub oidc: Option<PendingLogin>,
}

impl RoundTrip {
    pub fn new(return_url: String) -> RoundTrip {
        RoundTrip { state: random_id(), return_url, bounced: false, oidc: None }
    }

    pub fn for_oidc(return_url: String, pending: PendingLogin) -> RoundTrip {
        RoundTrip { state: pending.state.clone(), return_url, bounced: false, oidc: Some(pending) }
    }

    /// The `Set-Cookie` value that carries it.
    pub fn cookie(&self, settings: &SignOnSettings) -> HeaderValue {
        let secure = settings.secure_cookies();
        let value = URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).expect("round trip serializes"));
        cookies::set(&cookies::name(cookies::SSO_STATE, secure), &value, Some(settings.state_lifetime), secure)
    }

    /// The round trip this browser started, if its cookie is there and reads.
    pub fn from_request(headers: &HeaderMap, settings: &SignOnSettings) -> Option<RoundTrip> {
        let name = cookies::name(cookies::SSO_STATE, settings.secure_cookies());
        let raw = cookies::get(headers, &name).filter(|v| v.len() <= MAX_COOKIE_LEN)?;
        let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    pub fn clear_cookie(settings: &SignOnSettings) -> HeaderValue {
        let secure = settings.secure_cookies();
        cookies::clear(&cookies::name(cookies::SSO_STATE, secure), secure)
    }
}

/// The association's login page with our callback (`?state=…`) in
/// `return_url_param`.
pub fn login_page_url(settings: &SignOnSettings, state: &str) -> Option<url::Url> {
    let mut login = settings.login_url.clone()?;
    let mut callback = settings.callback_url();
    callback.query_pairs_mut().append_pair("state", state);
    login.query_pairs_mut().append_pair(&settings.return_url_param, callback.as_str());
    Some(login)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sso::settings::SsoMode;

    #[test]
    fn the_cookie_reads_back_and_the_login_url_carries_the_callback() {
        let mut s = SignOnSettings::new(SsoMode::SessionVariable, url::Url::parse("http://127.0.0.1:8080").unwrap());
        s.login_url = Some(url::Url::parse("https://www.example.org/login?lang=en").unwrap());
        let rt = RoundTrip::new("/x?y=1".into());
        let set = rt.cookie(&s);
        let value = set.to_str().unwrap().split(';').next().unwrap().to_string();
        let mut h = HeaderMap::new();
        h.insert(axum::http::header::COOKIE, HeaderValue::from_str(&value).unwrap());
        assert_eq!(RoundTrip::from_request(&h, &s), Some(rt.clone()));
        let url = login_page_url(&s, &rt.state).unwrap();
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs[0], ("lang".into(), "en".into()));
        assert_eq!(pairs[1].0, "ReturnUrl");
        assert_eq!(pairs[1].1, format!("http://127.0.0.1:8080/sso/callback?state={}", rt.state));
        assert!(!url.as_str().contains("%2Fx"), "the final URL stays on our side");
    }
}
