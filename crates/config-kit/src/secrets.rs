//! Secrets: never written in the file, named there instead.
//!
//! A secret key is given as `<name>_env` (the name of an environment
//! variable that holds it) or `<name>_file` (the path of a file that holds
//! it, re-read on demand so secrets rotate without a restart). This module
//! turns those names into [`SecretSource`]s and resolves them into
//! [`SecretString`]s. Errors name the key and the variable or file, never
//! the value.
//!
//! Under systemd, secrets come as *credentials* (`LoadCredential=` in the
//! unit): files in a directory only the service can read, named by
//! `$CREDENTIALS_DIRECTORY`. A relative `*_file` path is read from that
//! directory when the variable is set ([`CREDENTIALS_DIRECTORY`]), so
//! `admin_token_file = "admin_token"` names the credential `admin_token`;
//! without the variable a relative path is relative to the working
//! directory, as any path.

use std::collections::{BTreeMap, HashMap};
use std::env::VarError;
use std::fmt;
use std::hash::BuildHasher;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use amsync_core::secret::SecretCell;
use secrecy::SecretString;

use crate::error::{ConfigError, Problems};

/// Longest secret file read; a secret is a token or a key, not a document.
pub const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// The variable in which systemd names the directory of the service's
/// credentials (`LoadCredential=`, `SetCredential=`); a relative `*_file`
/// path is read from there when it is set.
pub const CREDENTIALS_DIRECTORY: &str = "CREDENTIALS_DIRECTORY";

/// Where the secret file `path` (as the configuration writes it) is read:
/// a relative path inside `$CREDENTIALS_DIRECTORY` when `env` sets it (to
/// an absolute path), else `path` as written.
pub fn secret_file_path(path: &Path, env: &(impl Environment + ?Sized)) -> PathBuf {
    if path.is_relative() {
        if let Ok(dir) = env.var(CREDENTIALS_DIRECTORY) {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                return dir.join(path);
            }
        }
    }
    path.to_path_buf()
}

/// Where environment variables come from: the process, or a map in tests
/// and in `amsync demo`.
pub trait Environment {
    fn var(&self, name: &str) -> Result<String, VarError>;
}

/// The process environment, read at the moment of the call.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Environment for ProcessEnv {
    fn var(&self, name: &str) -> Result<String, VarError> {
        std::env::var(name)
    }
}

impl<S: BuildHasher> Environment for HashMap<String, String, S> {
    fn var(&self, name: &str) -> Result<String, VarError> {
        self.get(name).cloned().ok_or(VarError::NotPresent)
    }
}

impl Environment for BTreeMap<String, String> {
    fn var(&self, name: &str) -> Result<String, VarError> {
        self.get(name).cloned().ok_or(VarError::NotPresent)
    }
}

impl<E: Environment + ?Sized> Environment for &E {
    fn var(&self, name: &str) -> Result<String, VarError> {
        (**self).var(name)
    }
}

/// Where one secret is kept, with the configuration key that said so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// `key` (such as `ams.auth.value_env`) names the variable `var`.
    Env { key: String, var: String },
    /// `key` (such as `ams.auth.value_file`) names the file `path`.
    File { key: String, path: PathBuf },
}

impl fmt::Display for SecretSource {
    /// "environment variable AMS_API_KEY" or "file /run/secrets/ams": safe to log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Env { var, .. } => write!(f, "environment variable {var}"),
            SecretSource::File { path, .. } => write!(f, "file {}", path.display()),
        }
    }
}

impl SecretSource {
    /// The configuration key (full dotted path) that names this secret.
    pub fn key(&self) -> &str {
        match self {
            SecretSource::Env { key, .. } | SecretSource::File { key, .. } => key,
        }
    }

    /// Reads the secret now. A missing or empty variable, or a file that
    /// cannot be read or is empty, is an error naming the key.
    pub fn resolve(&self, env: &(impl Environment + ?Sized)) -> Result<SecretString, ConfigError> {
        match self.resolve_optional(env)? {
            Some(s) => Ok(s),
            None => Err(self.error(format!("{self} is not set"))),
        }
    }

    /// Like [`resolve`](Self::resolve), but an unset environment variable is
    /// `Ok(None)`: for secrets whose feature is simply off without them
    /// (the site token, the webhook secret). An empty variable or an
    /// unreadable file is still an error.
    pub fn resolve_optional(&self, env: &(impl Environment + ?Sized)) -> Result<Option<SecretString>, ConfigError> {
        match self {
            SecretSource::Env { var, .. } => match env.var(var) {
                Ok(v) if v.is_empty() => Err(self.error(format!("{self} is set but empty"))),
                Ok(v) => Ok(Some(SecretString::from(v))),
                Err(VarError::NotPresent) => Ok(None),
                Err(VarError::NotUnicode(_)) => Err(self.error(format!("{self} is not valid UTF-8"))),
            },
            SecretSource::File { key, path } => {
                SecretFile::new(key.clone(), secret_file_path(path, env)).read().map(Some)
            }
        }
    }

    fn error(&self, message: String) -> ConfigError {
        ConfigError::Secret { key: self.key().to_string(), message }
    }
}

/// A secret kept in a file, read again each time [`read`](Self::read) is
/// called, so a rotated file takes effect on the next read (amsync reloads
/// on SIGHUP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretFile {
    key: String,
    path: PathBuf,
}

impl SecretFile {
    /// `key` is the configuration key that named the file, for errors.
    pub fn new(key: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        SecretFile { key: key.into(), path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the file now. One trailing line break is not part of the
    /// secret (editors and `echo` add one).
    pub fn read(&self) -> Result<SecretString, ConfigError> {
        let shown = self.path.display();
        let err = |message: String| ConfigError::Secret { key: self.key.clone(), message };
        let file = std::fs::File::open(&self.path).map_err(|e| err(format!("cannot read file {shown}: {e}")))?;
        let mut bytes = Vec::new();
        file.take(MAX_SECRET_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| err(format!("cannot read file {shown}: {e}")))?;
        if bytes.len() as u64 > MAX_SECRET_FILE_BYTES {
            return Err(err(format!("file {shown} is larger than {MAX_SECRET_FILE_BYTES} bytes")));
        }
        let mut text = String::from_utf8(bytes).map_err(|_| err(format!("file {shown} is not valid UTF-8")))?;
        for ending in ["\r\n", "\n"] {
            if text.ends_with(ending) {
                text.truncate(text.len() - ending.len());
                break;
            }
        }
        if text.is_empty() {
            return Err(err(format!("file {shown} is empty")));
        }
        Ok(SecretString::from(text))
    }
}

/// A resolved secret that can be reloaded while amsync runs (on SIGHUP).
/// A reload that fails keeps the last good value, so a half-written file
/// does not lock everyone out. Its value lives in a [`SecretCell`] that the
/// parts using the secret share ([`LiveSecret::cell`]): a reload reaches
/// them at their next use.
#[derive(Debug)]
pub struct LiveSecret {
    source: SecretSource,
    value: SecretCell,
}

impl LiveSecret {
    /// Resolves `source` now; an error if it cannot be.
    pub fn load(source: SecretSource, env: &(impl Environment + ?Sized)) -> Result<Self, ConfigError> {
        let value = source.resolve(env)?;
        Ok(LiveSecret { source, value: SecretCell::new(value) })
    }

    pub fn source(&self) -> &SecretSource {
        &self.source
    }

    /// The current value.
    pub fn current(&self) -> Arc<SecretString> {
        self.value.current()
    }

    /// The cell a reload writes to, for the parts that read the value per use.
    pub fn cell(&self) -> SecretCell {
        self.value.clone()
    }

    /// Reads the source again; `Ok(true)` when the value changed.
    pub fn reload(&self, env: &(impl Environment + ?Sized)) -> Result<bool, ConfigError> {
        self.reload_checked(env, |_| Ok(()))
    }

    /// Like [`reload`](Self::reload), but a value `check` refuses (with a
    /// reason that does not repeat it) keeps the last good value too.
    pub fn reload_checked(
        &self,
        env: &(impl Environment + ?Sized),
        check: impl FnOnce(&SecretString) -> Result<(), String>,
    ) -> Result<bool, ConfigError> {
        let fresh = self.source.resolve(env)?;
        check(&fresh).map_err(|message| self.source.error(format!("{}: {message}", self.source)))?;
        Ok(self.value.replace(fresh))
    }
}

/// What a secret's user can take (an API key must be a header value, say);
/// the reason never repeats the value.
pub type SecretCheck = fn(&SecretString) -> Result<(), String>;

/// How a component built from its configuration gets its secrets: each
/// named secret becomes the [`SecretCell`] the component reads per use.
///
/// `amsync serve` keeps every secret it hands out this way (with its
/// check) and replaces the cell's value when a SIGHUP reloads the file; a
/// command that runs once resolves them with [`ResolveNow`].
pub trait SecretCells {
    /// Resolves `source` now (an error names its key, never the value) and
    /// returns the cell its user reads. `check` is what the user can take
    /// when a reload replaces the value (a refused one keeps the last good
    /// value); the value it starts with, the user checks itself, with the
    /// error it reports at start.
    fn cell(&mut self, source: SecretSource, check: Option<SecretCheck>) -> Result<SecretCell, ConfigError>;
}

/// Resolves each secret once, from `env`, and remembers nothing (nothing
/// reloads it, so the reload check is not needed): for commands that run
/// once and end, and for tests.
pub struct ResolveNow<'a>(pub &'a dyn Environment);

impl SecretCells for ResolveNow<'_> {
    fn cell(&mut self, source: SecretSource, _reload_check: Option<SecretCheck>) -> Result<SecretCell, ConfigError> {
        Ok(SecretCell::new(source.resolve(self.0)?))
    }
}

/// The source named by a `<base>_env` / `<base>_file` pair, or by
/// `default_env` when neither is written. The env form wins when both are
/// given; validation refuses that case, see [`check_pair`].
pub fn pick(
    base: &str,
    env: &Option<String>,
    file: &Option<PathBuf>,
    default_env: Option<&str>,
) -> Option<SecretSource> {
    match (env, file, default_env) {
        (Some(var), _, _) => Some(SecretSource::Env { key: format!("{base}_env"), var: var.clone() }),
        (None, Some(path), _) => Some(SecretSource::File { key: format!("{base}_file"), path: path.clone() }),
        (None, None, Some(var)) => Some(SecretSource::Env { key: format!("{base}_env"), var: var.to_string() }),
        (None, None, None) => None,
    }
}

/// Checks a `<base>_env` / `<base>_file` pair: at most one, well-formed,
/// and present when `required`.
pub fn check_pair(p: &mut Problems, base: &str, env: &Option<String>, file: &Option<PathBuf>, required: bool) {
    let leaf = base.rsplit('.').next().unwrap_or(base);
    match (env, file) {
        (Some(_), Some(_)) => {
            p.add(format!("{base}_file"), format!("give either {leaf}_env or {leaf}_file, not both"));
        }
        (None, None) if required => p.add(
            format!("{base}_env"),
            format!("missing: name the environment variable ({leaf}_env) or the file ({leaf}_file) that holds it"),
        ),
        _ => {}
    }
    if let Some(var) = env {
        if let Some(message) = bad_env_name(var) {
            p.add(format!("{base}_env"), message);
        }
    }
    if let Some(path) = file {
        if path.as_os_str().is_empty() {
            p.add(format!("{base}_file"), "the path is empty");
        }
    }
}

fn bad_env_name(var: &str) -> Option<String> {
    if var.is_empty() {
        Some("the variable name is empty".into())
    } else if var.contains(['=', '\0']) || var.chars().any(char::is_whitespace) {
        // A value with such characters is most likely the secret itself,
        // pasted where its variable's name belongs: do not echo it.
        Some("this is not an environment variable name (is it the secret itself? name the variable instead)".into())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn env_source(var: &str) -> SecretSource {
        SecretSource::Env { key: "push.token_env".into(), var: var.into() }
    }

    #[test]
    fn env_present_missing_empty() {
        let e = env(&[("TOKEN", "s3cret"), ("EMPTY", "")]);
        assert_eq!(env_source("TOKEN").resolve(&e).unwrap().expose_secret(), "s3cret");

        let missing = env_source("NOPE").resolve(&e).unwrap_err().to_string();
        assert_eq!(missing, "push.token_env: environment variable NOPE is not set");
        assert!(env_source("NOPE").resolve_optional(&e).unwrap().is_none());

        let empty = env_source("EMPTY").resolve(&e).unwrap_err().to_string();
        assert_eq!(empty, "push.token_env: environment variable EMPTY is set but empty");
        assert!(env_source("EMPTY").resolve_optional(&e).is_err());
    }

    #[test]
    fn files_are_read_again_on_demand() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "first\n").unwrap();
        let source = SecretSource::File { key: "web.admin_token_file".into(), path: path.clone() };
        let live = LiveSecret::load(source.clone(), &ProcessEnv).unwrap();
        assert_eq!(live.current().expose_secret(), "first");

        std::fs::write(&path, "second\r\n").unwrap();
        assert!(live.reload(&ProcessEnv).unwrap());
        assert_eq!(live.current().expose_secret(), "second");
        assert!(!live.reload(&ProcessEnv).unwrap());

        std::fs::write(&path, "").unwrap();
        let err = live.reload(&ProcessEnv).unwrap_err().to_string();
        assert!(err.starts_with("web.admin_token_file: file ") && err.ends_with(" is empty"), "{err}");
        assert_eq!(live.current().expose_secret(), "second", "a failed reload keeps the last good value");

        // A value its user cannot take keeps the last good one too, and the
        // error names the key and the file, not the value.
        let shared = live.cell();
        std::fs::write(&path, "third\n").unwrap();
        let refuse = |s: &SecretString| if s.expose_secret().len() < 8 { Err("too short".to_string()) } else { Ok(()) };
        let err = live.reload_checked(&ProcessEnv, refuse).unwrap_err().to_string();
        assert!(err.starts_with("web.admin_token_file: file ") && err.ends_with(": too short"), "{err}");
        assert!(!err.contains("third"), "{err}");
        assert_eq!(shared.current().expose_secret(), "second");
        std::fs::write(&path, "long enough\n").unwrap();
        assert!(live.reload_checked(&ProcessEnv, refuse).unwrap());
        assert_eq!(shared.current().expose_secret(), "long enough", "the cell's users see the reload");

        std::fs::remove_file(&path).unwrap();
        let err = source.resolve(&ProcessEnv).unwrap_err().to_string();
        assert!(err.contains("cannot read file") && err.starts_with("web.admin_token_file"), "{err}");

        std::fs::write(&path, vec![b'x'; MAX_SECRET_FILE_BYTES as usize + 1]).unwrap();
        assert!(source.resolve(&ProcessEnv).unwrap_err().to_string().contains("larger than"));
        std::fs::write(&path, [0xff, 0xfe]).unwrap();
        assert!(source.resolve(&ProcessEnv).unwrap_err().to_string().contains("not valid UTF-8"));
    }

    #[test]
    fn a_relative_file_is_read_from_the_credentials_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("admin_token"), "from systemd\n").unwrap();
        let relative = SecretSource::File { key: "web.admin_token_file".into(), path: "admin_token".into() };
        let credentials = env(&[(CREDENTIALS_DIRECTORY, dir.path().to_str().unwrap())]);
        assert_eq!(relative.resolve(&credentials).unwrap().expose_secret(), "from systemd");

        // An absolute path (one inside the directory too) is read as written.
        let inside = dir.path().join("admin_token");
        let absolute = SecretSource::File { key: "web.admin_token_file".into(), path: inside.clone() };
        assert_eq!(absolute.resolve(&credentials).unwrap().expose_secret(), "from systemd");
        assert_eq!(secret_file_path(&inside, &credentials), inside);

        // A missing credential is an error naming the key and the file read.
        let missing = SecretSource::File { key: "web.site_token_file".into(), path: "site_token".into() };
        let err = missing.resolve(&credentials).unwrap_err().to_string();
        let expected = format!("web.site_token_file: cannot read file {}", dir.path().join("site_token").display());
        assert!(err.starts_with(&expected), "{err}");

        // Without the variable (or with a relative one, which systemd never
        // sets) the path is relative to the working directory, as before.
        for e in [env(&[]), env(&[(CREDENTIALS_DIRECTORY, "relative/dir")])] {
            assert_eq!(secret_file_path(Path::new("admin_token"), &e), Path::new("admin_token"));
        }
    }

    #[test]
    fn resolve_now_hands_out_cells_of_the_current_values() {
        let e = env(&[("KEY", "good value")]);
        let cell = ResolveNow(&e).cell(env_source("KEY"), None).unwrap();
        assert_eq!(cell.current().expose_secret(), "good value");
        let err = ResolveNow(&e).cell(env_source("NOPE"), None).unwrap_err().to_string();
        assert_eq!(err, "push.token_env: environment variable NOPE is not set");
    }

    #[test]
    fn pairs() {
        let some = |s: &str| Some(s.to_string());
        let file = Some(PathBuf::from("/run/secret"));
        assert_eq!(
            pick("web.site_token", &None, &None, Some("AMSYNC_SITE_TOKEN")),
            Some(SecretSource::Env { key: "web.site_token_env".into(), var: "AMSYNC_SITE_TOKEN".into() })
        );
        assert_eq!(
            pick("web.site_token", &None, &file, Some("AMSYNC_SITE_TOKEN")),
            Some(SecretSource::File { key: "web.site_token_file".into(), path: "/run/secret".into() })
        );
        assert_eq!(pick("a.b", &None, &None, None), None);

        let mut p = Problems::default();
        check_pair(&mut p, "ams.auth.value", &some("X"), &file, true);
        check_pair(&mut p, "push.token", &None, &None, true);
        check_pair(&mut p, "scim.token", &some("hunter2 is my password"), &None, false);
        check_pair(&mut p, "scim.next_token", &None, &None, false);
        let keys: Vec<_> = p.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["ams.auth.value_file", "push.token_env", "scim.token_env"]);
        assert!(!p.to_string().contains("hunter2"), "a pasted secret is not echoed");
    }
}
