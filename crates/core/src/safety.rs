//! The deletion and removal thresholds (product.md job 10) as pure rules:
//! given how much of the sliding window is used, may one more disable, or a
//! number of membership removals, apply now, or must it be held for an
//! admin's approval?
//!
//! The store counts what the window holds (inside the writer, so concurrent
//! refreshes are counted exactly); these functions only decide.
//!
//! **What counts.** The limits count the changes the source asked for. A
//! change an admin made or approved (an admin's disable, a released hold,
//! a rule change) is shown beside them for the audit but counts against
//! no limit: the admin has looked at it, and counting it would hold the
//! source's ordinary changes for the rest of the window.
//!
//! **The baselines.** A share is taken of what existed at the window's
//! start: the members active then, the memberships held then. Both are
//! computed backwards from now (active now + disabled within the window −
//! enabled within it; memberships now + removed within it), counting every
//! change applied, an admin's too. Members and
//! memberships *created* within the window count as present at its start,
//! so a first load does not make every later disable look like a mass
//! deletion.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// `[thresholds]`: how many disables and membership removals apply within
/// `window` before the rest is held for approval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Disables per window beyond which the rest is held.
    pub max_disables: u64,
    /// Share of the members active at the window's start beyond which disables are held.
    pub max_disable_share: f64,
    /// Share of the memberships held at the window's start beyond which removals are held.
    pub max_membership_removal_share: f64,
    pub window: Duration,
}

impl Default for Thresholds {
    /// The product's defaults: 100 disables or 2 % of the members, 10 % of
    /// the memberships, per hour.
    fn default() -> Self {
        Thresholds {
            max_disables: 100,
            max_disable_share: 0.02,
            max_membership_removal_share: 0.10,
            window: Duration::from_secs(3600),
        }
    }
}

/// What the window holds now.
///
/// A change an admin made or approved (an admin's disable, a released
/// hold, a rule change) counts for the audit and in the baselines, never
/// against the limits: approving one large change must not hold the
/// source's ordinary changes for the rest of the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowUsage {
    /// Disables from the source applied within the window: what the limits count.
    pub disables: u64,
    /// Disables an admin made or approved within the window (not counted against the limits).
    #[serde(default)]
    pub admin_disables: u64,
    /// Members active at the window's start (see the module doc).
    pub active_at_start: u64,
    /// Memberships the source's answers removed within the window: what the limits count.
    pub membership_removals: u64,
    /// Memberships removed within the window by a change an admin made or
    /// approved: rule changes and released holds (not counted against the limits).
    #[serde(default)]
    pub admin_membership_removals: u64,
    /// Memberships held at the window's start (see the module doc).
    pub memberships_at_start: u64,
}

/// Members active at the window's start (see the module doc): active now,
/// plus those disabled within the window, less those enabled within it;
/// every change counted, an admin's too.
pub fn active_at_window_start(active_now: u64, disabled_in_window: u64, enabled_in_window: u64) -> u64 {
    active_now.saturating_add(disabled_in_window).saturating_sub(enabled_in_window)
}

/// Memberships held at the window's start (see the module doc): held now
/// plus those removed within the window, whoever removed them.
pub fn memberships_at_window_start(held_now: u64, removed_in_window: u64) -> u64 {
    held_now.saturating_add(removed_in_window)
}

/// Whether a change applies now or is held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Apply,
    /// Held for approval; the sentence says which limit it would pass.
    Hold(String),
}

impl Verdict {
    pub fn is_hold(&self) -> bool {
        matches!(self, Verdict::Hold(_))
    }
}

impl Thresholds {
    /// No limit at all (benchmarks, and tests of other things).
    pub fn unlimited() -> Thresholds {
        Thresholds {
            max_disables: u64::MAX,
            max_disable_share: 1.0,
            max_membership_removal_share: 1.0,
            window: Duration::from_secs(3600),
        }
    }

    /// May one more member be disabled by its source?
    pub fn check_disable(&self, u: &WindowUsage) -> Verdict {
        let after = u.disables.saturating_add(1);
        let window = format_duration(self.window);
        if after > self.max_disables {
            return Verdict::Hold(format!(
                "{after} disables within {window} would be more than thresholds.max_disables = {}",
                self.max_disables
            ));
        }
        let base = u.active_at_start.max(1);
        if exceeds(after, base, self.max_disable_share) {
            return Verdict::Hold(format!(
                "{after} disables within {window} would be {} of the {base} members active at the window's start, \
                 more than thresholds.max_disable_share = {}",
                percent(after, base),
                percent_of(self.max_disable_share)
            ));
        }
        Verdict::Apply
    }

    /// May `n` more memberships be removed (one member's refresh, or a
    /// whole rule change)?
    pub fn check_removals(&self, u: &WindowUsage, n: u64) -> Verdict {
        if n == 0 {
            return Verdict::Apply;
        }
        let after = u.membership_removals.saturating_add(n);
        let base = u.memberships_at_start.max(1);
        if exceeds(after, base, self.max_membership_removal_share) {
            return Verdict::Hold(format!(
                "{after} membership removals within {} would be {} of the {base} memberships held at the window's \
                 start, more than thresholds.max_membership_removal_share = {}",
                format_duration(self.window),
                percent(after, base),
                percent_of(self.max_membership_removal_share)
            ));
        }
        Verdict::Apply
    }
}

fn exceeds(count: u64, base: u64, share: f64) -> bool {
    share < 1.0 && count as f64 > share * base as f64
}

fn percent(n: u64, base: u64) -> String {
    percent_of(n as f64 / base as f64)
}

fn percent_of(share: f64) -> String {
    let p = share * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{}%", p.round() as i64)
    } else {
        format!("{p:.1}%")
    }
}

/// `1h`, `5m`, `90s`, `250ms`: a duration as the config file writes it.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 || ms % 1000 != 0 {
        return format!("{ms}ms");
    }
    let s = d.as_secs();
    match s {
        _ if s % 86_400 == 0 => format!("{}d", s / 86_400),
        _ if s % 3600 == 0 => format!("{}h", s / 3600),
        _ if s % 60 == 0 => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max: u64, share: f64, removal: f64) -> Thresholds {
        Thresholds {
            max_disables: max,
            max_disable_share: share,
            max_membership_removal_share: removal,
            window: Duration::from_secs(3600),
        }
    }

    fn usage(disables: u64, active: u64) -> WindowUsage {
        WindowUsage { disables, active_at_start: active, ..WindowUsage::default() }
    }

    #[test]
    fn the_baselines_are_counted_backwards_from_now() {
        // 100 active now; 7 disabled and 2 enabled within the window: 105
        // were active at its start.
        assert_eq!(active_at_window_start(100, 7, 2), 105);
        assert_eq!(active_at_window_start(0, 0, 5), 0, "never below nothing");
        assert_eq!(memberships_at_window_start(400, 30), 430);
    }

    #[test]
    fn disables_are_held_past_the_count() {
        let t = limits(3, 1.0, 1.0);
        assert_eq!(t.check_disable(&usage(2, 10)), Verdict::Apply);
        let Verdict::Hold(why) = t.check_disable(&usage(3, 10)) else { panic!("held") };
        assert_eq!(why, "4 disables within 1h would be more than thresholds.max_disables = 3");
    }

    #[test]
    fn disables_are_held_past_the_share_of_the_active_members() {
        let t = limits(100, 0.02, 1.0);
        // 2 % of 300 is 6: the sixth applies, the seventh is held.
        assert_eq!(t.check_disable(&usage(5, 300)), Verdict::Apply);
        let Verdict::Hold(why) = t.check_disable(&usage(6, 300)) else { panic!("held") };
        assert!(why.contains("7 disables within 1h would be 2.3% of the 300 members"), "{why}");
        assert!(why.ends_with("thresholds.max_disable_share = 2%"), "{why}");
        // A lone member is never "2 %" of nobody: the base is at least one.
        assert!(t.check_disable(&usage(0, 0)).is_hold());
        assert_eq!(limits(100, 1.0, 1.0).check_disable(&usage(0, 0)), Verdict::Apply);
    }

    #[test]
    fn removals_are_held_past_their_share() {
        let t = limits(100, 0.02, 0.10);
        let u = WindowUsage { membership_removals: 5, memberships_at_start: 100, ..WindowUsage::default() };
        assert_eq!(t.check_removals(&u, 5), Verdict::Apply);
        let Verdict::Hold(why) = t.check_removals(&u, 6) else { panic!("held") };
        assert!(why.starts_with("11 membership removals within 1h would be 11% of the 100 memberships"), "{why}");
        assert_eq!(t.check_removals(&u, 0), Verdict::Apply, "nothing removed is never held");
    }

    #[test]
    fn unlimited_holds_nothing() {
        let t = Thresholds::unlimited();
        assert_eq!(t.check_disable(&usage(1_000_000, 1)), Verdict::Apply);
        let u = WindowUsage { membership_removals: 10, memberships_at_start: 1, ..WindowUsage::default() };
        assert_eq!(t.check_removals(&u, 10), Verdict::Apply);
    }

    #[test]
    fn durations_read_like_the_config() {
        for (d, s) in [
            (Duration::from_secs(3600), "1h"),
            (Duration::from_secs(300), "5m"),
            (Duration::from_secs(90), "90s"),
            (Duration::from_millis(250), "250ms"),
            (Duration::from_secs(2 * 86_400), "2d"),
        ] {
            assert_eq!(format_duration(d), s);
        }
    }
}
