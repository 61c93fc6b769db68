//! Fault injection on the data and auth methods (never on `/_sim`): global
//! rates and targeted faults that hit one key and/or one method, optionally
//! only a number of times.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

/// The contract methods faults can target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    ChangedMembers,
    Details,
    Communities,
    SecurityGroups,
    ChangedEvents,
    Credentials,
    ResolveToken,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// 500, 502 or 503 (503 with `Retry-After: 1`).
    Error,
    /// Sleep `hang_ms`, then answer normally.
    Hang,
    /// 200 with a truncated or garbled body.
    Malformed,
    /// 404.
    NotFound,
    /// 401.
    Unauthorized,
    /// On a listing (changed members or events): the page is answered, but
    /// its `next_cursor` cycles A → B → A … (the request without a cursor
    /// gets A), so a client that only compares a cursor with the one before
    /// it pages on for ever. Nothing on the other methods.
    CursorCycle,
}

/// A fault for calls matching `key` (any when absent) and `method` (any
/// data or auth method when absent); `count` times, then it is removed.
/// Only the member-document methods have a key: a fault with a key never
/// hits the listings or the auth methods.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetedFault {
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub method: Option<Method>,
    pub fault: FaultKind,
    #[serde(default)]
    pub count: Option<u32>,
}

/// The whole fault configuration (`GET`/`PUT /_sim/faults`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    pub latency_ms: u64,
    pub error_rate: f64,
    pub hang_rate: f64,
    pub hang_ms: u64,
    pub malformed_rate: f64,
    /// Every data and auth call answers 401.
    pub unauthorized: bool,
    pub targeted: Vec<TargetedFault>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            latency_ms: 0,
            error_rate: 0.0,
            hang_rate: 0.0,
            hang_ms: 30_000,
            malformed_rate: 0.0,
            unauthorized: false,
            targeted: Vec::new(),
        }
    }
}

impl Faults {
    fn is_quiet(&self) -> bool {
        self.latency_ms == 0
            && self.error_rate <= 0.0
            && self.hang_rate <= 0.0
            && self.malformed_rate <= 0.0
            && !self.unauthorized
            && self.targeted.is_empty()
    }
}

/// What to do to one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Plan {
    /// Sleep this long first.
    pub delay: Duration,
    pub outcome: Outcome,
    /// Whether a fault (not plain latency) was injected.
    pub injected: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Outcome {
    #[default]
    Normal,
    Error {
        status: u16,
        retry_after: bool,
    },
    Malformed,
    NotFound,
    Unauthorized,
    /// Answer normally, but with a cycling `next_cursor` (listings only).
    CursorCycle,
}

pub struct FaultBox {
    current: RwLock<Arc<Faults>>,
    /// False when no fault is configured: the hot path then skips everything.
    active: AtomicBool,
}

impl FaultBox {
    pub fn new(faults: Faults) -> Self {
        let active = AtomicBool::new(!faults.is_quiet());
        FaultBox { current: RwLock::new(Arc::new(faults)), active }
    }

    pub fn get(&self) -> Faults {
        Faults::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn set(&self, faults: Faults) {
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        self.active.store(!faults.is_quiet(), Ordering::Release);
        *current = Arc::new(faults);
    }

    /// Decides the fate of one call to `method` about `key`.
    pub fn plan(&self, method: Method, key: Option<&str>) -> Plan {
        if !self.active.load(Ordering::Acquire) {
            return Plan::default();
        }
        let faults = Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()));
        let latency = Duration::from_millis(faults.latency_ms);
        let hang = Duration::from_millis(faults.hang_ms);
        if let Some(kind) = self.take_targeted(&faults, method, key) {
            let outcome = match kind {
                FaultKind::Error => random_error(),
                FaultKind::Hang => Outcome::Normal,
                FaultKind::Malformed => Outcome::Malformed,
                FaultKind::NotFound => Outcome::NotFound,
                FaultKind::Unauthorized => Outcome::Unauthorized,
                FaultKind::CursorCycle => Outcome::CursorCycle,
            };
            let delay = if kind == FaultKind::Hang { latency + hang } else { latency };
            return Plan { delay, outcome, injected: true };
        }
        if faults.unauthorized {
            return Plan { delay: latency, outcome: Outcome::Unauthorized, injected: true };
        }
        let mut rng = rand::rng();
        let mut plan = Plan { delay: latency, ..Plan::default() };
        if faults.hang_rate > 0.0 && rng.random_bool(faults.hang_rate.min(1.0)) {
            plan.delay += hang;
            plan.injected = true;
        }
        if faults.error_rate > 0.0 && rng.random_bool(faults.error_rate.min(1.0)) {
            plan.outcome = random_error();
            plan.injected = true;
        } else if faults.malformed_rate > 0.0 && rng.random_bool(faults.malformed_rate.min(1.0)) {
            plan.outcome = Outcome::Malformed;
            plan.injected = true;
        }
        plan
    }

    /// The fate of a health check: global latency, hang and error only.
    pub fn plan_health(&self) -> Plan {
        if !self.active.load(Ordering::Acquire) {
            return Plan::default();
        }
        let faults = Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()));
        let mut rng = rand::rng();
        let mut plan = Plan { delay: Duration::from_millis(faults.latency_ms), ..Plan::default() };
        if faults.hang_rate > 0.0 && rng.random_bool(faults.hang_rate.min(1.0)) {
            plan.delay += Duration::from_millis(faults.hang_ms);
            plan.injected = true;
        }
        if faults.error_rate > 0.0 && rng.random_bool(faults.error_rate.min(1.0)) {
            plan.outcome = random_error();
            plan.injected = true;
        }
        plan
    }

    /// The first targeted fault matching the call, counting it down.
    fn take_targeted(&self, faults: &Faults, method: Method, key: Option<&str>) -> Option<FaultKind> {
        let matches = |t: &TargetedFault| {
            t.method.is_none_or(|m| m == method)
                && t.key.as_deref().is_none_or(|k| Some(k) == key)
                && t.count != Some(0)
        };
        let first = faults.targeted.iter().position(matches)?;
        if faults.targeted[first].count.is_none() {
            return Some(faults.targeted[first].fault);
        }
        // A counted fault: decrement under the write lock (re-checked there,
        // since another call may have used it up meanwhile).
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        let mut updated = Faults::clone(&current);
        let i = updated.targeted.iter().position(matches)?;
        let kind = updated.targeted[i].fault;
        let left = updated.targeted[i].count.map(|c| c.saturating_sub(1));
        if left == Some(0) {
            updated.targeted.remove(i);
        } else {
            updated.targeted[i].count = left;
        }
        self.active.store(!updated.is_quiet(), Ordering::Release);
        *current = Arc::new(updated);
        Some(kind)
    }
}

fn random_error() -> Outcome {
    match rand::rng().random_range(0..3) {
        0 => Outcome::Error { status: 500, retry_after: false },
        1 => Outcome::Error { status: 502, retry_after: false },
        _ => Outcome::Error { status: 503, retry_after: true },
    }
}

/// A body that does not parse, of the right content type: the real body cut
/// short, or with its structure broken.
pub fn garble(body: &[u8], xml: bool) -> Vec<u8> {
    if rand::rng().random_bool(0.5) || body.len() < 8 {
        // Cut in the middle of the document: never a complete one.
        let mut cut = body[..body.len() / 2].to_vec();
        cut.extend_from_slice(if xml { b"<" } else { b"\"" });
        cut
    } else if xml {
        // A mismatched end tag.
        let end = body.iter().rposition(|&b| b == b'<').unwrap_or(body.len());
        let mut out = body[..end].to_vec();
        out.extend_from_slice(b"</Garbled\xef\xbf\xbd>");
        out
    } else {
        // An object turned into an array of key/value pairs: not JSON.
        let mut out = body.to_vec();
        if let Some(first) = out.iter().position(|&b| b == b'{') {
            out[first] = b'[';
        }
        out.extend_from_slice(b",}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_targeted_faults_run_out() {
        let faults = FaultBox::new(Faults {
            targeted: vec![TargetedFault {
                key: Some("M000005".into()),
                method: Some(Method::Communities),
                fault: FaultKind::NotFound,
                count: Some(2),
            }],
            ..Faults::default()
        });
        assert_eq!(faults.plan(Method::Details, Some("M000005")).outcome, Outcome::Normal);
        assert_eq!(faults.plan(Method::Communities, Some("M000004")).outcome, Outcome::Normal);
        assert_eq!(faults.plan(Method::Communities, Some("M000005")).outcome, Outcome::NotFound);
        assert_eq!(faults.plan(Method::Communities, Some("M000005")).outcome, Outcome::NotFound);
        assert_eq!(faults.plan(Method::Communities, Some("M000005")).outcome, Outcome::Normal);
        assert!(faults.get().targeted.is_empty());
        assert!(!faults.active.load(Ordering::Acquire));
    }

    #[test]
    fn garbled_bodies_do_not_parse() {
        let json = br#"{"key":"M000001","phones":[{"type":"Work","number":"1"}]}"#;
        for _ in 0..50 {
            let g = garble(json, false);
            assert!(serde_json::from_slice::<serde_json::Value>(&g).is_err(), "{}", String::from_utf8_lossy(&g));
        }
    }
}
