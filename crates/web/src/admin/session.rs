//! Dashboard sessions: `POST /admin/login` trades the admin token for one.
//!
//! A session id is 256 random bits; the cookie carries it and the table
//! keeps only its SHA-256, so a memory dump does not hand out sessions. The
//! cookie is `HttpOnly`, `SameSite=Strict`, `Path=/` (the dashboard's
//! scripts call the API with it) and, when `web.public_url` is https,
//! `Secure` with the `__Host-` prefix. Each session has its own CSRF token:
//! every dashboard form carries it, and cookie-authenticated API calls that
//! change state send it in `X-CSRF-Token`.
//!
//! A session remembers which admin token opened it as a
//! [`TokenGeneration`] (a number, never the token) and ends at its next
//! request once a secrets reload (SIGHUP) no longer accepts that token: a
//! session opened with the token that stays (the current or the `next_*`
//! one) goes on, one opened with a token that was rotated out does not
//! keep admin rights for the rest of its lifetime.
//!
//! The table lives in memory: a restart signs dashboard users out, which is
//! acceptable for the admin token's sessions (sign-on's store-backed
//! SuperAdmin sessions are the durable kind; the two are to be unified when
//! both are on main).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap, HeaderValue};
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::auth::{TokenGeneration, Tokens};

/// The session cookie's base name.
pub const COOKIE: &str = "amsync_admin";
/// The login form's double-submit cookie (CSRF before any session).
pub const LOGIN_COOKIE: &str = "amsync_admin_login";
/// The header of cookie-authenticated API calls that change state.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Most sessions held at once; the oldest go first beyond it.
const MAX_SESSIONS: usize = 10_000;

/// A signed-in dashboard user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSession {
    /// Who, for the audit log: [`amsync_store::ADMIN_TOKEN_ACTOR`].
    pub actor: String,
    pub csrf: String,
}

#[derive(Debug)]
struct Entry {
    session: AdminSession,
    /// The admin token that opened it.
    opened_by: TokenGeneration,
    created: Instant,
    last_seen: Instant,
}

/// The session table.
#[derive(Debug)]
pub struct AdminSessions {
    entries: Mutex<HashMap<[u8; 32], Entry>>,
    lifetime: Duration,
    idle: Duration,
    secure: bool,
    /// The accepted admin tokens: a session lives while its token is one.
    tokens: Arc<Tokens>,
    /// Wrong admin tokens typed at `/admin/login`, per client address; its
    /// own table, so that guessing here never slows members' sign-ins.
    pub throttle: amsync_sso::Throttle,
}

/// 256 random bits as 64 hex characters.
pub fn random_id() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn digest(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

fn looks_like_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Constant-time comparison of two secrets.
pub fn same_secret(a: &str, b: &str) -> bool {
    !a.is_empty() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

impl AdminSessions {
    pub fn new(lifetime: Duration, idle: Duration, secure: bool, tokens: Arc<Tokens>) -> AdminSessions {
        let throttle = amsync_sso::Throttle::new(crate::auth::token_guess_throttle_settings());
        AdminSessions { entries: Mutex::new(HashMap::new()), lifetime, idle, secure, tokens, throttle }
    }

    /// A cookie's name as sent: `__Host-` prefixed when secure.
    pub fn cookie_name(&self, base: &str) -> String {
        if self.secure {
            format!("__Host-{base}")
        } else {
            base.to_string()
        }
    }

    /// Starts a session opened by the admin token of `opened_by`; returns
    /// it and the `Set-Cookie` value.
    pub fn start(&self, actor: &str, opened_by: TokenGeneration) -> (AdminSession, HeaderValue) {
        let id = random_id();
        let session = AdminSession { actor: actor.to_string(), csrf: random_id() };
        let now = Instant::now();
        let mut entries = self.entries.lock().expect("admin sessions lock");
        entries.retain(|_, e| self.alive(e, now));
        if entries.len() >= MAX_SESSIONS {
            if let Some(oldest) = entries.iter().min_by_key(|(_, e)| e.created).map(|(k, _)| *k) {
                entries.remove(&oldest);
            }
        }
        entries.insert(digest(&id), Entry { session: session.clone(), opened_by, created: now, last_seen: now });
        (session, self.set_cookie(COOKIE, &id, Some(self.lifetime)))
    }

    fn alive(&self, e: &Entry, now: Instant) -> bool {
        now.duration_since(e.created) < self.lifetime
            && now.duration_since(e.last_seen) < self.idle
            && self.tokens.admin_generation_accepted(e.opened_by)
    }

    /// The live session the request's cookie names, touching it.
    pub fn find(&self, headers: &HeaderMap) -> Option<AdminSession> {
        let id = cookie(headers, &self.cookie_name(COOKIE)).filter(|id| looks_like_id(id))?;
        let key = digest(id);
        let now = Instant::now();
        let mut entries = self.entries.lock().expect("admin sessions lock");
        let alive = entries.get(&key).is_some_and(|e| self.alive(e, now));
        if !alive {
            if entries.remove(&key).is_some_and(|e| !self.tokens.admin_generation_accepted(e.opened_by)) {
                tracing::info!("dashboard session ended: the admin token it was opened with is no longer accepted");
            }
            return None;
        }
        let e = entries.get_mut(&key)?;
        e.last_seen = now;
        Some(e.session.clone())
    }

    /// Ends the request's session, if any.
    pub fn end(&self, headers: &HeaderMap) {
        if let Some(id) = cookie(headers, &self.cookie_name(COOKIE)) {
            self.entries.lock().expect("admin sessions lock").remove(&digest(id));
        }
    }

    /// A `Set-Cookie` value (`max_age = None`: until the browser closes).
    pub fn set_cookie(&self, base: &str, value: &str, max_age: Option<Duration>) -> HeaderValue {
        let mut s = format!("{}={value}; Path=/; HttpOnly; SameSite=Strict", self.cookie_name(base));
        if let Some(age) = max_age {
            s.push_str(&format!("; Max-Age={}", age.as_secs()));
        }
        if self.secure {
            s.push_str("; Secure");
        }
        HeaderValue::from_str(&s).expect("cookie names and values are ASCII")
    }

    /// A `Set-Cookie` value that removes a cookie.
    pub fn clear_cookie(&self, base: &str) -> HeaderValue {
        self.set_cookie(base, "", Some(Duration::ZERO))
    }

    /// The value of one of our cookies in the request.
    pub fn cookie<'a>(&self, headers: &'a HeaderMap, base: &str) -> Option<&'a str> {
        cookie(headers, &self.cookie_name(base))
    }
}

/// The value of cookie `name` (the first one), from every `Cookie` header.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::TokenSet;
    use secrecy::SecretString;

    fn tokens(admin: &[&str]) -> Arc<Tokens> {
        Arc::new(Tokens::new(admin.iter().map(|t| SecretString::from(*t)).collect(), vec![]))
    }

    fn table(idle: Duration, secure: bool) -> (AdminSessions, Arc<Tokens>) {
        let t = tokens(&["admin"]);
        (AdminSessions::new(Duration::from_secs(60), idle, secure, t.clone()), t)
    }

    /// Starts a session as `/admin/login` does with `token`.
    fn sign_in(s: &AdminSessions, t: &Tokens, token: &str) -> HeaderMap {
        let (_, set) = s.start("admin token", t.admin_generation(token).expect("an accepted token"));
        headers_with(&set)
    }

    fn headers_with(cookie_value: &HeaderValue) -> HeaderMap {
        let pair = cookie_value.to_str().unwrap().split(';').next().unwrap().to_string();
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_str(&format!("other=1; {pair}")).unwrap());
        h
    }

    #[test]
    fn a_session_is_found_from_its_cookie_and_ends() {
        let (s, t) = table(Duration::from_secs(60), false);
        let (session, set) = s.start("admin token", t.admin_generation("admin").unwrap());
        let text = set.to_str().unwrap();
        assert!(text.starts_with("amsync_admin="), "{text}");
        assert!(text.contains("HttpOnly") && text.contains("SameSite=Strict") && !text.contains("Secure"));
        let h = headers_with(&set);
        assert_eq!(s.find(&h), Some(session.clone()));
        assert_eq!(session.csrf.len(), 64);
        s.end(&h);
        assert_eq!(s.find(&h), None);
    }

    #[test]
    fn unknown_malformed_and_expired_ids_find_nothing() {
        let (s, t) = table(Duration::from_millis(1), false);
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("amsync_admin=nothex"));
        assert_eq!(s.find(&h), None);
        h.insert(header::COOKIE, HeaderValue::from_str(&format!("amsync_admin={}", random_id())).unwrap());
        assert_eq!(s.find(&h), None);
        let h = sign_in(&s, &t, "admin");
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(s.find(&h), None, "idle past the timeout");
    }

    #[test]
    fn secure_cookies_are_host_prefixed() {
        let (s, t) = table(Duration::from_secs(60), true);
        let (_, set) = s.start("admin token", t.admin_generation("admin").unwrap());
        let text = set.to_str().unwrap();
        assert!(text.starts_with("__Host-amsync_admin=") && text.ends_with("; Secure"), "{text}");
        assert!(s.find(&headers_with(&set)).is_some());
    }

    #[test]
    fn a_session_ends_when_the_token_that_opened_it_is_no_longer_accepted() {
        let t = tokens(&["old", "next"]);
        let s = AdminSessions::new(Duration::from_secs(60), Duration::from_secs(60), false, t.clone());
        let set =
            |admin: &[&str]| TokenSet { admin: admin.iter().map(|v| SecretString::from(*v)).collect(), site: vec![] };
        let (by_old, by_next) = (sign_in(&s, &t, "old"), sign_in(&s, &t, "next"));
        let untouched_by_old = sign_in(&s, &t, "old");
        // The rotation's second step: `next` becomes the token, a newer one is next.
        t.replace(set(&["next", "newer"]));
        assert_eq!(s.find(&by_old), None, "opened with a token no longer accepted");
        assert!(s.find(&by_next).is_some(), "opened with a token still accepted (now the current one)");
        let by_newer = sign_in(&s, &t, "newer");
        // A reload that changes nothing keeps every session.
        t.replace(set(&["next", "newer"]));
        assert!(s.find(&by_next).is_some() && s.find(&by_newer).is_some());
        // `old` accepted again is a new generation: a session it opened
        // before, not seen since, does not come back.
        t.replace(set(&["old", "next"]));
        assert_eq!(s.find(&untouched_by_old), None);
        assert_eq!(s.find(&by_newer), None);
        assert!(s.find(&by_next).is_some());
        assert!(s.find(&sign_in(&s, &t, "old")).is_some(), "a fresh sign-in with it works");
    }

    #[test]
    fn secrets_compare_whole_and_never_empty() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("", ""));
    }
}
