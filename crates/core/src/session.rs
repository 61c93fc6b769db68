//! When a member's sign-in session ends: at its expiry, or once it has been
//! idle longer than the idle timeout. A store keeps `last_seen_at` fresh
//! only every [`touch_interval`], so a member browsing page after page
//! costs one small write a minute, not one per page.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// What a session lookup at `now` does with the session it found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionFate {
    /// Expired, or idle too long: it is deleted and the lookup finds none.
    Ended,
    /// Live, and `last_seen_at` is old enough to be written again.
    Touch,
    /// Live; nothing to write.
    Live,
}

/// How stale `last_seen_at` may be before a lookup writes it again: a
/// tenth of the idle timeout, at most a minute.
pub fn touch_interval(idle_timeout: Duration) -> Duration {
    (idle_timeout / 10).min(Duration::from_secs(60))
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The fate of a session that expires at `expires_at` and was last seen at
/// `last_seen_at`, looked up at `now` (compared in whole milliseconds, as
/// stored).
pub fn fate(
    expires_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
    now: DateTime<Utc>,
    idle_timeout: Duration,
) -> SessionFate {
    let now_ms = now.timestamp_millis();
    let idle = now_ms - last_seen_at.timestamp_millis();
    if expires_at.timestamp_millis() <= now_ms || idle > millis(idle_timeout) {
        SessionFate::Ended
    } else if idle >= millis(touch_interval(idle_timeout)) {
        SessionFate::Touch
    } else {
        SessionFate::Live
    }
}

/// Sessions last seen before this are idle at `now`: what pruning deletes.
pub fn idle_before(now: DateTime<Utc>, idle_timeout: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(idle_timeout)
        .ok()
        .and_then(|d| now.checked_sub_signed(d))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_session_ends_at_its_expiry_or_when_idle_too_long_and_is_touched_once_a_minute() {
        let idle = Duration::from_secs(3600);
        let now = t("2026-11-29T14:00:00Z");
        let far = t("2026-11-30T00:00:00Z");
        // (expires, last seen) -> fate
        let table = [
            ((far, t("2026-11-29T13:59:30Z")), SessionFate::Live),
            ((far, t("2026-11-29T13:59:00Z")), SessionFate::Touch),
            ((far, t("2026-11-29T13:00:00Z")), SessionFate::Touch),
            ((far, t("2026-11-29T12:59:59.999Z")), SessionFate::Ended),
            ((now, now), SessionFate::Ended),
        ];
        for ((expires, seen), want) in table {
            assert_eq!(fate(expires, seen, now, idle), want, "expires {expires}, last seen {seen}");
        }
        assert_eq!(touch_interval(Duration::from_secs(100)), Duration::from_secs(10));
    }

    #[test]
    fn idle_before_is_now_minus_the_timeout_and_never_panics() {
        let now = t("2026-11-29T14:00:00Z");
        assert_eq!(idle_before(now, Duration::from_secs(3600)), t("2026-11-29T13:00:00Z"));
        assert_eq!(idle_before(now, Duration::MAX), DateTime::<Utc>::MIN_UTC);
    }
}
