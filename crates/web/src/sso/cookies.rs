//! The cookies of sign-on, read and written by hand (a few lines; no extra
//! crate).
//!
//! Every cookie is `HttpOnly`, `SameSite=Lax` and `Path=/`; over https it is
//! also `Secure` and named with the `__Host-` prefix, which browsers only
//! accept from a secure origin, for the whole host, without a `Domain`, so a
//! sibling subdomain cannot plant one.

use std::time::Duration;

use axum::http::{header, HeaderMap, HeaderValue};

/// The session cookie.
pub const SESSION: &str = "amsync_session";
/// The SSO round trip's state (session-variable and OIDC).
pub const SSO_STATE: &str = "amsync_sso_state";
/// The login form's CSRF value (credentials mode, before any session).
pub const LOGIN_CSRF: &str = "amsync_login_csrf";

/// A cookie's name as sent: `__Host-` prefixed when secure.
pub fn name(base: &str, secure: bool) -> String {
    if secure {
        format!("__Host-{base}")
    } else {
        base.to_string()
    }
}

/// The value of cookie `name` in the request, if any (the first one).
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

/// A `Set-Cookie` value. `max_age = None` makes a browser-session cookie.
pub fn set(name: &str, value: &str, max_age: Option<Duration>, secure: bool) -> HeaderValue {
    let mut s = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        s.push_str(&format!("; Max-Age={}", age.as_secs()));
    }
    if secure {
        s.push_str("; Secure");
    }
    HeaderValue::from_str(&s).expect("cookie names and values are URL-safe ASCII")
}

/// A `Set-Cookie` value that removes the cookie.
pub fn clear(name: &str, secure: bool) -> HeaderValue {
    let mut s = format!("{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    if secure {
        s.push_str("; Secure");
    }
    HeaderValue::from_str(&s).expect("cookie names are ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_from_every_cookie_header() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; amsync_session=xyz"));
        h.append(header::COOKIE, HeaderValue::from_static("b=\"2\""));
        assert_eq!(get(&h, "amsync_session"), Some("xyz"));
        assert_eq!(get(&h, "b"), Some("2"));
        assert_eq!(get(&h, "amsync"), None);
    }

    #[test]
    fn secure_cookies_get_the_host_prefix_and_flag() {
        assert_eq!(name(SESSION, true), "__Host-amsync_session");
        let v = set("__Host-x", "v", Some(Duration::from_secs(60)), true);
        assert_eq!(v.to_str().unwrap(), "__Host-x=v; Path=/; HttpOnly; SameSite=Lax; Max-Age=60; Secure");
        assert!(!clear("x", false).to_str().unwrap().contains("Secure"));
    }
}
