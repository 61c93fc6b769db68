//! What an HTTP status means for a call, per the contract's conventions.
//!
//! 5xx, 408, 429 → transient (with `Retry-After`); 401/403 → unauthorized
//! (a configuration error); anything else that is not a success → permanent.
//! The 404/410 of GetMemberDetails and the 401 of the credential methods are
//! answers, not failures, and are handled by the source before this.

use amsync_core::error::{excerpt, Part};

use super::Answer;
use crate::source::SourceError;

/// The failure an unsuccessful answer stands for.
pub fn failure(part: Part, answer: &Answer) -> SourceError {
    let status = answer.status.as_u16();
    let excerpt = (!answer.body.is_empty()).then(|| excerpt(&answer.body));
    match status {
        408 | 429 | 500..=599 => SourceError::Transient {
            part,
            reason: format!("the AMS answered HTTP {status}"),
            status: Some(status),
            retry_after: answer.retry_after,
            excerpt,
        },
        401 | 403 => SourceError::Unauthorized { part, status, excerpt, detail: None },
        _ => SourceError::Permanent { part, status, excerpt, detail: None },
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use amsync_core::FailureKind;
    use reqwest::StatusCode;

    use super::*;

    fn answer(status: u16) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            body: b"oops".to_vec(),
            retry_after: Some(Duration::from_secs(7)),
        }
    }

    #[test]
    fn statuses_map_to_the_contract_kinds() {
        for (status, kind) in [
            (500, FailureKind::Transient),
            (502, FailureKind::Transient),
            (503, FailureKind::Transient),
            (408, FailureKind::Transient),
            (429, FailureKind::Transient),
            (401, FailureKind::Unauthorized),
            (403, FailureKind::Unauthorized),
            (400, FailureKind::Permanent),
            (404, FailureKind::Permanent),
            (410, FailureKind::Permanent),
            (302, FailureKind::Permanent),
        ] {
            let e = failure(Part::Communities, &answer(status));
            assert_eq!(e.kind(), kind, "HTTP {status}");
            assert_eq!(e.part(), Part::Communities);
            assert_eq!(e.to_failure().excerpt.as_deref(), Some("oops"));
        }
        assert_eq!(failure(Part::Details, &answer(429)).retry_after(), Some(Duration::from_secs(7)));
        assert_eq!(failure(Part::Details, &answer(403)).retry_after(), None);
    }
}
