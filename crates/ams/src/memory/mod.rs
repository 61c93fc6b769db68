//! An AMS held in memory, for tests of the engine (feature `test-util`):
//! no HTTP, no latency, no sleeps.
//!
//! [`MemorySource`] answers the contract's methods from a [`SourceFixture`]
//! and passes the same conformance suite as every other kind (that is what
//! makes it trustworthy as a stand-in). Beyond the data it has the knobs
//! an engine test needs: faults per method and key ([`MemoryFault`]),
//! counts of the calls made, changes to the data while it runs, and a hold
//! that keeps calls waiting until the test releases them, so a test waits
//! on a condition instead of on a timer.
//!
//! Like every kind it does not observe itself; wrap it in
//! [`crate::Observed`] (as the factory wraps the others) to feed the
//! metrics and a [`crate::CallObserver`].

mod fixture;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use amsync_core::error::{DataError, Part};
use amsync_core::group::SecurityGroupRef;
use amsync_core::{MemberKey, Membership, PayloadFormat, RawPayload};
use chrono::{DateTime, SubsecRound, Utc};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::watch;

pub use fixture::{Account, FixtureEvent, FixtureMember, GoneMember, ListedKey, SourceFixture, UnreadableKey};

use crate::codec::entry_record;
use crate::source::{
    checked_details, checked_event, checked_groups, checked_memberships, AmsSource, ChangedKey, ChangedPage,
    CredentialService, DetailsAnswer, EventsPage, Fetched, SourceError,
};

/// A failure to answer instead of the data.
#[derive(Debug, Clone)]
pub struct MemoryFault {
    pub method: Part,
    /// Only calls about this member; `None`: every call of the method.
    pub key: Option<MemberKey>,
    pub error: SourceError,
    /// Answer this many calls, then behave again; `None`: until cleared.
    pub times: Option<u32>,
}

impl MemoryFault {
    /// A 503 on every call of `method`.
    pub fn unavailable(method: Part) -> MemoryFault {
        MemoryFault {
            method,
            key: None,
            error: SourceError::Transient {
                part: method,
                reason: "the AMS answered HTTP 503".into(),
                status: Some(503),
                retry_after: None,
                excerpt: None,
            },
            times: None,
        }
    }

    /// Only on calls about `key`.
    pub fn for_key(mut self, key: MemberKey) -> MemoryFault {
        self.key = Some(key);
        self
    }

    /// Only the next `n` matching calls.
    pub fn times(mut self, n: u32) -> MemoryFault {
        self.times = Some(n);
        self
    }
}

/// The in-memory AMS. Every method may be called from many tasks at once.
pub struct MemorySource {
    data: Mutex<SourceFixture>,
    faults: Mutex<Vec<MemoryFault>>,
    calls: Mutex<HashMap<(Part, Option<MemberKey>), u64>>,
    hold: watch::Sender<bool>,
    in_flight: AtomicUsize,
}

impl MemorySource {
    pub fn new(fixture: SourceFixture) -> MemorySource {
        MemorySource {
            data: Mutex::new(fixture),
            faults: Mutex::new(Vec::new()),
            calls: Mutex::new(HashMap::new()),
            hold: watch::channel(false).0,
            in_flight: AtomicUsize::new(0),
        }
    }

    /// Changes the data; later calls see the change.
    pub fn change(&self, f: impl FnOnce(&mut SourceFixture)) {
        f(&mut self.data.lock().expect("the data lock is never poisoned"));
    }

    /// A copy of the data as it is now.
    pub fn data(&self) -> SourceFixture {
        self.data.lock().expect("the data lock is never poisoned").clone()
    }

    /// Fails matching calls from now on (the first matching fault wins).
    pub fn fail(&self, fault: MemoryFault) {
        self.faults.lock().expect("the faults lock is never poisoned").push(fault);
    }

    pub fn clear_faults(&self) {
        self.faults.lock().expect("the faults lock is never poisoned").clear();
    }

    /// Calls of `method` made so far, about any key.
    pub fn calls(&self, method: Part) -> u64 {
        let calls = self.calls.lock().expect("the calls lock is never poisoned");
        calls.iter().filter(|((m, _), _)| *m == method).map(|(_, n)| n).sum()
    }

    /// Calls of `method` about `key` made so far.
    pub fn calls_for(&self, method: Part, key: &MemberKey) -> u64 {
        let calls = self.calls.lock().expect("the calls lock is never poisoned");
        calls.get(&(method, Some(key.clone()))).copied().unwrap_or(0)
    }

    pub fn reset_calls(&self) {
        self.calls.lock().expect("the calls lock is never poisoned").clear();
    }

    /// Keeps every call waiting (and counted in flight) until [`release`](Self::release).
    pub fn hold(&self) {
        self.hold.send_replace(true);
    }

    /// Lets held and later calls answer.
    pub fn release(&self) {
        self.hold.send_replace(false);
    }

    /// Calls started and not answered yet (held ones included).
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Counts the call, waits while held, then answers with `answer` unless
    /// a fault or the refusal of our credentials comes first.
    async fn call<T>(
        &self,
        method: Part,
        key: Option<&MemberKey>,
        answer: impl FnOnce(&SourceFixture) -> Result<T, SourceError>,
    ) -> Result<T, SourceError> {
        *self.calls.lock().expect("the calls lock is never poisoned").entry((method, key.cloned())).or_default() += 1;
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let mut held = self.hold.subscribe();
        // The sender lives as long as self, so waiting cannot fail.
        let _ = held.wait_for(|h| !h).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        if let Some(error) = self.fault(method, key) {
            return Err(error);
        }
        let data = self.data.lock().expect("the data lock is never poisoned");
        if data.refuses_our_credentials && !matches!(method, Part::Credentials | Part::ResolveToken) {
            return Err(SourceError::Unauthorized { part: method, status: 401, excerpt: None, detail: None });
        }
        answer(&data)
    }

    fn fault(&self, method: Part, key: Option<&MemberKey>) -> Option<SourceError> {
        let mut faults = self.faults.lock().expect("the faults lock is never poisoned");
        let i = faults.iter().position(|f| f.method == method && (f.key.is_none() || f.key.as_ref() == key))?;
        let error = faults[i].error.clone();
        match faults[i].times {
            Some(1) => {
                faults.remove(i);
            }
            Some(n) => faults[i].times = Some(n - 1),
            None => {}
        }
        Some(error)
    }
}

/// A raw answer: the contract's JSON of what was answered.
fn raw(value: &impl serde::Serialize) -> RawPayload {
    RawPayload { format: PayloadFormat::JSON, body: serde_json::to_vec(value).expect("contract values serialize") }
}

/// The page at `cursor` of a listing of `len` entries: its range and the
/// next page's cursor. A cursor this source did not hand out is refused
/// as an HTTP AMS refuses it (400).
fn page(
    part: Part,
    len: usize,
    size: usize,
    cursor: Option<&str>,
) -> Result<(usize, usize, Option<String>), SourceError> {
    let start = match cursor {
        None => 0,
        Some(c) => c.strip_prefix("at-").and_then(|n| n.parse().ok()).filter(|n| *n <= len).ok_or_else(|| {
            SourceError::Permanent { part, status: 400, excerpt: Some(format!("unknown cursor {c:?}")), detail: None }
        })?,
    };
    let end = (start + size.max(1)).min(len);
    Ok((start, end, (end < len).then(|| format!("at-{end}"))))
}

/// The rejection of entry `index` of a changed-members page whose key
/// `text` is no member key, as the contract's codecs name it.
fn unreadable_key(index: usize, text: &str) -> Option<DataError> {
    let error = MemberKey::parse(text).err()?;
    let record = entry_record("changed", index);
    Some(DataError::new(record, Part::ChangedMembers, format!("/changed/{index}/key"), error.to_string()))
}

fn data(error: DataError) -> SourceError {
    SourceError::Data { error, excerpt: None }
}

#[async_trait::async_trait]
impl AmsSource for MemorySource {
    fn kind(&self) -> &'static str {
        "memory"
    }

    async fn health(&self) -> Result<(), SourceError> {
        self.call(Part::Health, None, |_| Ok(())).await
    }

    async fn changed_members(
        &self,
        since: Option<DateTime<Utc>>,
        cursor: Option<&str>,
    ) -> Result<ChangedPage, SourceError> {
        // `since` means what it means on the wire: UTC, whole seconds.
        let since = since.map(|t| t.trunc_subsecs(0));
        self.call(Part::ChangedMembers, None, |d| {
            let all = d.listing(since);
            let (start, end, next_cursor) = page(Part::ChangedMembers, all.len(), d.page_size, cursor)?;
            let mut out =
                ChangedPage { as_of: Some(d.as_of.unwrap_or_else(Utc::now)), next_cursor, ..ChangedPage::default() };
            for (i, (entry, changed_at)) in all[start..end].iter().enumerate() {
                match entry {
                    ListedKey::Member(key) => {
                        out.changed.push(ChangedKey { key: key.clone(), changed_at: Some(*changed_at) })
                    }
                    ListedKey::Unreadable(text) => out.rejected.extend(unreadable_key(i, text)),
                }
            }
            Ok(out)
        })
        .await
    }

    async fn member_details(&self, key: &MemberKey) -> Result<Fetched<DetailsAnswer>, SourceError> {
        self.call(Part::Details, Some(key), |d| {
            if let Some(m) = d.member(key) {
                let value = checked_details(m.details.clone(), key).map_err(data)?;
                return Ok(Fetched { raw: raw(&m.details), value: DetailsAnswer::Found(value) });
            }
            let (status, merged_into) = match d.gone(key) {
                Some(g) => (g.status, g.merged_into.clone()),
                None => (404, None),
            };
            let raw = raw(&serde_json::json!({ "merged_into": merged_into }));
            Ok(Fetched { value: DetailsAnswer::Gone { status, merged_into }, raw })
        })
        .await
    }

    async fn member_communities(&self, key: &MemberKey) -> Result<Fetched<Vec<Membership>>, SourceError> {
        self.call(Part::Communities, Some(key), |d| {
            let m = d.member(key).ok_or(SourceError::Permanent {
                part: Part::Communities,
                status: 404,
                excerpt: None,
                detail: None,
            })?;
            let value = checked_memberships(m.memberships.clone(), key).map_err(data)?;
            Ok(Fetched { value, raw: raw(&serde_json::json!({ "memberships": m.memberships })) })
        })
        .await
    }

    async fn member_groups(&self, key: &MemberKey) -> Result<Fetched<Vec<SecurityGroupRef>>, SourceError> {
        self.call(Part::SecurityGroups, Some(key), |d| {
            let m = d.member(key).ok_or(SourceError::Permanent {
                part: Part::SecurityGroups,
                status: 404,
                excerpt: None,
                detail: None,
            })?;
            let value = checked_groups(m.groups.clone(), key).map_err(data)?;
            Ok(Fetched { value, raw: raw(&serde_json::json!({ "groups": m.groups })) })
        })
        .await
    }

    async fn changed_events(
        &self,
        since: Option<DateTime<Utc>>,
        cursor: Option<&str>,
    ) -> Result<EventsPage, SourceError> {
        let since = since.map(|t| t.trunc_subsecs(0));
        self.call(Part::ChangedEvents, None, |d| {
            let all = d.event_listing(since);
            let (start, end, next_cursor) = page(Part::ChangedEvents, all.len(), d.page_size, cursor)?;
            let mut out =
                EventsPage { as_of: Some(d.as_of.unwrap_or_else(Utc::now)), next_cursor, ..EventsPage::default() };
            for (i, event) in all[start..end].iter().enumerate() {
                match checked_event(event.clone()) {
                    Ok(e) => out.events.push(e),
                    Err(e) => out.rejected.push(crate::codec::under(e, &format!("/events/{i}"))),
                }
            }
            Ok(out)
        })
        .await
    }
}

#[async_trait::async_trait]
impl CredentialService for MemorySource {
    async fn authenticate(&self, username: &str, password: &SecretString) -> Result<Option<MemberKey>, SourceError> {
        self.call(Part::Credentials, None, |d| {
            let account = d.accounts.iter().find(|a| a.username == username && a.password == password.expose_secret());
            Ok(account.map(|a| a.key.clone()))
        })
        .await
    }

    async fn resolve_token(&self, token: &str) -> Result<Option<MemberKey>, SourceError> {
        self.call(Part::ResolveToken, None, |d| Ok(d.tokens.iter().find(|(t, _)| t == token).map(|(_, k)| k.clone())))
            .await
    }
}
