//! When the next periodic run is due: a fixed interval, or a cron expression
//! (seconds first, as the `cron` crate reads it).

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};

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
                Some(l) => l + chrono::Duration::from_std(*d).unwrap_or(chrono::Duration::minutes(30)),
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
    fn cron_gives_the_next_occurrence() {
        let s = Schedule::cron("0 */30 * * * *").unwrap();
        let now = t("2026-11-29T14:10:00Z");
        assert_eq!(s.next_after(None, now), t("2026-11-29T14:30:00Z"));
        assert!(Schedule::cron("not cron").is_err());
    }
}
