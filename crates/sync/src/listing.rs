//! The one listing loop, for GetChangedMembers and GetChangedEvents alike:
//! pages by cursor, each page retried within the run (`page_with_retries`),
//! the runaway bound (`ams.max_pages`), the repeated-cursor check (any
//! cursor seen before in the listing, so a cycle A→B→A stops at the
//! repeat), the refused entries counted and the first one named, and the
//! run's durable progress: the caller saves a checkpoint each time what it
//! listed so far is itself durable (enqueued, upserted), and a process that
//! resumes the run continues after the last saved page.
//!
//! While a listing runs, its owner renews the run's lease every third of
//! `member_refresh.lease` (`Shared::holding_lease`); a save made after
//! another process adopted the run changes nothing and stops the listing
//! ([`SyncError::LeaseLost`]). Leases and page retries are timed by the
//! engine's clock.

use std::collections::HashSet;
use std::future::Future;

use amsync_ams::{ChangedPage, EventsPage, SourceError};
use amsync_core::error::DataError;
use amsync_store::{ListingCheckpoint, RunCounts, RunId, RunLease};
use chrono::{DateTime, Utc};
use std::time::Duration;

use crate::error::SyncError;
use crate::shared::Shared;

/// Whether an error of the first page asked with a saved cursor says the AMS
/// does not take that cursor (a 4xx or an answer that does not parse), as
/// opposed to an AMS that is down.
fn refuses_cursor(e: &SourceError) -> bool {
    matches!(e, SourceError::Permanent { .. } | SourceError::Data { .. })
}

/// What the loop reads of a listing page.
pub(crate) trait ListingPage {
    fn as_of(&self) -> Option<DateTime<Utc>>;
    /// Entries read (the refused ones not included).
    fn records(&self) -> u64;
    fn rejected(&self) -> &[DataError];
    fn next_cursor(&self) -> Option<&str>;
}

impl ListingPage for ChangedPage {
    fn as_of(&self) -> Option<DateTime<Utc>> {
        self.as_of
    }
    fn records(&self) -> u64 {
        self.changed.len() as u64
    }
    fn rejected(&self) -> &[DataError] {
        &self.rejected
    }
    fn next_cursor(&self) -> Option<&str> {
        self.next_cursor.as_deref()
    }
}

impl ListingPage for EventsPage {
    fn as_of(&self) -> Option<DateTime<Utc>> {
        self.as_of
    }
    fn records(&self) -> u64 {
        self.events.len() as u64
    }
    fn rejected(&self) -> &[DataError] {
        &self.rejected
    }
    fn next_cursor(&self) -> Option<&str> {
        self.next_cursor.as_deref()
    }
}

enum Position {
    /// Another page follows (or the first is still to come).
    More,
    /// The last page was returned.
    Ended,
    /// The last page named a cursor the listing had already followed.
    Repeated(String),
}

/// One run's listing (see the module).
pub(crate) struct Listing<'e> {
    shared: &'e Shared,
    run: RunId,
    /// `"members"` or `"events"`, in messages and logs.
    what: &'static str,
    checkpoint: ListingCheckpoint,
    /// Counts since the last save (pages and refusals here; the caller adds
    /// its own through [`Listing::counts_mut`]).
    unsaved: RunCounts,
    cursors_seen: HashSet<String>,
    position: Position,
    /// The next page is asked with a cursor saved by another process.
    from_saved_cursor: bool,
    /// The listing goes on from pages listed (and saved) before a take-over.
    continues_saved_pages: bool,
}

impl<'e> Listing<'e> {
    /// A listing of `run` from `checkpoint` (the default one: from the first
    /// page).
    pub fn new(shared: &'e Shared, run: RunId, what: &'static str, checkpoint: ListingCheckpoint) -> Listing<'e> {
        let position = if checkpoint.ended { Position::Ended } else { Position::More };
        let cursors_seen = checkpoint.cursor.iter().cloned().collect();
        let (from_saved_cursor, continues_saved_pages) = (checkpoint.cursor.is_some(), checkpoint.pages > 0);
        Listing {
            shared,
            run,
            what,
            checkpoint,
            unsaved: RunCounts::default(),
            cursors_seen,
            position,
            from_saved_cursor,
            continues_saved_pages,
        }
    }

    /// The next page, or `None` after the last. An error ends the listing: a
    /// page that failed its retries, more than `ams.max_pages` pages, or a
    /// cursor the AMS had already given (after the page that named it).
    ///
    /// A listing taken over from a dead process whose saved cursor the AMS
    /// refuses (a 4xx, an answer that does not parse, as opposed to an AMS
    /// that is down) starts again from its first page, and the run's note
    /// says so.
    pub async fn next<P, F, Fut>(&mut self, mut fetch: F) -> Result<Option<P>, SyncError>
    where
        P: ListingPage,
        F: FnMut(Option<String>) -> Fut,
        Fut: Future<Output = Result<P, SourceError>>,
    {
        match self.next_page(&mut fetch).await {
            Err(SyncError::Source(e)) if self.from_saved_cursor && refuses_cursor(&e) => {
                let note = format!(
                    "restarted from the first page at {}: the AMS refused the cursor saved before the restart ({e})",
                    crate::recovery::when(self.shared.now())
                );
                tracing::warn!(run_id = self.run, listing = self.what, error = %amsync_core::escaped(&e), "a resumed listing restarts from its first page");
                self.shared.store.note_resumed_run(self.run, &self.shared.owner, &note).await?;
                *self = Listing::new(self.shared, self.run, self.what, ListingCheckpoint::default());
                self.next_page(&mut fetch).await
            }
            other => other,
        }
    }

    async fn next_page<P, F, Fut>(&mut self, fetch: &mut F) -> Result<Option<P>, SyncError>
    where
        P: ListingPage,
        F: FnMut(Option<String>) -> Fut,
        Fut: Future<Output = Result<P, SourceError>>,
    {
        match &self.position {
            Position::Ended => return Ok(None),
            Position::Repeated(c) => return Err(SyncError::Listing(format!("the AMS repeated cursor {c:?}"))),
            Position::More => {}
        }
        let max = self.shared.settings.max_pages;
        if self.checkpoint.pages >= max {
            return Err(SyncError::Listing(format!(
                "more than {max} pages of {}; stopped to avoid runaway paging",
                self.what
            )));
        }
        let cursor = self.checkpoint.cursor.clone();
        let page = self.shared.page_with_retries(|| fetch(cursor.clone())).await?;
        self.from_saved_cursor = false;
        self.checkpoint.pages += 1;
        if self.checkpoint.pages == 1 {
            self.checkpoint.first_as_of = page.as_of();
        }
        self.checkpoint.records += page.records();
        for r in page.rejected() {
            tracing::warn!(run_id = self.run, listing = self.what, error = %amsync_core::escaped(&r), "listing entry refused");
            self.checkpoint.first_refused.get_or_insert_with(|| r.to_string());
        }
        let refused = page.rejected().len() as u64;
        self.checkpoint.refused += refused;
        self.unsaved.pages += 1;
        self.unsaved.failed += refused;
        match page.next_cursor().filter(|c| !c.is_empty()) {
            None => {
                self.position = Position::Ended;
                self.checkpoint.cursor = None;
                self.checkpoint.ended = true;
            }
            Some(next) if !self.cursors_seen.insert(next.to_string()) => {
                self.position = Position::Repeated(next.to_string());
            }
            Some(next) => self.checkpoint.cursor = Some(next.to_string()),
        }
        Ok(Some(page))
    }

    /// Whether the listing goes on from pages saved before a take-over (the
    /// keys they listed are not known here, only that they were enqueued).
    pub fn continues_saved_pages(&self) -> bool {
        self.continues_saved_pages
    }

    /// Whether the last page returned was the listing's last.
    pub fn ended(&self) -> bool {
        matches!(self.position, Position::Ended)
    }

    /// The counts the next save adds to the run.
    pub fn counts_mut(&mut self) -> &mut RunCounts {
        &mut self.unsaved
    }

    /// Saves the position after the last page returned, with the counts
    /// since the last save, in one write: call it once everything those
    /// pages listed is durable.
    pub async fn save(&mut self) -> Result<(), SyncError> {
        let counts = std::mem::take(&mut self.unsaved);
        let owner = &self.shared.owner;
        if self.shared.store.save_listing_checkpoint(self.run, owner, &self.checkpoint, &counts).await? {
            Ok(())
        } else {
            Err(SyncError::LeaseLost(self.run))
        }
    }

    /// What the watermark rules need: the first page's `as_of` and the
    /// records listed.
    pub fn summary(&self, started_at: DateTime<Utc>, complete: bool) -> amsync_core::watermark::PollSummary {
        amsync_core::watermark::PollSummary {
            started_at,
            first_as_of: self.checkpoint.first_as_of,
            complete,
            records: self.checkpoint.records,
        }
    }

    /// The run's error for the entries refused, when there were any.
    pub fn refusals(&self) -> Option<String> {
        self.checkpoint.first_refused.as_ref().map(|first| {
            format!("{} listing entries refused (they break the contract); the first: {first}", self.checkpoint.refused)
        })
    }
}

impl Shared {
    /// This process's lease on a run's listing, from now.
    pub fn run_lease(&self) -> RunLease {
        let lease = chrono::Duration::from_std(self.settings.lease).unwrap_or(chrono::Duration::minutes(2));
        RunLease { owner: self.owner.to_string(), until: self.now() + lease }
    }

    /// Runs `work` while renewing this process's lease on `run` every third
    /// of the lease. A renewal that finds the run taken over stops renewing;
    /// `work` then stops at its next save ([`SyncError::LeaseLost`]).
    pub async fn holding_lease<T>(&self, run: RunId, work: impl Future<Output = T>) -> T {
        let period = (self.settings.lease / 3).max(Duration::from_millis(10));
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut held = true;
        tokio::pin!(work);
        loop {
            tokio::select! {
                biased;
                out = &mut work => return out,
                _ = tick.tick(), if held => match self.store.renew_run_lease(run, &self.run_lease()).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(run_id = run, "another process took this run's listing over");
                        held = false;
                    }
                    Err(e) => tracing::warn!(run_id = run, error = %e, "renewing the lease of a run failed"),
                },
            }
        }
    }

    /// Whether this process still holds `run`'s listing (checked before a
    /// listing's end is recorded, so a process that lost the run to another
    /// does not finish it too).
    pub async fn still_holds(&self, run: RunId) -> Result<(), SyncError> {
        if self.store.renew_run_lease(run, &self.run_lease()).await? {
            Ok(())
        } else {
            Err(SyncError::LeaseLost(run))
        }
    }

    /// One listing page (members or events), retried within the run with
    /// the queue's backoff (waited on the clock); bad credentials pause the
    /// source at once.
    pub async fn page_with_retries<T, F, Fut>(&self, mut call: F) -> Result<T, SyncError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SourceError>>,
    {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            match call().await {
                Ok(page) => return Ok(page),
                Err(e @ SourceError::Unauthorized { .. }) | Err(e @ SourceError::Config { .. }) => {
                    // A quarantine already stopped everything; it keeps its reason.
                    if !self.signals.is_quarantined() {
                        self.pause(&format!("unauthorized: {e}")).await?;
                    }
                    return Err(e.into());
                }
                Err(e) if attempt >= self.settings.page_attempts => return Err(e.into()),
                Err(e) => {
                    let delay = self.backoff(attempt, e.retry_after());
                    tracing::debug!(attempt, error = %amsync_core::escaped(&e), delay_ms = delay.as_millis() as u64, "listing page failed; retrying");
                    self.clock.sleep(delay).await;
                }
            }
        }
    }
}
