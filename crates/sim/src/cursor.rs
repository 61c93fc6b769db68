//! Opaque paging cursors of the changed listings.
//!
//! A listing is ordered by (changed_at, sequence), where the sequence number
//! is handed out with every change under the same lock as the timestamp, so
//! a change made while a client pages always sorts after every entry already
//! listed — it is never skipped. The cursor is the position of the last
//! entry of a page (and whether the listing is the full one).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// The listing without `since`: every member that still exists.
    pub full: bool,
    pub changed_at: i64,
    pub seq: u64,
}

impl Cursor {
    pub fn encode(&self) -> String {
        let mode = if self.full { 'a' } else { 's' };
        URL_SAFE_NO_PAD.encode(format!("{mode}:{}:{}", self.changed_at, self.seq))
    }

    pub fn decode(s: &str) -> Option<Cursor> {
        let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(s).ok()?).ok()?;
        let mut parts = raw.splitn(3, ':');
        let full = match parts.next()? {
            "a" => true,
            "s" => false,
            _ => return None,
        };
        Some(Cursor { full, changed_at: parts.next()?.parse().ok()?, seq: parts.next()?.parse().ok()? })
    }
}

/// The cursor after `current` in the cycle A → B → A … of the
/// `cursor_cycle` fault: A without a cursor or after B, B after A.
pub fn cycled(current: Option<Cursor>, full: bool) -> String {
    let a = Cursor { full, changed_at: 0, seq: 1 };
    let b = Cursor { full, changed_at: 0, seq: 2 };
    if current == Some(a) {
        b.encode()
    } else {
        a.encode()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_garbage() {
        let c = Cursor { full: true, changed_at: 1_764_000_000, seq: 17 };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("not a cursor"), None);
        assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode("x:1:2")), None);
    }

    #[test]
    fn the_cycle_goes_a_b_a() {
        let a = cycled(None, false);
        let b = cycled(Cursor::decode(&a), false);
        assert_ne!(a, b);
        assert_eq!(cycled(Cursor::decode(&b), false), a);
    }
}
