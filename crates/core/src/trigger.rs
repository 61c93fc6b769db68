//! What caused a run or a refresh. One list for `runs.kind`,
//! `history.trigger` and filters (product.md, "Precise rules").

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Periodic,
    Full,
    Events,
    Login,
    Manual,
    Rules,
    Webhook,
    Merge,
    Push,
    Scim,
    Admin,
}

impl Trigger {
    pub const ALL: [Trigger; 11] = [
        Trigger::Periodic,
        Trigger::Full,
        Trigger::Events,
        Trigger::Login,
        Trigger::Manual,
        Trigger::Rules,
        Trigger::Webhook,
        Trigger::Merge,
        Trigger::Push,
        Trigger::Scim,
        Trigger::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Periodic => "periodic",
            Trigger::Full => "full",
            Trigger::Events => "events",
            Trigger::Login => "login",
            Trigger::Manual => "manual",
            Trigger::Rules => "rules",
            Trigger::Webhook => "webhook",
            Trigger::Merge => "merge",
            Trigger::Push => "push",
            Trigger::Scim => "scim",
            Trigger::Admin => "admin",
        }
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown trigger {0:?}")]
pub struct UnknownTrigger(pub String);

impl FromStr for Trigger {
    type Err = UnknownTrigger;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Trigger::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| UnknownTrigger(s.to_string()))
    }
}
