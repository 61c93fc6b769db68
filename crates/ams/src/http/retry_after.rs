//! `Retry-After`: delay-seconds or an HTTP date (RFC 9110 §10.2.3).

use std::time::{Duration, SystemTime};

/// The longest wait we accept from an AMS; a larger value is capped, so a
/// typo on the AMS side cannot park the queue for days.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Parses the header's value; `now` is passed in so a date can be tested.
/// A date in the past means "now" (zero); an unreadable value is ignored.
pub fn parse(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    let wait = if value.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits for u64 is still "a very long time".
        Duration::from_secs(value.parse::<u64>().unwrap_or(u64::MAX))
    } else {
        let at = httpdate::parse_http_date(value).ok()?;
        at.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_dates() {
        let now = httpdate::parse_http_date("Sun, 29 Nov 2026 14:00:00 GMT").unwrap();
        assert_eq!(parse("120", now), Some(Duration::from_secs(120)));
        assert_eq!(parse(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(parse("Sun, 29 Nov 2026 14:00:30 GMT", now), Some(Duration::from_secs(30)));
        assert_eq!(parse("Sunday, 29-Nov-26 14:01:00 GMT", now), Some(Duration::from_secs(60)));
        assert_eq!(parse("Sun, 29 Nov 2026 13:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse("99999999999999999999999", now), Some(MAX_RETRY_AFTER));
        assert_eq!(parse("soon", now), None);
        assert_eq!(parse("-5", now), None);
        assert_eq!(parse("", now), None);
    }
}
