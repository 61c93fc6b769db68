//! The AMS's events (GetChangedEvents): generated at start from the seed,
//! changed or cancelled through the control API.

use std::sync::{Arc, Mutex, MutexGuard};

use amsync_core::{CommunityKey, Event, EventKey, EventStatus};
use chrono::{Days, NaiveDate, NaiveTime, TimeZone};

use crate::clock::SimClock;
use crate::cursor::Cursor;
use crate::data::catalog::{COMMUNITIES, EVENT_PLACES, EVENT_TITLES};
use crate::dice::Dice;
use crate::error::SimError;
use crate::generate::INITIAL_SPREAD_SECS;
use crate::render::Page;

const STREAM_EVENT: u64 = 10;

/// The key of the event at `index`: `EV-0001`, …
pub fn event_key(index: usize) -> String {
    format!("EV-{:04}", index + 1)
}

/// An event as generated from (seed, index) for a sim started on `today`.
pub fn generate_event(seed: u64, index: usize, today: NaiveDate) -> Event {
    let mut d = Dice::new(seed, index as u64, STREAM_EVENT);
    let (city, tz_name) = *d.pick(EVENT_PLACES);
    let tz: chrono_tz::Tz = tz_name.parse().expect("catalog time zones are valid");
    let day = if d.chance(0.2) {
        today.checked_sub_days(Days::new(d.between(1, 60) as u64))
    } else {
        today.checked_add_days(Days::new(d.between(0, 365) as u64))
    }
    .expect("date in range");
    let start_time =
        NaiveTime::from_hms_opt(d.between(8, 19) as u32, if d.chance(0.5) { 0 } else { 30 }, 0).expect("valid time");
    let starts_local = day.and_time(start_time);
    let ends_local = if d.chance(0.15) {
        let last_day = day.checked_add_days(Days::new(d.between(1, 3) as u64)).expect("date in range");
        last_day.and_time(NaiveTime::from_hms_opt(17, 0, 0).expect("valid time"))
    } else {
        starts_local + chrono::Duration::minutes(d.between(1, 4) * 45)
    };
    // `earliest` picks a defined instant even across a DST gap or fold.
    let at = |local: chrono::NaiveDateTime| {
        tz.from_local_datetime(&local).earliest().unwrap_or_else(|| tz.from_utc_datetime(&local)).fixed_offset()
    };
    let online = d.chance(0.25);
    let year = day.format("%Y").to_string();
    let title = d.pick(EVENT_TITLES).replace("{city}", city).replace("{year}", &year);
    let key = event_key(index);
    let community_key =
        d.chance(0.3).then(|| CommunityKey::parse(d.pick(COMMUNITIES).key).expect("catalog keys are valid"));
    Event {
        key: EventKey::parse(key.clone()).expect("generated keys are valid"),
        description: Some(format!(
            "{title}. Join fellow members{}; registration opens four weeks before.",
            if online { " online" } else { " in person" }
        )),
        title: Some(title),
        starts_at: at(starts_local),
        ends_at: at(ends_local),
        timezone: Some(tz_name.to_string()),
        location: Some(if online { "Online".to_string() } else { city.to_string() }),
        url: Some(format!("https://events.example.org/{}", key.to_lowercase())),
        community_key,
        status: if d.chance(0.07) { EventStatus::Cancelled } else { EventStatus::Scheduled },
    }
}

struct EventState {
    event: Event,
    changed_at: i64,
    seq: u64,
}

pub struct EventStore {
    clock: Arc<SimClock>,
    inner: Mutex<(Vec<EventState>, u64)>,
    dice: Mutex<Dice>,
}

impl EventStore {
    pub fn new(seed: u64, count: usize, today: NaiveDate, anchor: i64, clock: Arc<SimClock>) -> Self {
        let events = (0..count)
            .map(|i| {
                let mut d = Dice::new(seed, i as u64, STREAM_EVENT + 1);
                EventState {
                    event: generate_event(seed, i, today),
                    changed_at: anchor - 1 - d.below(INITIAL_SPREAD_SECS) as i64,
                    seq: i as u64,
                }
            })
            .collect();
        EventStore { clock, inner: Mutex::new((events, count as u64)), dice: Mutex::new(Dice::new(seed, 0, 98)) }
    }

    fn lock(&self) -> MutexGuard<'_, (Vec<EventState>, u64)> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn all(&self) -> Vec<Event> {
        self.lock().0.iter().map(|e| e.event.clone()).collect()
    }

    /// One page of GetChangedEvents, ordered like the member listing.
    pub fn changed_page(&self, since: Option<i64>, cursor: Option<Cursor>, page_size: usize) -> Page<Event> {
        let guard = self.lock();
        let as_of = self.clock.now();
        let mut matching: Vec<&EventState> = guard
            .0
            .iter()
            .filter(|e| match (cursor, since) {
                (Some(c), _) => (e.changed_at, e.seq) > (c.changed_at, c.seq),
                (None, Some(s)) => e.changed_at >= s,
                (None, None) => true,
            })
            .collect();
        matching.sort_by_key(|e| (e.changed_at, e.seq));
        let page_size = page_size.max(1);
        let more = matching.len() > page_size;
        matching.truncate(page_size);
        let next_cursor = match (more, matching.last()) {
            (true, Some(last)) => {
                Some(Cursor { full: since.is_none(), changed_at: last.changed_at, seq: last.seq }.encode())
            }
            _ => None,
        };
        Page { as_of, items: matching.into_iter().map(|e| e.event.clone()).collect(), next_cursor }
    }

    /// Changes an event and stamps it changed now: `fields` are contract
    /// fields to set; none (or an empty map) makes a random change (the event
    /// moves by some days or gets a new location).
    pub fn change(
        &self,
        key: &str,
        fields: Option<&serde_json::Map<String, serde_json::Value>>,
    ) -> Result<Event, SimError> {
        self.update(key, |event| match fields {
            Some(fields) if !fields.is_empty() => patch_event(event, fields),
            _ => {
                let mut dice = self.dice.lock().unwrap_or_else(|e| e.into_inner());
                if dice.chance(0.5) {
                    let shift = chrono::Duration::days(dice.between(1, 7));
                    event.starts_at += shift;
                    event.ends_at += shift;
                } else {
                    let (city, _) = *dice.pick(EVENT_PLACES);
                    event.location = Some(format!("{city} Convention Center, Hall {}", dice.between(1, 9)));
                }
                Ok(())
            }
        })
    }

    pub fn cancel(&self, key: &str) -> Result<Event, SimError> {
        self.update(key, |event| {
            event.status = EventStatus::Cancelled;
            Ok(())
        })
    }

    fn update(&self, key: &str, f: impl FnOnce(&mut Event) -> Result<(), SimError>) -> Result<Event, SimError> {
        let mut guard = self.lock();
        let (events, next_seq) = &mut *guard;
        let state = events
            .iter_mut()
            .find(|e| e.event.key.as_str() == key)
            .ok_or_else(|| SimError::UnknownEvent(key.to_string()))?;
        let mut event = state.event.clone();
        f(&mut event)?;
        state.event = event;
        state.changed_at = self.clock.stamp();
        state.seq = *next_seq;
        *next_seq += 1;
        Ok(state.event.clone())
    }
}

fn patch_event(event: &mut Event, fields: &serde_json::Map<String, serde_json::Value>) -> Result<(), SimError> {
    let mut value = serde_json::to_value(&*event).expect("events serialize");
    let object = value.as_object_mut().expect("an event is an object");
    for (field, v) in fields {
        if !object.contains_key(field) {
            return Err(SimError::BadRequest(format!("events have no field {field:?}")));
        }
        if field == "key" && v.as_str() != Some(event.key.as_str()) {
            return Err(SimError::BadRequest("the key of an event cannot be changed".into()));
        }
        object.insert(field.clone(), v.clone());
    }
    *event = serde_json::from_value(value).map_err(|e| SimError::BadRequest(format!("event: {e}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_events_are_valid_and_varied() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        let events: Vec<Event> = (0..200).map(|i| generate_event(42, i, today)).collect();
        for e in &events {
            e.validate().unwrap();
        }
        assert!(events.iter().any(|e| e.status == EventStatus::Cancelled));
        assert!(events.iter().any(|e| e.community_key.is_some()));
        assert!(events.iter().any(|e| e.starts_at.offset().local_minus_utc() != 0));
        assert_eq!(generate_event(42, 3, today), events[3]);
    }
}
