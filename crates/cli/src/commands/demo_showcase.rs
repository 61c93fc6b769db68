//! The members `amsync demo` suggests looking at first, picked from the
//! simulated data so that they show what the product does: memberships
//! current, future and past, AMS groups (one member whose group counts as
//! IsMember, one whose group does not), an access summary, and a history
//! entry beyond their first load (the demo changes them in the simulated
//! AMS once they are loaded, and the periodic refresh brings the change).

use std::sync::Arc;
use std::time::Duration;

use amsync_core::community::Term;
use amsync_core::{AmsStatus, MemberKey};
use amsync_sim::{ChangeRequest, MemberTruth, Sim};
use amsync_store::Store;

/// A member worth a first look.
#[derive(Debug, Clone)]
pub struct Showcase {
    pub key: String,
    /// Its AMS groups.
    pub groups: Vec<String>,
    /// One of them counts as IsMember.
    pub is_member: bool,
    /// A community it is a current member of (for the access example).
    pub community: String,
}

/// Active, with memberships of every term and at least one AMS group.
fn shows_everything(t: &MemberTruth, today: chrono::NaiveDate) -> bool {
    let has = |term| t.memberships.iter().any(|m| m.term(today) == term);
    !t.deleted
        && t.details.status == AmsStatus::Active
        && has(Term::Current)
        && has(Term::Future)
        && has(Term::Past)
        && !t.groups.is_empty()
}

/// The first member (by key) that shows everything and whose groups
/// include `member_group`, then the first whose groups do not: the
/// difference IsMember makes. Either may be missing in a tiny population.
pub fn pick(sim: &Sim, member_group: &str) -> Vec<Showcase> {
    let today = sim.today();
    let candidates: Vec<MemberTruth> = sim.truths().into_iter().filter(|t| shows_everything(t, today)).collect();
    let in_group = |t: &MemberTruth| t.groups.iter().any(|g| g.key.as_str().eq_ignore_ascii_case(member_group));
    let firsts = [candidates.iter().find(|t| in_group(t)), candidates.iter().find(|t| !in_group(t))];
    firsts
        .into_iter()
        .flatten()
        .map(|t| Showcase {
            key: t.key.clone(),
            groups: t.groups.iter().map(|g| g.key.as_str().to_string()).collect(),
            is_member: in_group(t),
            community: t
                .memberships
                .iter()
                .find(|m| m.term(today) == Term::Current)
                .map(|m| m.community.key.as_str().to_string())
                .unwrap_or_default(),
        })
        .collect()
}

/// Once the initial load has stored each member, changes its credentials
/// in the simulated AMS, so that the next periodic refresh records a
/// change in its history (before → after).
pub async fn change_once_loaded(sim: Sim, store: Arc<dyn Store>, members: Vec<Showcase>) {
    for m in members {
        let Ok(key) = MemberKey::parse(m.key.as_str()) else { continue };
        loop {
            match store.get_member(&key).await {
                Ok(Some(_)) => break,
                Ok(None) => tokio::time::sleep(Duration::from_millis(250)).await,
                Err(e) => {
                    tracing::warn!(member = m.key, error = %e, "the demo could not read a suggested member");
                    return;
                }
            }
        }
        let now = sim.truth(&m.key).ok().and_then(|t| t.details.credentials);
        let credentials = if now.as_deref() == Some("CAE") { "CAE, FASAE" } else { "CAE" };
        let mut details = serde_json::Map::new();
        details.insert("credentials".into(), credentials.into());
        match sim.change(&m.key, &ChangeRequest { details: Some(details), ..ChangeRequest::default() }) {
            Ok(_) => tracing::info!(member = m.key, credentials, "the simulated AMS changed a suggested member"),
            Err(e) => tracing::warn!(member = m.key, error = %e, "the demo could not change a suggested member"),
        }
    }
}
