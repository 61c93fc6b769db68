//! Events (GetChangedEvents).

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use crate::error::{DataError, Part};
use crate::keys::{CommunityKey, EventKey};
use crate::member::{check_len, MAX_LONG_TEXT, MAX_SHORT_TEXT};

/// Longest event description, in characters.
pub const MAX_DESCRIPTION: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    #[default]
    Scheduled,
    Cancelled,
}

impl EventStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EventStatus::Scheduled => "scheduled",
            EventStatus::Cancelled => "cancelled",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Event {
    pub key: EventKey,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub starts_at: DateTime<FixedOffset>,
    pub ends_at: DateTime<FixedOffset>,
    /// IANA time zone name of the event.
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    /// When set, the event is limited to that community's members.
    #[serde(default)]
    pub community_key: Option<CommunityKey>,
    #[serde(default)]
    pub status: EventStatus,
}

impl Event {
    pub fn normalize(&mut self) {
        for f in [&mut self.title, &mut self.description, &mut self.timezone, &mut self.location, &mut self.url] {
            if f.as_deref().is_some_and(str::is_empty) {
                *f = None;
            }
        }
    }

    pub fn validate(&self) -> Result<(), DataError> {
        let err = |field: &str, m: String| DataError::new(self.key.as_str(), Part::ChangedEvents, field, m);
        if self.ends_at < self.starts_at {
            return Err(err("/ends_at", "the event ends before it starts".into()));
        }
        check_len(self.title.as_deref(), MAX_LONG_TEXT).map_err(|m| err("/title", m))?;
        check_len(self.description.as_deref(), MAX_DESCRIPTION).map_err(|m| err("/description", m))?;
        check_len(self.location.as_deref(), MAX_LONG_TEXT).map_err(|m| err("/location", m))?;
        check_len(self.url.as_deref(), MAX_LONG_TEXT).map_err(|m| err("/url", m))?;
        if let Some(tz) = &self.timezone {
            check_len(Some(tz), MAX_SHORT_TEXT).map_err(|m| err("/timezone", m))?;
            if tz.parse::<chrono_tz::Tz>().is_err() {
                return Err(err("/timezone", format!("{tz:?} is not an IANA time zone name")));
            }
        }
        Ok(())
    }
}
