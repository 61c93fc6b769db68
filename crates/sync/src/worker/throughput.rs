//! Refreshes per minute over the last hour, for the status and the
//! dashboard's chart.

use std::sync::Mutex;

use chrono::{DateTime, Utc};

/// Refreshes per minute over the last hour.
#[derive(Debug)]
pub struct Throughput {
    buckets: Mutex<[(i64, u64); 60]>,
}

impl Default for Throughput {
    fn default() -> Self {
        Throughput { buckets: Mutex::new([(0, 0); 60]) }
    }
}

impl Throughput {
    pub fn record(&self, at: DateTime<Utc>, n: u64) {
        let minute = at.timestamp().div_euclid(60);
        let mut b = self.buckets.lock().expect("throughput lock");
        let slot = &mut b[minute.rem_euclid(60) as usize];
        if slot.0 != minute {
            *slot = (minute, 0);
        }
        slot.1 += n;
    }

    /// 60 values, oldest minute first, the current minute last.
    pub fn per_minute(&self, now: DateTime<Utc>) -> Vec<u64> {
        let current = now.timestamp().div_euclid(60);
        let b = self.buckets.lock().expect("throughput lock");
        (0..60)
            .map(|i| {
                let minute = current - 59 + i;
                let slot = b[minute.rem_euclid(60) as usize];
                if slot.0 == minute {
                    slot.1
                } else {
                    0
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throughput_keeps_an_hour_of_minutes() {
        let t = Throughput::default();
        let now: DateTime<Utc> = "2026-11-29T14:00:30Z".parse().unwrap();
        t.record(now, 5);
        t.record(now - chrono::Duration::minutes(2), 3);
        t.record(now - chrono::Duration::minutes(61), 100);
        let m = t.per_minute(now);
        assert_eq!(m.len(), 60);
        assert_eq!(m[59], 5);
        assert_eq!(m[57], 3);
        assert_eq!(m.iter().sum::<u64>(), 8);
    }
}
