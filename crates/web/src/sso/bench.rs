//! `amsync bench login`: session-variable sign-ins of known members over
//! loopback HTTP, while refreshes run beside them at a fixed rate.
//!
//! Each sign-in is one `GET /sso/callback?token=…` with a fresh
//! pre-shared-key token (an unsolicited link, so one request is the whole
//! sign-in on amsync's side: token decryption, the single-use `jti` insert,
//! the member read, the login refresh queued, the session written). The
//! token is made before the clock starts, as the association's server
//! makes it. Beside the sign-ins, `refresh_rate` members a second are
//! queued for the engine's workers (which the caller runs), so the store's
//! writer is shared as in production.
//!
//! The caller builds the app (store, engine with workers, router on a
//! loopback listener, `allow_unsolicited = true`) and passes its URL and
//! state; [`run`] does the load and measures.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use amsync_core::{MemberKey, Trigger};
use amsync_sso::{Claims, PskKey};
use serde::Serialize;
use url::Url;

use crate::state::AppState;

/// What to run.
#[derive(Debug, Clone)]
pub struct LoginBenchOptions {
    /// Members known locally and enabled, signed in round robin.
    pub members: Vec<MemberKey>,
    /// The key the tokens are made with (one of the app's `sso.resolve.keys`).
    pub key: PskKey,
    /// The app's `web.public_url` (the tokens' `aud`).
    pub audience: String,
    /// How long sign-ins are measured (after `warmup`).
    pub duration: Duration,
    pub warmup: Duration,
    /// Sign-ins in flight at most.
    pub concurrency: usize,
    /// Sign-ins started per second, on a fixed schedule (open loop); `None`
    /// runs them back to back (the most the app takes).
    pub login_rate: Option<u32>,
    /// Members a second queued for refresh beside the sign-ins (0: none).
    pub refresh_rate: u32,
    /// The keys those refreshes cycle through.
    pub refresh_keys: Vec<MemberKey>,
}

/// What was measured.
#[derive(Debug, Clone, Serialize)]
pub struct LoginBenchReport {
    pub bench: &'static str,
    pub logins: u64,
    pub logins_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub errors: u64,
    pub concurrency: usize,
    /// Sign-ins offered per second (`null`: back to back).
    pub login_rate: Option<u32>,
    /// Refreshes queued per second beside the sign-ins.
    pub refresh_rate: u32,
    /// Refreshes the engine completed per second during the run.
    pub refreshes_per_s: f64,
    pub seconds: f64,
}

impl LoginBenchReport {
    /// The figures as one JSON line (`{"bench": "login", "logins_per_s": …, "p99_ms": …}`).
    pub fn json_line(&self) -> String {
        serde_json::to_string(self).expect("the report serializes")
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

/// Runs the sign-in load against the app at `url` and measures it.
pub async fn run(url: &Url, state: &AppState, opts: LoginBenchOptions) -> Result<LoginBenchReport, String> {
    if opts.members.is_empty() {
        return Err("no members to sign in".into());
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(opts.concurrency.max(1))
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let callback = {
        let mut u = url.clone();
        u.set_path("/sso/callback");
        u
    };
    let stop = Arc::new(AtomicBool::new(false));
    let measuring = Arc::new(AtomicBool::new(false));
    let refreshes = tokio::spawn(drive_refreshes(state.clone(), opts.clone(), stop.clone()));
    let next = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let schedule_start = tokio::time::Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..opts.concurrency.max(1) {
        let (http, callback, opts) = (http.clone(), callback.clone(), opts.clone());
        let (stop, measuring, next, errors) = (stop.clone(), measuring.clone(), next.clone(), errors.clone());
        clients.spawn(async move {
            let mut latencies = Vec::with_capacity(16 * 1024);
            while !stop.load(Ordering::Relaxed) {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                if let Some(rate) = opts.login_rate.filter(|r| *r > 0) {
                    // The i-th sign-in starts at i / rate seconds.
                    let slot = schedule_start + Duration::from_secs_f64(i as f64 / rate as f64);
                    tokio::time::sleep_until(slot).await;
                }
                let member = &opts.members[i % opts.members.len()];
                let claims = Claims::new(member.as_str(), &opts.audience, chrono::Utc::now(), Duration::from_secs(60));
                let token = amsync_sso::psk::mint(&opts.key, &claims);
                let mut u = callback.clone();
                u.query_pairs_mut().append_pair("ReturnUrl", "/").append_pair("token", &token);
                let started = Instant::now();
                let ok = match http.get(u).send().await {
                    Ok(r) => {
                        let ok = r.status() == reqwest::StatusCode::SEE_OTHER && r.headers().contains_key("set-cookie");
                        if !ok && errors.load(Ordering::Relaxed) < 3 {
                            tracing::warn!(status = %r.status(), member = %member, "bench: a sign-in failed");
                        }
                        ok
                    }
                    Err(e) => {
                        if errors.load(Ordering::Relaxed) < 3 {
                            tracing::warn!(error = %e, "bench: a sign-in failed");
                        }
                        false
                    }
                };
                let took = started.elapsed();
                if measuring.load(Ordering::Relaxed) {
                    if ok {
                        latencies.push(took);
                    } else {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            latencies
        });
    }
    tokio::time::sleep(opts.warmup).await;
    let refreshed_before = state.engine.status().refreshes_last_hour;
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(opts.duration).await;
    measuring.store(false, Ordering::Relaxed);
    let seconds = started.elapsed().as_secs_f64();
    let refreshed = state.engine.status().refreshes_last_hour.saturating_sub(refreshed_before);
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    while let Some(r) = clients.join_next().await {
        all.extend(r.map_err(|e| e.to_string())?);
    }
    let _ = refreshes.await;
    all.sort_unstable();
    Ok(LoginBenchReport {
        bench: "login",
        logins: all.len() as u64,
        logins_per_s: all.len() as f64 / seconds,
        p50_ms: percentile(&all, 0.50),
        p99_ms: percentile(&all, 0.99),
        max_ms: all.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        errors: errors.load(Ordering::Relaxed),
        concurrency: opts.concurrency,
        login_rate: opts.login_rate,
        refresh_rate: opts.refresh_rate,
        refreshes_per_s: refreshed as f64 / seconds,
        seconds,
    })
}

/// Queues `refresh_rate` members a second, in ticks of 10 ms.
async fn drive_refreshes(state: AppState, opts: LoginBenchOptions, stop: Arc<AtomicBool>) {
    if opts.refresh_rate == 0 || opts.refresh_keys.is_empty() {
        return;
    }
    let tick = Duration::from_millis(10);
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let (mut owed, mut at) = (0.0f64, 0usize);
    while !stop.load(Ordering::Relaxed) {
        interval.tick().await;
        owed += opts.refresh_rate as f64 * tick.as_secs_f64();
        let n = owed.floor() as usize;
        if n == 0 {
            continue;
        }
        owed -= n as f64;
        let keys: Vec<MemberKey> =
            (0..n).map(|j| opts.refresh_keys[(at + j) % opts.refresh_keys.len()].clone()).collect();
        at += n;
        if let Err(e) = state.store.enqueue(&keys, Trigger::Periodic, None, chrono::Utc::now()).await {
            tracing::warn!(error = %e, "bench: could not queue refreshes");
        }
        state.engine.wake_workers();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_right_rank() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&[], 0.99), 0.0);
    }
}
