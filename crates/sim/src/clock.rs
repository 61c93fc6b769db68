//! The sim's clock: the real clock in whole Unix seconds, never going
//! backwards, so a change always lands at or after every earlier change.

use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Debug)]
pub struct SimClock {
    last: AtomicI64,
}

impl SimClock {
    /// A clock that will not answer earlier than `floor`.
    pub fn new(floor: i64) -> Self {
        SimClock { last: AtomicI64::new(floor) }
    }

    fn real() -> i64 {
        chrono::Utc::now().timestamp()
    }

    /// Now, for `as_of`.
    pub fn now(&self) -> i64 {
        Self::real().max(self.last.load(Ordering::Acquire))
    }

    /// The timestamp of a change being made now: at or after every earlier one.
    pub fn stamp(&self) -> i64 {
        let real = Self::real();
        self.last.fetch_max(real, Ordering::AcqRel).max(real)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_goes_back() {
        let future = chrono::Utc::now().timestamp() + 100;
        let c = SimClock::new(future);
        assert_eq!(c.now(), future);
        assert_eq!(c.stamp(), future);
        let c = SimClock::new(0);
        let a = c.stamp();
        assert!(c.stamp() >= a && c.now() >= a);
    }
}
