//! The watermark rules of Periodic Refresh and Events refresh (product.md job 1).
//!
//! - it moves only after a poll that succeeded on every page *and* returned
//!   at least one record; a failed or empty poll leaves it;
//! - the new value is the first page's `as_of` (or our clock at the start of
//!   the poll) minus `overlap`, and never less than the old value;
//! - `since` is sent as UTC with `Z`, whole seconds, rounded down.

use chrono::{DateTime, SubsecRound, Utc};
use std::time::Duration;

/// What a finished poll reports, for deciding the next watermark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollSummary {
    /// Our clock when the poll started.
    pub started_at: DateTime<Utc>,
    /// The first page's `as_of`, when the source gave one.
    pub first_as_of: Option<DateTime<Utc>>,
    /// Every page was fetched and parsed.
    pub complete: bool,
    /// Records (keys or events) the poll returned, duplicates included.
    pub records: u64,
}

/// The watermark after a poll. Returns `old` unchanged when the rules say
/// it must not move.
pub fn next_watermark(old: Option<DateTime<Utc>>, poll: &PollSummary, overlap: Duration) -> Option<DateTime<Utc>> {
    if !poll.complete || poll.records == 0 {
        return old;
    }
    let base = poll.first_as_of.unwrap_or(poll.started_at);
    // Checked: `base` comes from the AMS; an overlap reaching past the
    // first representable date starts from there (a lower watermark only
    // lists more).
    let overlap = chrono::Duration::from_std(overlap).unwrap_or(chrono::Duration::zero());
    let candidate = base.checked_sub_signed(overlap).unwrap_or(DateTime::<Utc>::MIN_UTC).trunc_subsecs(0);
    match old {
        Some(o) if o >= candidate => Some(o),
        _ => Some(candidate),
    }
}

/// The watermark a store keeps when told to move it to `to`: the later of
/// the two (a watermark never moves backwards, whoever writes it).
pub fn advanced(stored: Option<DateTime<Utc>>, to: DateTime<Utc>) -> DateTime<Utc> {
    stored.map_or(to, |s| s.max(to))
}

/// The `since` parameter: UTC, `Z`, whole seconds rounded down.
pub fn since_param(t: DateTime<Utc>) -> String {
    t.trunc_subsecs(0).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn poll(complete: bool, records: u64, as_of: Option<&str>) -> PollSummary {
        PollSummary { started_at: t("2026-11-29T14:00:00.900Z"), first_as_of: as_of.map(t), complete, records }
    }

    const TWO_MIN: Duration = Duration::from_secs(120);

    #[test]
    fn failed_or_empty_poll_leaves_it() {
        let old = Some(t("2026-11-29T13:00:00Z"));
        assert_eq!(next_watermark(old, &poll(false, 10, None), TWO_MIN), old);
        assert_eq!(next_watermark(old, &poll(true, 0, None), TWO_MIN), old);
        assert_eq!(next_watermark(None, &poll(true, 0, None), TWO_MIN), None);
    }

    #[test]
    fn uses_first_as_of_minus_overlap() {
        let got = next_watermark(None, &poll(true, 3, Some("2026-11-29T14:05:02Z")), TWO_MIN);
        assert_eq!(got, Some(t("2026-11-29T14:03:02Z")));
    }

    #[test]
    fn falls_back_to_our_start_rounded_down() {
        let got = next_watermark(None, &poll(true, 3, None), TWO_MIN);
        assert_eq!(got, Some(t("2026-11-29T13:58:00Z")));
    }

    #[test]
    fn never_moves_backwards() {
        let old = Some(t("2026-11-29T15:00:00Z"));
        assert_eq!(next_watermark(old, &poll(true, 3, Some("2026-11-29T14:05:02Z")), TWO_MIN), old);
    }

    #[test]
    fn an_overlap_past_the_first_date_does_not_panic() {
        let huge = Duration::from_secs(200_000_000 * 365 * 86_400);
        let got = next_watermark(None, &poll(true, 3, Some("0001-01-01T00:00:00Z")), huge);
        assert_eq!(got, Some(DateTime::<Utc>::MIN_UTC.trunc_subsecs(0)));
    }

    #[test]
    fn a_stored_watermark_only_moves_forwards() {
        let (early, late) = (t("2026-11-29T13:00:00Z"), t("2026-11-29T14:00:00Z"));
        assert_eq!(advanced(None, early), early);
        assert_eq!(advanced(Some(early), late), late);
        assert_eq!(advanced(Some(late), early), late);
        assert_eq!(advanced(Some(late), late), late);
    }

    #[test]
    fn since_is_whole_seconds_utc() {
        assert_eq!(since_param(t("2026-11-29T13:30:00.999+01:00")), "2026-11-29T12:30:00Z");
    }
}
