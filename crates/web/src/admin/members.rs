//! `GET /admin/members?q=`: member search; `GET /admin/members/{key}`: one
//! member — details, memberships (current, future, past), security groups
//! and why IsMember holds, the access summary, the last refresh and its
//! failure, and the change history field by field (before → after) with
//! the trigger of each change.

use amsync_core::access::{access_summary, explain_is_member};
use amsync_core::community::Term;
use amsync_core::record::effective_groups;
use amsync_store::MemberQuery;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use minijinja::context;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::{Dashboard, PageError};
use crate::api::member_doc::GroupContext;
use crate::state::AppState;

const SEARCH_PAGE: usize = 50;
const HISTORY_PAGE: usize = 50;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Key, names or e-mail.
    q: Option<String>,
    /// A community key.
    community: Option<String>,
    /// A security group key.
    group: Option<String>,
    /// The next page's cursor.
    cursor: Option<String>,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// Member search.
#[utoipa::path(get, path = "/admin/members", operation_id = "dashboard_members", tag = "dashboard", params(SearchQuery), responses((status = 200, description = "The page", content_type = "text/html"), (status = 303, description = "Not signed in: to the sign-in form")))]
pub async fn search(
    d: Dashboard,
    State(state): State<AppState>,
    Query(q): Query<SearchQuery>,
) -> Result<Html<String>, PageError> {
    let query = MemberQuery {
        q: non_empty(q.q),
        community: non_empty(q.community),
        current_on: None,
        group: non_empty(q.group),
        limit: SEARCH_PAGE,
        cursor: non_empty(q.cursor),
    };
    let page = state.store.search_members(&query).await?;
    let total = state.store.member_count().await?;
    let ctx = context! {
        members => page.items,
        next_cursor => page.next_cursor,
        q => query.q,
        community => query.community,
        group => query.group,
        total => total,
    };
    super::page(&state, &d, "members.html", "members", "Members", ctx).await
}

/// A value as a person reads it: text as it is, nothing as empty, anything
/// else as compact JSON.
pub fn value_text(v: &Json) -> String {
    match v {
        Json::Null => String::new(),
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Lines a person reads for a detail field: an address on one line, one
/// line per phone, social link or demographic answer; other values as text.
pub fn detail_lines(field: &str, v: &Json) -> Vec<String> {
    let text = |v: &Json, k: &str| v.get(k).map(value_text).unwrap_or_default();
    let joined =
        |parts: Vec<String>, sep: &str| parts.into_iter().filter(|p| !p.is_empty()).collect::<Vec<_>>().join(sep);
    let items = || v.as_array().cloned().unwrap_or_default();
    match field {
        "address" if v.is_object() => {
            let city = joined(vec![text(v, "postal_code"), text(v, "city")], " ");
            let line = ["line1", "line2", "line3"].iter().map(|k| text(v, k)).collect::<Vec<_>>();
            vec![joined([line, vec![city, text(v, "state"), text(v, "country_code")]].concat(), ", ")]
        }
        "phones" => items()
            .iter()
            .map(|p| match text(p, "type") {
                t if t.is_empty() => text(p, "number"),
                t => format!("{} ({t})", text(p, "number")),
            })
            .collect(),
        "social" => items().iter().map(|s| format!("{}: {}", text(s, "network"), text(s, "url"))).collect(),
        "demographics" => items().iter().map(|d| format!("{}: {}", text(d, "name"), text(d, "value"))).collect(),
        _ => vec![value_text(v)],
    }
}

/// A history value: the field's name is the path's first segment.
fn change_text(path: &str, v: &Json) -> String {
    let field = path.trim_start_matches('/');
    if field.contains('/') {
        value_text(v)
    } else {
        detail_lines(field, v).join("; ")
    }
}

#[derive(Debug, Serialize)]
struct Field {
    name: String,
    lines: Vec<String>,
}

#[derive(Debug, Serialize)]
struct MembershipRow {
    community: String,
    name: Option<String>,
    community_type: Option<String>,
    begin: String,
    end: Option<String>,
    role: Option<String>,
    term: &'static str,
}

#[derive(Debug, Serialize)]
struct ChangeRow {
    field: String,
    before: String,
    after: String,
}

#[derive(Debug, Serialize)]
struct HistoryRow {
    id: i64,
    at: chrono::DateTime<chrono::Utc>,
    trigger: &'static str,
    kind: &'static str,
    run_id: Option<i64>,
    changes: Vec<ChangeRow>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberQueryParams {
    /// History entries older than this id.
    before: Option<i64>,
}

/// One member: details, memberships, groups and why, access summary, history.
#[utoipa::path(get, path = "/admin/members/{key}", operation_id = "dashboard_member", tag = "dashboard",
    params(("key" = String, Path, description = "The member key"), MemberQueryParams),
    responses((status = 200, description = "The page", content_type = "text/html"), (status = 303, description = "Not signed in: to the sign-in form"), (status = 404, description = "Unknown member")))]
pub async fn one(
    d: Dashboard,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    Query(q): Query<MemberQueryParams>,
) -> Result<Html<String>, PageError> {
    let key =
        amsync_core::MemberKey::parse(raw.as_str()).map_err(|e| PageError::BadRequest(format!("member key: {e}")))?;
    let member = state
        .store
        .get_member(&key)
        .await?
        .ok_or_else(|| PageError::NotFound(format!("No member {key} is known here.")))?;
    let groups = state.store.security_groups().await?;
    let context_groups = GroupContext::from_groups(&groups);
    let is_member_groups: Vec<_> = groups.iter().filter(|g| g.is_member).map(|g| g.key.clone()).collect();
    let today = state.today();
    let r = &member.record;

    let details: Vec<Field> = match serde_json::to_value(&r.details) {
        Ok(Json::Object(map)) => map
            .into_iter()
            .filter(|(k, v)| k != "key" && !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()))
            .map(|(name, v)| Field { lines: detail_lines(&name, &v), name })
            .collect(),
        _ => Vec::new(),
    };
    let mut memberships: Vec<MembershipRow> = r
        .memberships
        .iter()
        .map(|m| MembershipRow {
            community: m.community.key.to_string(),
            name: m.community.name.clone(),
            community_type: m.community.community_type.clone(),
            begin: m.begin.to_string(),
            end: m.end.map(|e| e.to_string()),
            role: m.role.clone(),
            term: match m.term(today) {
                Term::Current => "current",
                Term::Future => "future",
                Term::Past => "past",
            },
        })
        .collect();
    let rank = |t: &str| match t {
        "current" => 0,
        "future" => 1,
        _ => 2,
    };
    memberships.sort_by(|a, b| rank(a.term).cmp(&rank(b.term)).then(a.community.cmp(&b.community)));

    let effective = effective_groups(r, &context_groups.is_member, |k| context_groups.names.get(k).cloned().flatten());
    let summary: Vec<String> = access_summary(r, today).iter().map(ToString::to_string).collect();
    let held = state.store.open_held_changes(&key).await?;
    let entries = state.store.member_history(&key, HISTORY_PAGE, q.before).await?;
    let next_before = if entries.len() == HISTORY_PAGE { entries.last().map(|e| e.id) } else { None };
    let history: Vec<HistoryRow> = entries
        .into_iter()
        .map(|e| HistoryRow {
            id: e.id,
            at: e.at,
            trigger: e.trigger.as_str(),
            kind: e.kind.as_str(),
            run_id: e.run_id,
            changes: e
                .fields
                .iter()
                .map(|f| ChangeRow {
                    field: f.field.clone(),
                    before: change_text(&f.field, &f.before),
                    after: change_text(&f.field, &f.after),
                })
                .collect(),
        })
        .collect();
    let display_name = [r.details.first_name.as_deref(), r.details.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let ctx = context! {
        key => key.as_str(),
        display_name => display_name,
        status => r.status.as_str(),
        ams_status => r.details.status.as_str(),
        disabled_reason => r.disabled_reason.map(|x| x.as_str()),
        merged_into => r.merged_into.as_ref().map(|k| k.as_str()),
        details => details,
        memberships => memberships,
        effective_groups => effective,
        ams_groups => r.ams_groups,
        local_groups => r.local_groups,
        is_member_reason => explain_is_member(r, &is_member_groups),
        access_summary => summary,
        last_refreshed_at => member.last_refreshed_at,
        last_trigger => member.last_trigger.map(|t| t.as_str()),
        last_error => member.last_error,
        last_error_at => member.last_error_at,
        created_at => member.created_at,
        updated_at => member.updated_at,
        history => history,
        next_before => next_before,
        held => held,
    };
    super::page(&state, &d, "member.html", "members", &format!("Member {key}"), ctx).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_as_text() {
        assert_eq!(value_text(&Json::Null), "");
        assert_eq!(value_text(&serde_json::json!("Ada")), "Ada");
        assert_eq!(value_text(&serde_json::json!({"city": "Bern"})), "{\"city\":\"Bern\"}");
        assert_eq!(value_text(&serde_json::json!(3)), "3");
    }

    #[test]
    fn details_read_as_lines() {
        let address = serde_json::json!({"line1": "Am Weinberg 106", "line2": null, "city": "Berlin",
            "postal_code": "10169", "state": "Berlin", "country_code": "DE"});
        assert_eq!(detail_lines("address", &address), ["Am Weinberg 106, 10169 Berlin, Berlin, DE"]);
        let phones = serde_json::json!([{"number": "+49 1", "type": "Mobile"}, {"number": "+49 2", "type": null}]);
        assert_eq!(detail_lines("phones", &phones), ["+49 1 (Mobile)", "+49 2"]);
        assert_eq!(change_text("/phones", &phones), "+49 1 (Mobile); +49 2");
        assert_eq!(change_text("/address/city", &serde_json::json!("Bern")), "Bern");
        let social = serde_json::json!([{"network": "github", "url": "https://github.com/x"}]);
        assert_eq!(detail_lines("social", &social), ["github: https://github.com/x"]);
    }
}
