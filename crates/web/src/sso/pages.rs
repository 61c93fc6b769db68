//! The few HTML pages of sign-on, rendered on the server: self-contained
//! (no CDN, no script), every value escaped.

use axum::response::Html;

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#222}\
h1{font-size:1.4rem}label{display:block;margin:.8rem 0 .2rem}input[type=text],input[type=password]{width:100%;padding:.5rem;box-sizing:border-box}\
button{margin-top:1rem;padding:.5rem 1.2rem}.error{color:#a00;background:#fee;padding:.6rem;border-radius:4px}\
code{background:#f4f4f4;padding:0 .2rem}ul{padding-left:1.2rem}";

/// A whole page around `body` (already HTML).
pub fn layout(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <link rel=\"icon\" href=\"/admin/assets/favicon.svg\" type=\"image/svg+xml\">\
         <title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>",
        escape(title)
    ))
}

/// The credentials sign-in form.
pub fn login_form(csrf: &str, return_url: &str, username: &str, error: Option<&str>) -> Html<String> {
    let error = error.map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e))).unwrap_or_default();
    layout(
        "Sign in",
        &format!(
            "<h1>Sign in</h1>{error}<form method=\"post\" action=\"/login\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <input type=\"hidden\" name=\"ReturnUrl\" value=\"{}\">\
             <label for=\"username\">Username</label>\
             <input type=\"text\" id=\"username\" name=\"username\" value=\"{}\" autocomplete=\"username\" required autofocus>\
             <label for=\"password\">Password</label>\
             <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
             <button type=\"submit\">Sign in</button></form>",
            escape(csrf),
            escape(return_url),
            escape(username),
        ),
    )
}

/// A refused sign-in, with a way to start again.
pub fn refusal(message: &str) -> Html<String> {
    layout(
        "Sign-in problem",
        &format!(
            "<h1>Sign-in problem</h1><p class=\"error\" role=\"alert\">{}</p><p><a href=\"/login\">Sign in again</a></p>",
            escape(message)
        ),
    )
}

/// `GET /me` for a browser.
pub fn me(member: Option<(&str, &str)>, groups: &[String], csrf: Option<&str>) -> Html<String> {
    let list: String = groups.iter().map(|g| format!("<li><code>{}</code></li>", escape(g))).collect();
    let body = match (member, csrf) {
        (Some((key, name)), Some(csrf)) => format!(
            "<h1>Signed in</h1><p>{} (<code>{}</code>)</p><h2>Security groups</h2><ul id=\"groups\">{list}</ul>\
             <form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <button type=\"submit\">Sign out</button></form>",
            escape(name),
            escape(key),
            escape(csrf)
        ),
        (Some((key, name)), None) => format!(
            "<h1>Signed in</h1><p>{} (<code>{}</code>)</p><h2>Security groups</h2><ul id=\"groups\">{list}</ul>",
            escape(name),
            escape(key)
        ),
        (None, _) => format!(
            "<h1>Not signed in</h1><h2>Security groups</h2><ul id=\"groups\">{list}</ul><p><a href=\"/login\">Sign in</a></p>"
        ),
    };
    layout("Me", &body)
}

/// After signing out, when there is nowhere else to go.
pub fn signed_out() -> Html<String> {
    layout("Signed out", "<h1>Signed out</h1><p><a href=\"/login\">Sign in again</a></p>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        assert_eq!(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
        let page = login_form("c", "/x\"><script>", "<b>", Some("<i>")).0;
        assert!(!page.contains("<script>"));
        assert!(!page.contains("<b>"));
        assert!(!page.contains("<i>"));
    }
}
