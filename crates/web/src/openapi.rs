//! The OpenAPI 3 document at `/api/v1/openapi.json`, generated from the
//! code: every route is registered with its `#[utoipa::path]`
//! documentation through `utoipa_axum`'s router (see `crate::routes`), so
//! a route cannot be served without being described.

use std::sync::OnceLock;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi, SecurityRequirement};
use utoipa::Modify;

/// Security schemes: the admin and site bearer tokens, and the dashboard's
/// session cookie (with `X-CSRF-Token` on state-changing calls).
struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        let bearer = |what: &str| {
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some(what)).build())
        };
        components.add_security_scheme("admin_token", bearer("The admin token: everything."));
        components.add_security_scheme(
            "site_token",
            bearer("The site token: reads members, communities, events, access decisions; introspects sessions."),
        );
        components.add_security_scheme(
            "dashboard_session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "amsync_admin",
                "A dashboard session (`__Host-amsync_admin` over https); state-changing calls also send X-CSRF-Token.",
            ))),
        );
        doc.security = Some(vec![
            SecurityRequirement::new("admin_token", Vec::<String>::new()),
            SecurityRequirement::new("dashboard_session", Vec::<String>::new()),
        ]);
    }
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "amsync",
        description = "Keeps a member community in step with the association's AMS: sync details, members, \
                       access decisions, sign-on. Errors are `{\"error\": {\"code\", \"message\"}}`.",
        license(name = "Apache-2.0")
    ),
    modifiers(&Security),
    tags(
        (name = "health", description = "Liveness, readiness, metrics, this document"),
        (name = "sync", description = "Sync status, runs, pause and resume"),
        (name = "queue", description = "The Refresh Queue"),
        (name = "refresh", description = "Refreshing members"),
        (name = "members", description = "Members and their history"),
        (name = "events", description = "The calendar"),
        (name = "audit", description = "The audit log of admin actions"),
        (name = "safety", description = "Changes held by the deletion and removal thresholds, and their approval"),
        (name = "communities", description = "Communities, their members, grants and the community rules"),
        (name = "security-groups", description = "Security groups, IsMember designations, local groups and their members"),
        (name = "access", description = "Access decisions and content items"),
        (name = "changes", description = "The change feed the community site follows"),
        (name = "data-protection", description = "A member's export and erase, and the tombstones erases leave"),
        (name = "dashboard", description = "The sync details dashboard (HTML)"),
        (name = "sign-on", description = "Members signing in: browser round trips, sessions, mobile tokens, introspection")
    )
)]
pub struct ApiDoc;

/// How every route that takes the admin or site token describes the 401
/// of a missing or unknown one.
const UNKNOWN_TOKEN: &str = "No or unknown token or session";

/// Adds the 429 of a throttled wrong bearer token
/// ([`crate::auth::WrongTokenThrottle`]) to every operation that documents
/// the 401 of an unknown token: said once here rather than on 40 routes.
pub(crate) fn document_wrong_token_throttle(doc: &mut OpenApi) {
    use utoipa::openapi::{RefOr, Response};
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
            &mut item.head,
            &mut item.options,
            &mut item.trace,
        ];
        for op in operations.into_iter().flatten() {
            let responses = &mut op.responses.responses;
            let unknown_token = matches!(responses.get("401"), Some(RefOr::T(r)) if r.description == UNKNOWN_TOKEN);
            if unknown_token && !responses.contains_key("429") {
                let throttled = Response::new(
                    "Too many wrong bearer tokens from this address (a correct token is never refused so): \
                     try again after `Retry-After` seconds",
                );
                responses.insert("429".into(), RefOr::T(throttled));
            }
        }
    }
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", operation_id = "openapi", tag = "health", security(()),
    responses((status = 200, description = "The OpenAPI 3 document", content_type = "application/json")))]
pub async fn serve() -> Response {
    static JSON: OnceLock<String> = OnceLock::new();
    let body = JSON.get_or_init(|| crate::openapi().to_pretty_json().unwrap_or_else(|_| "{}".to_string()));
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body.as_str()).into_response()
}
