//! Static files of the dashboard, embedded in the binary: served by
//! amsync itself so the dashboard works offline and behind strict proxies.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// (name, content type, body).
const ASSETS: &[(&str, &str, &str)] = &[
    ("app.css", "text/css; charset=utf-8", include_str!("../../assets/app.css")),
    ("app.js", "text/javascript; charset=utf-8", include_str!("../../assets/app.js")),
    ("favicon.svg", "image/svg+xml", include_str!("../../assets/favicon.svg")),
];

/// The dashboard's CSS, script and icon.
#[utoipa::path(get, path = "/admin/assets/{file}", operation_id = "dashboard_asset", tag = "dashboard", security(()),
    params(("file" = String, Path, description = "`app.css`, `app.js` or `favicon.svg`")),
    responses((status = 200, description = "The file"), (status = 404, description = "No such file")))]
pub async fn serve(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, body)) => (
            StatusCode::OK,
            // Short caching: a new version's assets are picked up within minutes.
            [(header::CONTENT_TYPE, *content_type), (header::CACHE_CONTROL, "public, max-age=300")],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}
