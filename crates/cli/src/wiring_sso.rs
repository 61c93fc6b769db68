//! From `[sso]`, `[sessions]` and `[web]` to the sign-on service of the web
//! layer (`amsync_web::sso::SignOn`), and `amsync sso mint-token`. The
//! mode and the token's place are sign-on's own types, taken as the file
//! gives them; what is mapped here is what several sections decide.

use std::sync::Arc;
use std::time::Duration;

use amsync_ams::CredentialService;
use amsync_config::{Config, Environment, SourceKind, SsoResolve};
use amsync_sso::{Claims, OidcRp, OidcSettings, PskKey, PskVerifier, ThrottleSettings};
use amsync_web::sso::{SessionSettings, SignOn, SignOnSettings, SsoMode, TokenResolver};

use crate::exit::{CliError, CliResult};
use crate::secrets::SharedSecrets;

/// The pre-shared keys of `sso.resolve`, read from their variables or files.
pub fn psk_keys(cfg: &Config, env: &dyn Environment) -> CliResult<Vec<PskKey>> {
    cfg.sso
        .psk_keys()
        .into_iter()
        .map(|(kid, source)| {
            let secret = source.resolve(env)?;
            PskKey::from_base64(&kid, &secret).map_err(|e| CliError::config(format!("sso.resolve.keys: {e}")))
        })
        .collect()
}

/// Sign-on's settings from `[sso]`, `[sessions]`, `[web]` and the AMS's timeout.
pub fn sign_on_settings(cfg: &Config) -> SignOnSettings {
    let mut s = SignOnSettings::new(cfg.sso.mode, cfg.web.public_url.clone());
    s.trusted_proxies = cfg.web.trusted_proxies.clone();
    s.login_url = cfg.sso.login_url.clone();
    s.logout_url = cfg.sso.logout_url.clone();
    s.return_url_param = cfg.sso.return_url_param.clone();
    s.token = cfg.sso.token.clone();
    s.allow_unsolicited = cfg.sso.allow_unsolicited;
    s.allowed_return_hosts = cfg.sso.allowed_return_hosts.clone();
    s.sessions = SessionSettings {
        lifetime: cfg.sessions.lifetime,
        idle_timeout: cfg.sessions.idle_timeout,
        mobile_token_lifetime: cfg.sessions.mobile_token_lifetime,
    };
    s.push_source = cfg.ams.kind == SourceKind::Push;
    // The serial refresh makes three AMS calls at once: bounded by one call's timeout, plus slack.
    s.login_refresh_timeout = cfg.ams.timeout + Duration::from_secs(5);
    s.service_timeout = cfg.ams.timeout;
    s
}

/// `sso.throttle`: failed sign-ins allowed before delays.
pub fn throttle(cfg: &Config) -> ThrottleSettings {
    let t = &cfg.sso.throttle;
    ThrottleSettings {
        per_account_and_address: t.per_account_and_address,
        per_address: t.per_address,
        window: t.window,
        ..ThrottleSettings::default()
    }
}

/// The sign-on service for a node: `settings`, the token resolver of
/// `sso.resolve`, the credential service and (in `oidc` mode) the
/// OpenID Connect provider of `[sso.oidc]`, discovered now.
pub async fn sign_on(
    cfg: &Config,
    env: &dyn Environment,
    settings: SignOnSettings,
    throttle: ThrottleSettings,
    credentials: Option<Arc<dyn CredentialService>>,
    secrets: &mut SharedSecrets,
) -> CliResult<SignOn> {
    let resolver = match (&cfg.sso.mode, &cfg.sso.resolve) {
        (SsoMode::SessionVariable, SsoResolve::Psk(psk)) => {
            let keys = psk_keys(cfg, env)?;
            Some(TokenResolver::Psk(PskVerifier::new(keys, cfg.web.public_url.as_str(), psk.max_age)))
        }
        (SsoMode::SessionVariable, SsoResolve::WebService) => Some(TokenResolver::WebService),
        _ => None,
    };
    let oidc = match oidc_settings(cfg, env, &settings, secrets)? {
        Some(oidc) => {
            let rp = OidcRp::discover(oidc).await.map_err(|e| CliError::failure(format!("sso.oidc: {e}")))?;
            Some(Arc::new(rp))
        }
        None => None,
    };
    SignOn::new(settings, resolver, credentials, oidc, throttle).map_err(|e| CliError::config(e.to_string()))
}

/// The OpenID Connect provider of `[sso.oidc]` in `oidc` mode, as the
/// relying party takes it (`amsync serve` discovers it, `amsync check`
/// probes it); `None` in the other modes.
pub fn oidc_settings(
    cfg: &Config,
    env: &dyn Environment,
    settings: &SignOnSettings,
    secrets: &mut SharedSecrets,
) -> CliResult<Option<OidcSettings>> {
    let (SsoMode::Oidc, Some(o)) = (&cfg.sso.mode, &cfg.sso.oidc) else {
        return Ok(None);
    };
    // Read at each code exchange, so a SIGHUP reload takes effect.
    let client_secret = match o.client_secret() {
        Some(source) => Some(secrets.cell(source, env, None)?),
        None => None,
    };
    Ok(Some(OidcSettings {
        issuer: o.issuer.clone(),
        client_id: o.client_id.clone(),
        client_secret,
        scopes: o.scopes.clone(),
        key_claim: o.key_claim.clone(),
        mobile_client_ids: o.mobile_client_ids.clone(),
        redirect_url: settings.callback_url(),
        post_logout_redirect_url: settings.public_path("/"),
    }))
}

/// `amsync sso mint-token`: a token for `member` in the configured PSK
/// format, with the first key (or the one named `kid`), valid for `ttl`
/// (at most `sso.resolve.max_age`).
pub fn mint_token(
    cfg: &Config,
    env: &dyn Environment,
    member: &str,
    kid: Option<&str>,
    ttl: Duration,
) -> CliResult<String> {
    let SsoResolve::Psk(psk) = &cfg.sso.resolve else {
        return Err(CliError::config("sso.resolve.kind is not \"psk\": there is no key to make a token with"));
    };
    amsync_core::MemberKey::parse(member).map_err(|e| CliError::config(format!("--member: {e}")))?;
    let keys = psk_keys(cfg, env)?;
    let key = match kid {
        Some(k) => keys.iter().find(|p| p.kid() == k),
        None => keys.first(),
    }
    .ok_or_else(|| CliError::config("sso.resolve.keys: no such key"))?;
    let ttl = ttl.min(psk.max_age);
    Ok(amsync_sso::psk::mint(key, &Claims::new(member, cfg.web.public_url.as_str(), chrono::Utc::now(), ttl)))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use secrecy::ExposeSecret;

    use super::*;

    const CONFIG: &str = r#"
[ams]
kind = "http-json"
base_url = "http://127.0.0.1:9/"
[web]
public_url = "https://community.example.org/"
[sso]
mode = "session-variable"
login_url = "https://www.example.org/login"
resolve = { kind = "psk", keys = [{ kid = "old", key_env = "PSK_OLD" }, { kid = "new", key_env = "PSK_NEW" }], max_age = "5m" }
"#;

    #[tokio::test]
    async fn mint_token_makes_tokens_the_configured_verifier_accepts() {
        let cfg = Config::from_toml_str(CONFIG, Vec::<(String, String)>::new()).unwrap();
        let (old, new) = (PskKey::generate("old").unwrap(), PskKey::generate("new").unwrap());
        let env: HashMap<String, String> = [
            ("PSK_OLD".to_string(), old.to_base64().expose_secret().to_string()),
            ("PSK_NEW".to_string(), new.to_base64().expose_secret().to_string()),
        ]
        .into();
        let keys = psk_keys(&cfg, &env).unwrap();
        let verifier = PskVerifier::new(keys, cfg.web.public_url.as_str(), Duration::from_secs(300));
        for kid in [None, Some("new")] {
            let token = mint_token(&cfg, &env, "M000123", kid, Duration::from_secs(3600)).unwrap();
            let v = verifier.verify(&token, chrono::Utc::now()).unwrap();
            assert_eq!((v.member.as_str(), v.kid.as_str()), ("M000123", kid.unwrap_or("old")));
        }
        assert!(mint_token(&cfg, &env, "", None, Duration::from_secs(60)).is_err());
        let (settings, throttle) = (sign_on_settings(&cfg), throttle(&cfg));
        let sign_on = sign_on(&cfg, &env, settings, throttle, None, &mut SharedSecrets::default()).await;
        assert!(sign_on.is_ok(), "{:?}", sign_on.err().map(|e| e.to_string()));
    }
}
