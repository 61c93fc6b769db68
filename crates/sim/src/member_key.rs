//! The simulated AMS's member keys: `M` and the 1-based member number,
//! zero-padded to six digits (`M000001`); beyond 999999 just more digits.

/// The key of the member at `index` (0-based).
pub fn member_key(index: u32) -> String {
    format!("M{:06}", index as u64 + 1)
}

/// The index of a member key, or `None` for anything that is not exactly
/// what [`member_key`] produces (so `M1` or `m000001` are unknown members).
pub fn parse_member_key(key: &str) -> Option<u32> {
    let digits = key.strip_prefix('M')?;
    if digits.len() < 6 || digits.len() > 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Canonical form only: exactly six digits, or more without a leading zero.
    if digits.len() > 6 && digits.starts_with('0') {
        return None;
    }
    let number: u64 = digits.parse().ok()?;
    if number == 0 || number > u32::MAX as u64 {
        return None;
    }
    Some((number - 1) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        assert_eq!(member_key(0), "M000001");
        assert_eq!(member_key(999_998), "M999999");
        assert_eq!(member_key(999_999), "M1000000");
        for i in [0, 5, 999_999, 1_234_567] {
            assert_eq!(parse_member_key(&member_key(i)), Some(i));
        }
    }

    #[test]
    fn non_canonical_keys_are_unknown() {
        for k in ["M1", "M0000001", "m000001", "M000000", "M00000a", "", "M", "X000001", "M01000000"] {
            assert_eq!(parse_member_key(k), None, "{k}");
        }
    }
}
