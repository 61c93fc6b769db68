//! Prometheus metrics: the process-wide recorder, `GET /metrics`, the
//! gauges read at scrape time, and the HTTP request metrics.
//!
//! The recorder is installed once per process ([`install`]); every crate
//! emits through the `metrics` facade. Counters and histograms are updated
//! where the work happens; state that lives in the database (queue depth,
//! watermark age, the paused state) is read when Prometheus scrapes, so it
//! is never stale and costs nothing between scrapes.
//!
//! Exported (see docs/observability.md for their meaning and example alerts):
//! - `amsync_refreshes_total{outcome,trigger}`, `amsync_polls_total{listing,outcome}`,
//!   `amsync_runs_resumed_total{kind}`,
//!   `amsync_source_pauses_total`, `amsync_quarantines_total` (the sync engine);
//! - `amsync_ams_calls_total{method,outcome}`, `amsync_ams_call_seconds{method}`
//!   (the AMS client), `amsync_ams_reachable` (the engine's probe);
//! - `amsync_queue_entries{state}`, `amsync_queue_oldest_waiting_seconds`,
//!   `amsync_watermark_age_seconds{watermark}`,
//!   `amsync_periodic_refresh_age_seconds`, `amsync_source_paused`,
//!   `amsync_source_quarantined`, `amsync_members`,
//!   `amsync_approvals_pending`, `amsync_threshold_disables_in_window`,
//!   `amsync_threshold_membership_removals_in_window` (scrape time);
//! - `amsync_http_requests_total{method,route,status}`,
//!   `amsync_http_request_seconds{route}` (every request);
//! - `amsync_logins_total{kind,outcome}` (sign-in outcomes: `admin_token`
//!   for the dashboard; `credentials`, `session-variable`, `oidc` and
//!   `mobile` for members, `ok` or the refusal's reason code);
//! - `amsync_build_info{version}`.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use amsync_core::Trigger;
use amsync_store::{RunFilter, RunOutcome, WATERMARK_EVENTS, WATERMARK_MEMBERS};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

/// Upper bounds of the latency histograms, in seconds.
const SECONDS_BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder for this process (once; later calls
/// return the same handle). Call it before the engine starts so no early
/// update is lost. If another recorder was installed first (a test's), the
/// handle renders only what reaches it: nothing, rather than failing.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &SECONDS_BUCKETS)
                .expect("the buckets are not empty");
            match builder.install_recorder() {
                Ok(handle) => {
                    describe();
                    spawn_upkeep(handle.clone());
                    handle
                }
                Err(e) => {
                    tracing::warn!(error = %e, "another metrics recorder is installed; /metrics will be empty");
                    PrometheusBuilder::new().build_recorder().handle()
                }
            }
        })
        .clone()
}

/// Drains histogram samples into their buckets now and then, so memory
/// stays bounded even when nobody scrapes.
fn spawn_upkeep(handle: PrometheusHandle) {
    let spawned = std::thread::Builder::new().name("metrics-upkeep".into()).spawn(move || loop {
        std::thread::sleep(Duration::from_secs(5));
        handle.run_upkeep();
    });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the metrics upkeep thread; histograms are drained at scrape time only");
    }
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!("amsync_refreshes_total", "Member refreshes finished, by outcome and trigger.");
    describe_counter!("amsync_polls_total", "Listings of the AMS (members or events), by outcome.");
    describe_counter!(
        "amsync_runs_resumed_total",
        "Runs taken over from a process that stopped renewing its lease, by kind."
    );
    describe_counter!(
        "amsync_source_pauses_total",
        "Times the source was paused (admin, bad credentials, quarantine)."
    );
    describe_counter!("amsync_ams_calls_total", "AMS calls ended, by contract method and outcome.");
    describe_histogram!("amsync_ams_call_seconds", Unit::Seconds, "Time per AMS call, waiting for a slot included.");
    describe_gauge!("amsync_ams_reachable", "1 when the AMS answered its last probe, 0 when it did not.");
    describe_gauge!("amsync_queue_entries", "Refresh Queue entries by state.");
    describe_gauge!("amsync_queue_oldest_waiting_seconds", "Age of the oldest waiting (queued or retrying) entry.");
    describe_gauge!("amsync_watermark_age_seconds", "Age of a watermark (members, events).");
    describe_gauge!("amsync_periodic_refresh_age_seconds", "Time since the last periodic refresh that succeeded.");
    describe_gauge!("amsync_source_paused", "1 while the source is paused (polling and refreshing stopped).");
    describe_gauge!("amsync_source_quarantined", "1 while the source is paused by the quarantine of a failing AMS.");
    describe_gauge!("amsync_members", "Members held.");
    describe_counter!("amsync_quarantines_total", "Times a failing source was quarantined.");
    describe_counter!(
        "amsync_task_restarts_total",
        "Long-lived tasks that failed (panicked) and were restarted, by task."
    );
    // Every task name at zero from the start, so a rate or an alert sees the series.
    for task in amsync_sync::TaskName::ALL {
        metrics::counter!("amsync_task_restarts_total", "task" => task.as_str()).increment(0);
    }
    describe_gauge!("amsync_approvals_pending", "Approvals of changes held by a threshold, waiting for an admin.");
    describe_gauge!(
        "amsync_threshold_disables_in_window",
        "Disables applied within the deletion threshold's sliding window."
    );
    describe_gauge!(
        "amsync_threshold_membership_removals_in_window",
        "Membership removals applied within the removal threshold's sliding window."
    );
    describe_counter!("amsync_http_requests_total", "HTTP requests answered, by method, route and status.");
    describe_histogram!("amsync_http_request_seconds", Unit::Seconds, "Time to answer an HTTP request, by route.");
    describe_counter!("amsync_logins_total", "Sign-in attempts by kind and outcome.");
    describe_gauge!("amsync_build_info", "Always 1; the version is a label.");
}

/// Counts a sign-in's outcome: `kind` is `admin_token` for the dashboard's
/// sign-in or a member's sign-on mode; `outcome` is `ok` or a reason code.
pub fn login_outcome(kind: &'static str, outcome: &'static str) {
    metrics::counter!("amsync_logins_total", "kind" => kind, "outcome" => outcome).increment(1);
}

/// The `method` label of a request: one of the methods HTTP defines, else
/// `other`. Anyone can send a request with a made-up method, and every
/// distinct label value is a series kept for the life of the process.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// Every value [`method_label`] gives.
pub const METHOD_LABELS: [&str; 10] =
    ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE", "other"];

/// The `route` label of a request: the route template it matched (a fixed
/// set, written in the code; never a key or anything else from the path),
/// else `unmatched`.
pub fn route_label(matched: Option<&MatchedPath>) -> String {
    matched.map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string())
}

/// Counts and times every request. Every label comes from a fixed set:
/// [`method_label`], [`route_label`], and the status code (three digits).
pub async fn track(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = route_label(req.extensions().get::<MatchedPath>());
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::counter!("amsync_http_requests_total", "method" => method_label(&method), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("amsync_http_request_seconds", "route" => route).record(started.elapsed().as_secs_f64());
    resp
}

fn set_flag(name: &'static str, on: bool) {
    metrics::gauge!(name).set(if on { 1.0 } else { 0.0 });
}

fn age_seconds(t: chrono::DateTime<Utc>) -> f64 {
    (Utc::now() - t).num_milliseconds().max(0) as f64 / 1000.0
}

/// Reads the database-held state into gauges.
async fn refresh_gauges(state: &AppState) -> Result<(), amsync_store::StoreError> {
    let store = state.store.as_ref();
    let q = store.queue_counts().await?;
    for (s, n) in [("queued", q.queued), ("running", q.running), ("retrying", q.retrying), ("dead", q.dead)] {
        metrics::gauge!("amsync_queue_entries", "state" => s).set(n as f64);
    }
    metrics::gauge!("amsync_queue_oldest_waiting_seconds").set(q.oldest_waiting_since.map_or(0.0, age_seconds));
    for name in [WATERMARK_MEMBERS, WATERMARK_EVENTS] {
        if let Some(w) = store.watermark(name).await? {
            metrics::gauge!("amsync_watermark_age_seconds", "watermark" => name).set(age_seconds(w));
        }
    }
    let filter =
        RunFilter { kind: Some(Trigger::Periodic), outcome: Some(RunOutcome::Succeeded), limit: 1, before: None };
    if let Some(run) = store.list_runs(&filter).await?.first() {
        let at = run.finished_at.unwrap_or(run.started_at);
        metrics::gauge!("amsync_periodic_refresh_age_seconds").set(age_seconds(at));
    }
    let source = store.source_state().await?;
    set_flag("amsync_source_paused", source.paused);
    let quarantined = source.paused && source.reason.as_deref().is_some_and(amsync_sync::status::is_quarantine_reason);
    set_flag("amsync_source_quarantined", quarantined);
    metrics::gauge!("amsync_members").set(store.member_count().await? as f64);
    let t = store.threshold_status(Utc::now()).await?;
    metrics::gauge!("amsync_approvals_pending").set(t.pending_approvals as f64);
    metrics::gauge!("amsync_threshold_disables_in_window").set(t.usage.disables as f64);
    metrics::gauge!("amsync_threshold_membership_removals_in_window").set(t.usage.membership_removals as f64);
    metrics::gauge!("amsync_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    Ok(())
}

/// Prometheus metrics (text format 0.0.4); see docs/observability.md.
#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "health", security(()),
    responses((status = 200, description = "The metrics", content_type = "text/plain; version=0.0.4")))]
pub async fn scrape(State(state): State<AppState>) -> Response {
    let handle = install();
    if let Err(e) = refresh_gauges(&state).await {
        // Counters are still worth serving; the database gauges keep their last values.
        tracing::warn!(error = %e, "reading the database for /metrics failed");
    }
    handle.run_upkeep();
    let body = handle.render();
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_methods_are_other_and_every_label_is_listed() {
        for m in ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"] {
            assert_eq!(method_label(&Method::from_bytes(m.as_bytes()).unwrap()), m);
        }
        for made_up in ["get", "FOO", "PROPFIND", "X-1234567890", "BREW"] {
            assert_eq!(method_label(&Method::from_bytes(made_up.as_bytes()).unwrap()), "other", "{made_up}");
        }
        for m in ["GET", "PATCH", "TRACE", "WHATEVER"] {
            assert!(METHOD_LABELS.contains(&method_label(&Method::from_bytes(m.as_bytes()).unwrap())));
        }
        assert_eq!(route_label(None), "unmatched");
    }
}
