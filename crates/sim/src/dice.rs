//! A tiny deterministic random source (SplitMix64).
//!
//! Member data must depend only on (seed, index) and stay the same across
//! releases of the `rand` crates, so generation uses this self-contained
//! generator instead of a library RNG whose output may change between versions.

/// Mixes 64 bits into 64 well-distributed bits (the SplitMix64 finalizer).
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A deterministic stream of random numbers.
#[derive(Debug, Clone)]
pub struct Dice {
    state: u64,
}

impl Dice {
    /// A stream for one purpose (`stream`) of one item (`index`) under `seed`;
    /// distinct streams of one member are independent, so generating its
    /// groups does not require generating its details first.
    pub fn new(seed: u64, index: u64, stream: u64) -> Self {
        Dice { state: mix(mix(seed ^ 0x5851_f42d_4c95_7f2d).wrapping_add(index).wrapping_mul(31).wrapping_add(stream)) }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.state)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        // Multiply-shift keeps the bias negligible for the small ranges used here.
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// A number in `lo..=hi`.
    pub fn between(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// A float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// An index chosen by the given weights.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&w| w as u64).sum();
        let mut roll = self.below(total);
        for (i, &w) in weights.iter().enumerate() {
            if roll < w as u64 {
                return i;
            }
            roll -= w as u64;
        }
        weights.len() - 1
    }

    /// `n` decimal digits, e.g. for phone numbers and street numbers.
    pub fn digits(&mut self, n: usize) -> String {
        (0..n).map(|_| char::from(b'0' + self.below(10) as u8)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_inputs_same_stream() {
        let a: Vec<u64> = (0..5).map(|_| Dice::new(42, 7, 1).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        let mut x = Dice::new(42, 7, 1);
        let mut y = Dice::new(42, 7, 2);
        assert_ne!(x.next_u64(), y.next_u64());
    }

    #[test]
    fn below_and_weighted_stay_in_range() {
        let mut d = Dice::new(1, 2, 3);
        let mut seen = [0u32; 3];
        for _ in 0..3000 {
            assert!(d.below(7) < 7);
            seen[d.weighted(&[1, 0, 3])] += 1;
        }
        assert_eq!(seen[1], 0);
        assert!(seen[2] > seen[0] * 2, "{seen:?}");
    }
}
