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
//! The table lives in memory: a restart signs dashboard users out, which is
//! acceptable for the admin token's sessions (sign-on's store-backed
//! SuperAdmin sessions are the durable kind; the two are to be unified when
//! both are on main).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap, HeaderValue};
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

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
    pub fn new(lifetime: Duration, idle: Duration, secure: bool) -> AdminSessions {
        // Few admins, one token each: 10 wrong tokens per address within
        // 15 minutes, then delays doubling from 1 s.
        let throttle = amsync_sso::Throttle::new(amsync_sso::ThrottleSettings {
            per_account_and_address: 10,
            per_address: 10,
            ..amsync_sso::ThrottleSettings::default()
        });
        AdminSessions { entries: Mutex::new(HashMap::new()), lifetime, idle, secure, throttle }
    }

    /// A cookie's name as sent: `__Host-` prefixed when secure.
    pub fn cookie_name(&self, base: &str) -> String {
        if self.secure {
            format!("__Host-{base}")
        } else {
            base.to_string()
        }
    }

    /// Starts a session; returns it and the `Set-Cookie` value.
    pub fn start(&self, actor: &str) -> (AdminSession, HeaderValue) {
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
        entries.insert(digest(&id), Entry { session: session.clone(), created: now, last_seen: now });
        (session, self.set_cookie(COOKIE, &id, Some(self.lifetime)))
    }

    fn alive(&self, e: &Entry, now: Instant) -> bool {
        now.duration_since(e.created) < self.lifetime && now.duration_since(e.last_seen) < self.idle
    }

    /// The live session the request's cookie names, touching it.
    pub fn find(&self, headers: &HeaderMap) -> Option<AdminSession> {
        let id = cookie(headers, &self.cookie_name(COOKIE)).filter(|id| looks_like_id(id))?;
        let key = digest(id);
        let now = Instant::now();
        let mut entries = self.entries.lock().expect("admin sessions lock");
        let alive = entries.get(&key).is_some_and(|e| self.alive(e, now));
        if !alive {
            entries.remove(&key);
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

    fn headers_with(cookie_value: &HeaderValue) -> HeaderMap {
        let pair = cookie_value.to_str().unwrap().split(';').next().unwrap().to_string();
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_str(&format!("other=1; {pair}")).unwrap());
        h
    }

    #[test]
    fn a_session_is_found_from_its_cookie_and_ends() {
        let s = AdminSessions::new(Duration::from_secs(60), Duration::from_secs(60), false);
        let (session, set) = s.start("admin token");
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
        let s = AdminSessions::new(Duration::from_secs(60), Duration::from_millis(1), false);
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("amsync_admin=nothex"));
        assert_eq!(s.find(&h), None);
        h.insert(header::COOKIE, HeaderValue::from_str(&format!("amsync_admin={}", random_id())).unwrap());
        assert_eq!(s.find(&h), None);
        let (_, set) = s.start("admin token");
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(s.find(&headers_with(&set)), None, "idle past the timeout");
    }

    #[test]
    fn secure_cookies_are_host_prefixed() {
        let s = AdminSessions::new(Duration::from_secs(60), Duration::from_secs(60), true);
        let (_, set) = s.start("admin token");
        let text = set.to_str().unwrap();
        assert!(text.starts_with("__Host-amsync_admin=") && text.ends_with("; Secure"), "{text}");
        assert!(s.find(&headers_with(&set)).is_some());
    }

    #[test]
    fn secrets_compare_whole_and_never_empty() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("", ""));
    }
}
