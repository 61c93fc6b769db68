//! When the next periodic run is due: a fixed interval, or a cron expression
//! (seconds first, as the `cron` crate reads it).

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// `at + d`, or the end of time when that is past what a date can hold:
/// never a panic, whatever a configuration or an AMS's `Retry-After` says.
pub fn later(at: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d).ok().and_then(|d| at.checked_add_signed(d)).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[derive(Debug, Clone)]
pub enum Schedule {
    Interval(Duration),
    Cron(Box<cron::Schedule>),
}

impl Schedule {
    pub fn cron(expr: &str) -> Result<Schedule, String> {
        cron::Schedule::from_str(expr).map(|s| Schedule::Cron(Box::new(s))).map_err(|e| e.to_string())
    }

    /// The next run after a run that started at `last` (or, with no run yet, now).
    pub fn next_after(&self, last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Schedule::Interval(d) => match last {
                None => now,
                Some(l) => later(l, *d),
            },
            Schedule::Cron(s) => {
                let from = last.unwrap_or(now).max(now - chrono::Duration::seconds(1));
                s.after(&from).next().unwrap_or(now + chrono::Duration::days(365))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn interval_runs_now_first_then_every_interval() {
        let s = Schedule::Interval(Duration::from_secs(1800));
        let now = t("2026-11-29T14:00:00Z");
        assert_eq!(s.next_after(None, now), now);
        assert_eq!(s.next_after(Some(t("2026-11-29T13:45:00Z")), now), t("2026-11-29T14:15:00Z"));
    }

    #[test]
    fn an_interval_past_the_end_of_time_does_not_panic() {
        // 200 million years fit a chrono duration but not a date.
        let huge = Duration::from_secs(200_000_000 * 365 * 86_400);
        let last = t("2026-11-29T13:45:00Z");
        assert_eq!(Schedule::Interval(huge).next_after(Some(last), last), DateTime::<Utc>::MAX_UTC);
        assert_eq!(later(last, Duration::MAX), DateTime::<Utc>::MAX_UTC);
        assert_eq!(later(last, Duration::from_secs(60)), t("2026-11-29T13:46:00Z"));
    }

    #[test]
    fn cron_gives_the_next_occurrence() {
        let s = Schedule::cron("0 */30 * * * *").unwrap();
        let now = t("2026-11-29T14:10:00Z");
        assert_eq!(s.next_after(None, now), t("2026-11-29T14:30:00Z"));
        assert!(Schedule::cron("not cron").is_err());
    }
}
