//! The secrets a node can rotate without a restart. On SIGHUP
//! [`LiveSecrets::reload`] reads every `*_file` secret again:
//!
//! - the admin and site tokens (each with its `next_*` rotation value) and
//!   the pre-shared SSO keys, swapped into the web layer's token set and
//!   the PSK verifier at once;
//! - the secrets other parts read per use, kept in [`SharedSecrets`]: the
//!   AMS's credentials (`ams.auth`: API key, basic password, OAuth2 client
//!   secret; a new client secret drops the cached token), the credential
//!   service's own (`auth.auth`) and the OpenID Connect client secret.
//!   Each part holds the secret's cell and reads it at its next call;
//! - `database.url_file`: the SQLite database is opened once at start and
//!   its URL names a file, not a secret, so a changed URL is reported as
//!   applying at the next start (a running node never switches database).
//!
//! A secret that fails to read, or that its user could not take (an API
//! key that is not a header value, an SSO key that is not 32 bytes), keeps
//! its last good value (a half-written file locks nobody out), and the
//! failure is logged with the key and the file, never a value.
//!
//! Secrets given by environment variable do not change while the process
//! runs; rotating them takes a restart (or a `*_file`).

use std::sync::Arc;

use amsync_config::{
    Config, ConfigError, DatabaseUrlSource, Environment, LiveSecret, SecretCells, SecretCheck, SecretSource,
};
use amsync_core::secret::SecretCell;
use amsync_sso::{PskKey, PskVerifier};
use amsync_web::auth::{TokenSet, Tokens};
use secrecy::SecretString;

use crate::exit::CliResult;

/// What one reload did, by configuration key (never values).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reloaded {
    /// Keys whose value changed.
    pub changed: Vec<String>,
    /// Keys that could not be read (their last good value stays).
    pub failed: Vec<String>,
    /// Keys whose new value applies at the next start only.
    pub at_next_start: Vec<String>,
}

/// Secrets that parts of a node read per use, each kept with its source
/// (and the check its user needs) so that a reload replaces its value in
/// the cell those parts hold. A command that runs once and ends collects
/// them in a throwaway `SharedSecrets::default()`.
#[derive(Default)]
pub struct SharedSecrets {
    list: Vec<(LiveSecret, Option<SecretCheck>)>,
}

impl SharedSecrets {
    /// Resolves `source` now and returns the cell its user reads.
    pub fn cell(
        &mut self,
        source: SecretSource,
        env: &dyn Environment,
        check: Option<SecretCheck>,
    ) -> CliResult<SecretCell> {
        Ok(self.keep(source, env, check)?)
    }

    /// The [`SecretCells`] a component's factory (`amsync_ams::build`) asks
    /// for its secrets: each is resolved from `env` and kept here, with
    /// the check the component gave, for the reloads.
    pub fn resolving<'a>(&'a mut self, env: &'a dyn Environment) -> impl SecretCells + 'a {
        Keeping { secrets: self, env }
    }

    fn keep(
        &mut self,
        source: SecretSource,
        env: &dyn Environment,
        check: Option<SecretCheck>,
    ) -> Result<SecretCell, ConfigError> {
        let secret = LiveSecret::load(source, env)?;
        let cell = secret.cell();
        self.list.push((secret, check));
        Ok(cell)
    }

    /// The configuration keys held, in the order they were resolved.
    pub fn keys(&self) -> Vec<String> {
        self.list.iter().map(|(s, _)| s.source().key().to_string()).collect()
    }
}

/// [`SharedSecrets::resolving`].
struct Keeping<'a> {
    secrets: &'a mut SharedSecrets,
    env: &'a dyn Environment,
}

impl SecretCells for Keeping<'_> {
    fn cell(&mut self, source: SecretSource, check: Option<SecretCheck>) -> Result<SecretCell, ConfigError> {
        self.secrets.keep(source, self.env, check)
    }
}

fn database_url_check(value: &SecretString) -> Result<(), String> {
    amsync_config::check_database_url(secrecy::ExposeSecret::expose_secret(value))
}

/// The live secrets of a node and what uses them.
pub struct LiveSecrets {
    admin: Vec<LiveSecret>,
    site: Vec<LiveSecret>,
    psk: Vec<(String, LiveSecret)>,
    tokens: Arc<Tokens>,
    verifier: Option<PskVerifier>,
    shared: SharedSecrets,
    /// `database.url_env` / `url_file`, read again to say it changed.
    database: Option<LiveSecret>,
}

impl std::fmt::Debug for LiveSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveSecrets")
            .field("admin", &self.admin.len())
            .field("site", &self.site.len())
            .field("psk", &self.psk.len())
            .field("shared", &self.shared.keys())
            .field("database", &self.database.is_some())
            .finish()
    }
}

/// Loads `source` when it resolves; an unset variable turns the secret off.
fn optional(source: Option<SecretSource>, env: &dyn Environment) -> CliResult<Option<LiveSecret>> {
    let Some(source) = source else { return Ok(None) };
    match source.resolve_optional(env)? {
        Some(_) => Ok(Some(LiveSecret::load(source, env)?)),
        None => Ok(None),
    }
}

fn token_set(admin: &[LiveSecret], site: &[LiveSecret]) -> TokenSet {
    let values = |list: &[LiveSecret]| list.iter().map(|s| secrecy::SecretString::clone(&s.current())).collect();
    TokenSet { admin: values(admin), site: values(site) }
}

fn psk_keys(psk: &[(String, LiveSecret)]) -> Result<Vec<PskKey>, String> {
    psk.iter()
        .map(|(kid, s)| PskKey::from_base64(kid, &s.current()).map_err(|e| format!("{}: {e}", s.source().key())))
        .collect()
}

impl LiveSecrets {
    /// Resolves the tokens (the admin token is required; the site token is
    /// off while unset) and, in `session-variable` mode with `psk`, the keys;
    /// takes the secrets the wiring handed to other parts (`shared`).
    pub fn load(cfg: &Config, env: &dyn Environment, shared: SharedSecrets) -> CliResult<LiveSecrets> {
        let mut admin = vec![LiveSecret::load(cfg.web.admin_token(), env)?];
        admin.extend(optional(cfg.web.next_admin_token(), env)?);
        let mut site: Vec<LiveSecret> = optional(Some(cfg.web.site_token()), env)?.into_iter().collect();
        site.extend(optional(cfg.web.next_site_token(), env)?);
        let psk = match (&cfg.sso.mode, &cfg.sso.resolve) {
            (amsync_config::SsoMode::SessionVariable, amsync_config::SsoResolve::Psk(_)) => cfg
                .sso
                .psk_keys()
                .into_iter()
                .map(|(kid, source)| Ok((kid, LiveSecret::load(source, env)?)))
                .collect::<CliResult<Vec<_>>>()?,
            _ => Vec::new(),
        };
        let tokens = Arc::new(Tokens::from(token_set(&admin, &site)));
        Ok(LiveSecrets { admin, site, psk, tokens, ..LiveSecrets::without_tokens(cfg, env, shared)? })
    }

    /// The secrets of a node that serves no HTTP (`amsync worker`,
    /// `amsync refresh`): no API tokens or sign-on keys, only what the
    /// wiring handed to other parts (`shared`) and the database URL.
    pub fn without_tokens(cfg: &Config, env: &dyn Environment, shared: SharedSecrets) -> CliResult<LiveSecrets> {
        let database = match cfg.database.url_source() {
            DatabaseUrlSource::Secret(source) => Some(LiveSecret::load(source, env)?),
            DatabaseUrlSource::Literal(_) => None,
        };
        let tokens = Arc::new(Tokens::from(token_set(&[], &[])));
        Ok(LiveSecrets { admin: vec![], site: vec![], psk: vec![], tokens, verifier: None, shared, database })
    }

    /// The token set the web layer reads (swapped by [`Self::reload`]).
    pub fn tokens(&self) -> Arc<Tokens> {
        self.tokens.clone()
    }

    /// The verifier whose keys a reload replaces (it shares them with its clones).
    pub fn attach_verifier(&mut self, verifier: PskVerifier) {
        self.verifier = Some(verifier);
    }

    /// Reads every secret again; swaps the token set and the PSK keys, and
    /// replaces the shared secrets in place.
    pub fn reload(&self, env: &dyn Environment) -> Reloaded {
        let mut out = Reloaded::default();
        let plain = self.admin.iter().chain(&self.site).chain(self.psk.iter().map(|(_, s)| s));
        let checked = self.shared.list.iter().map(|(s, check)| (s, *check));
        for (secret, check) in plain.map(|s| (s, None)).chain(checked) {
            let outcome = secret.reload_checked(env, |v| check.map_or(Ok(()), |c| c(v)));
            note(&mut out, secret, outcome);
        }
        if let Some(database) = &self.database {
            let before = out.changed.len();
            note(&mut out, database, database.reload_checked(env, database_url_check));
            if let Some(key) = out.changed.drain(before..).next() {
                tracing::warn!(
                    key = %key,
                    "the database URL changed; the running node keeps its database, the new URL applies at the next start"
                );
                out.at_next_start.push(key);
            }
        }
        self.tokens.replace(token_set(&self.admin, &self.site));
        if let Some(verifier) = &self.verifier {
            match psk_keys(&self.psk) {
                Ok(keys) => verifier.replace_keys(keys),
                Err(e) => {
                    tracing::error!(error = %e, "a reloaded SSO key is not 32 bytes of base64; the previous keys stay");
                    out.failed.push("sso.resolve.keys".into());
                }
            }
        }
        tracing::info!(
            changed = ?out.changed,
            failed = ?out.failed,
            at_next_start = ?out.at_next_start,
            "secrets reloaded"
        );
        out
    }
}

/// Records one secret's reload by its key.
fn note(out: &mut Reloaded, secret: &LiveSecret, outcome: Result<bool, amsync_config::ConfigError>) {
    let key = secret.source().key().to_string();
    match outcome {
        Ok(true) => out.changed.push(key),
        Ok(false) => {}
        Err(e) => {
            // The message names the key and the file, never the value.
            tracing::error!(key = %key, error = %e, "a secret could not be reloaded; its last value stays");
            out.failed.push(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use amsync_web::auth::Tokens;
    use secrecy::ExposeSecret;

    use super::*;

    fn admin_values(t: &Tokens) -> Vec<String> {
        t.current().admin.iter().map(|s| s.expose_secret().to_string()).collect()
    }

    #[test]
    fn a_rotated_file_replaces_the_token_and_a_bad_one_keeps_the_last() {
        let dir = tempfile::tempdir().unwrap();
        let admin = dir.path().join("admin");
        let next = dir.path().join("next");
        std::fs::write(&admin, "old-admin-token\n").unwrap();
        std::fs::write(&next, "next-admin-token\n").unwrap();
        let text = format!(
            "[ams]\nbase_url = \"http://127.0.0.1:9/\"\n[web]\nadmin_token_file = \"{}\"\nnext_admin_token_file = \"{}\"\n",
            admin.display(),
            next.display()
        );
        let cfg = Config::from_toml_str(&text, Vec::<(String, String)>::new()).unwrap();
        let env: HashMap<String, String> = HashMap::new();
        let live = LiveSecrets::load(&cfg, &env, SharedSecrets::default()).unwrap();
        let tokens = live.tokens();
        assert_eq!(admin_values(&tokens), ["old-admin-token", "next-admin-token"]);
        assert!(tokens.current().site.is_empty(), "no site token: it is off");

        std::fs::write(&admin, "new-admin-token\n").unwrap();
        let r = live.reload(&env);
        assert_eq!(r.changed, ["web.admin_token_file"]);
        assert_eq!(admin_values(&tokens), ["new-admin-token", "next-admin-token"]);

        std::fs::write(&admin, "").unwrap();
        let r = live.reload(&env);
        assert_eq!(r.failed, ["web.admin_token_file"]);
        assert_eq!(admin_values(&tokens), ["new-admin-token", "next-admin-token"], "the last good value stays");
        assert!(!format!("{live:?}").contains("admin-token"));
    }
}
