//! Paging of the member list, the same on every backend: a cursor one node
//! gave must page on through another node, whatever its database.

use crate::error::{Result, StoreError};

/// Page size when a query gives none, and the most a page may hold.
const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 1000;

/// The page size a query asks for, bounded.
pub(crate) fn page_limit(asked: usize) -> usize {
    if asked == 0 {
        DEFAULT_PAGE
    } else {
        asked.min(MAX_PAGE)
    }
}

/// The cursor after the member `key`: its bytes in hex, so any key is safe
/// in a query string.
pub(crate) fn encode_cursor(key: &str) -> String {
    key.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The member key a cursor of [`encode_cursor`] names.
pub(crate) fn decode_cursor(c: &str) -> Result<String> {
    let bad = || StoreError::Invalid("the cursor is not one this server gave".into());
    if c.len() % 2 != 0 || !c.is_ascii() {
        return Err(bad());
    }
    let bytes = (0..c.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&c[i..i + 2], 16).map_err(|_| bad()))
        .collect::<Result<Vec<u8>>>()?;
    String::from_utf8(bytes).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_roundtrip_and_refusal() {
        for k in ["M1", "é/~ x", ""] {
            assert_eq!(decode_cursor(&encode_cursor(k)).unwrap(), k);
        }
        assert!(decode_cursor("zz").is_err());
        assert!(decode_cursor("abc").is_err());
    }

    #[test]
    fn a_page_is_fifty_unless_asked_and_a_thousand_at_most() {
        assert_eq!((page_limit(0), page_limit(7), page_limit(5000)), (50, 7, 1000));
    }
}
