//! A dashboard user over plain HTTP: signs in at `/admin/login` with the
//! admin token, keeps the session cookie and the CSRF token, and follows
//! no redirect by itself (tests look at them).

#![allow(dead_code)]

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;

use crate::helpers::{TestApp, ADMIN_TOKEN};

pub struct AdminClient {
    pub base: String,
    pub http: reqwest::Client,
    /// `amsync_admin=…`.
    pub cookie: String,
    pub csrf: String,
}

/// An HTTP client that does not follow redirects.
pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The `name=value` pair of cookie `name` among a response's `Set-Cookie`
/// headers, and the whole header.
pub fn set_cookie(resp: &reqwest::Response, name: &str) -> Option<(String, String)> {
    resp.headers().get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|full| {
        let pair = full.split(';').next()?.trim();
        let (k, _) = pair.split_once('=')?;
        (k == name).then(|| (pair.to_string(), full.to_string()))
    })
}

/// The value of `<input name="{name}" value="…">` or `<meta name="{name}" content="…">`.
pub fn html_value(html: &str, name: &str) -> Option<String> {
    [format!("name=\"{name}\" value=\""), format!("name=\"{name}\" content=\"")].iter().find_map(|needle| {
        let i = html.find(needle.as_str())?;
        html[i + needle.len()..].split('"').next().map(str::to_string)
    })
}

impl AdminClient {
    /// Signs in with the admin token.
    pub async fn sign_in(app: &TestApp) -> AdminClient {
        AdminClient::sign_in_with(app, ADMIN_TOKEN).await.expect("the admin token signs in")
    }

    /// Signs in with `token`; `Err(status)` when refused.
    pub async fn sign_in_with(app: &TestApp, token: &str) -> Result<AdminClient, StatusCode> {
        AdminClient::sign_in_at(&app.base, token).await
    }

    /// Signs in to the dashboard at `base` (a child process's) with `token`.
    pub async fn sign_in_at(base: &str, token: &str) -> Result<AdminClient, StatusCode> {
        let http = no_redirects();
        let form = http.get(format!("{base}/admin/login?next=/admin")).send().await.unwrap();
        assert_eq!(form.status(), StatusCode::OK);
        let (login_cookie, _) = set_cookie(&form, "amsync_admin_login").expect("the login form sets its cookie");
        let html = form.text().await.unwrap();
        let login_csrf = html_value(&html, "csrf").expect("the login form carries its token");
        let resp = http
            .post(format!("{base}/admin/login"))
            .header(COOKIE, &login_cookie)
            .form(&[("token", token), ("csrf", login_csrf.as_str()), ("next", "/admin")])
            .send()
            .await
            .unwrap();
        if resp.status() != StatusCode::SEE_OTHER {
            return Err(resp.status());
        }
        assert_eq!(resp.headers()[LOCATION], "/admin");
        let (cookie, full) = set_cookie(&resp, "amsync_admin").expect("a session cookie");
        assert!(full.contains("HttpOnly") && full.contains("SameSite=Strict"), "{full}");
        let mut me = AdminClient { base: base.to_string(), http, cookie, csrf: String::new() };
        let (status, html) = me.get_html("/admin").await;
        assert_eq!(status, StatusCode::OK, "{html}");
        me.csrf = html_value(&html, "csrf-token").expect("pages carry the CSRF token");
        Ok(me)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(format!("{}{path}", self.base)).header(COOKIE, &self.cookie).send().await.unwrap()
    }

    pub async fn get_html(&self, path: &str) -> (StatusCode, String) {
        let r = self.get(path).await;
        (r.status(), r.text().await.unwrap())
    }

    /// Posts a dashboard form with the session's CSRF token added.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut all: Vec<(&str, &str)> = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// Posts a form as given (no CSRF token added).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.http.post(format!("{}{path}", self.base)).header(COOKIE, &self.cookie).form(fields).send().await.unwrap()
    }
}
