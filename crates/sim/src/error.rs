//! Errors of the control API and the in-process control handle.

/// Why a control operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error("no member {0:?}")]
    UnknownMember(String),
    #[error("member {0:?} was deleted or merged and cannot be changed")]
    MemberGone(String),
    #[error("no event {0:?}")]
    UnknownEvent(String),
    #[error("bad request: {0}")]
    BadRequest(String),
}
