//! The access-decision benchmark `amsync bench access` runs.
//!
//! One member with 10 memberships (current, ended, future) and 5 groups,
//! against a site of 200 communities, 100 content items and 100 events, asked
//! about a mix of every resource kind (unknown ones included), one decision
//! after another on one thread. Setup is not timed.
//!
//! This is the one place in the core that reads a clock, and only to measure
//! itself: [`std::time::Instant`] never feeds a decision.

use std::fmt::Write;
use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use serde::Serialize;

use super::decide::decide;
use super::policy::AccessPolicy;
use super::principal::Principal;
use super::resource::{ContentId, Resource};
use crate::community::{Community, Membership};
use crate::event::EventStatus;
use crate::group::SecurityGroupRef;
use crate::keys::{CommunityKey, EventKey, GroupKey, MemberKey};
use crate::member::MemberDetails;
use crate::record::{MemberRecord, MemberStatus};

/// What one run measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchResult {
    pub decisions: u64,
    /// How many of them were allowed (also keeps the work from being optimised away).
    pub allowed: u64,
    pub elapsed_s: f64,
    pub decisions_per_s: f64,
    pub ns_per_decision: f64,
    /// Decisions whose reason was also written out (into a reused buffer),
    /// as the API does for every answer.
    pub with_reason_per_s: f64,
}

/// A site, a member and the resources the benchmark asks about.
pub struct BenchSetup {
    pub policy: AccessPolicy,
    pub principal: Principal,
    pub resources: Vec<Resource>,
    pub day: NaiveDate,
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid benchmark date")
}

fn community(key: &str) -> Community {
    Community {
        key: CommunityKey::parse(key).expect("valid benchmark key"),
        name: Some(key.to_string()),
        community_type: Some("Chapter".into()),
        group_type: Some("Chapter".into()),
        group_subtype: None,
    }
}

fn group(key: &str) -> GroupKey {
    GroupKey::parse(key).expect("valid benchmark key")
}

/// Builds the benchmark's site and member.
pub fn setup() -> BenchSetup {
    let day = date(2026, 6, 15);
    let mut builder = AccessPolicy::builder();
    for i in 0..200 {
        let key = format!("CH-{i:03}");
        builder = builder.community(community(&key));
        match i % 4 {
            0 => builder = builder.grant(community(&key).key, group("STAFF")),
            1 => builder = builder.grants(community(&key).key, [group("EDITORS"), group("BOARD")]),
            2 => builder = builder.grant(community(&key).key, group("Public")),
            _ => {}
        }
    }
    let groups_for = |i: usize| match i % 5 {
        0 => vec![group("Public")],
        1 => vec![group("Authenticated")],
        2 => vec![group("IsMember"), group("STAFF")],
        3 => vec![group("EDITORS")],
        _ => vec![group("BOARD"), group("SuperAdmin")],
    };
    for i in 0..100 {
        let id = ContentId::parse(format!("item-{i:03}")).expect("valid benchmark key");
        builder = builder.content(id, groups_for(i));
    }
    for i in 0..100 {
        let key = EventKey::parse(format!("EV-{i:03}")).expect("valid benchmark key");
        let limited = (i % 3 != 0).then(|| community(&format!("CH-{:03}", i * 2)).key);
        let status = if i % 7 == 0 { EventStatus::Cancelled } else { EventStatus::Scheduled };
        builder = builder.event(key, limited, status);
    }
    let policy = builder.build();

    // 10 memberships: 6 current, 2 ended, 2 future.
    let terms = [
        (0, date(2025, 1, 1), Some(date(2026, 12, 31))),
        (3, date(2024, 1, 1), None),
        (7, date(2026, 1, 1), Some(date(2026, 6, 15))),
        (12, date(2026, 6, 15), None),
        (40, date(2020, 1, 1), Some(date(2030, 1, 1))),
        (41, date(2026, 1, 1), None),
        (42, date(2024, 1, 1), Some(date(2025, 12, 31))),
        (80, date(2023, 1, 1), Some(date(2026, 3, 31))),
        (120, date(2026, 7, 1), None),
        (121, date(2027, 1, 1), Some(date(2027, 12, 31))),
    ];
    let memberships = terms
        .iter()
        .map(|&(i, begin, end)| Membership {
            community: community(&format!("CH-{i:03}")),
            begin,
            end,
            role: Some("Member".into()),
        })
        .collect();
    let record = MemberRecord {
        details: MemberDetails::empty(MemberKey::parse("M000123").expect("valid benchmark key")),
        status: MemberStatus::Active,
        disabled_reason: None,
        merged_into: None,
        memberships,
        ams_groups: ["MEMBER", "VOLUNTEER", "EDITORS"]
            .iter()
            .map(|k| SecurityGroupRef { key: group(k), name: None })
            .collect(),
        local_groups: vec![group("BOARD"), group("WEBTEAM")],
    };
    let principal = Principal::from_record(&record, &[group("MEMBER")]);

    // A mix of every kind: communities held and not, granted and not,
    // content, open/limited/cancelled events, and unknown keys.
    let mut resources = Vec::new();
    for i in [0, 3, 7, 12, 40, 42, 80, 120, 1, 2, 5, 9, 150, 199, 300] {
        let key = community(&format!("CH-{i:03}")).key;
        resources.push(match i % 3 {
            0 => Resource::Library(key),
            1 => Resource::Discussion(key),
            _ => Resource::Microsite(key),
        });
    }
    for i in [0, 1, 2, 3, 4, 17, 58, 99, 250] {
        resources.push(Resource::Content(ContentId::parse(format!("item-{i:03}")).expect("valid benchmark key")));
    }
    for i in [0, 1, 2, 6, 7, 20, 21, 40, 98, 500] {
        resources.push(Resource::Event(EventKey::parse(format!("EV-{i:03}")).expect("valid benchmark key")));
    }
    BenchSetup { policy, principal, resources, day }
}

/// Makes `iterations` decisions and reports the rate.
pub fn bench_decisions(iterations: u64) -> BenchResult {
    let s = setup();
    let n = s.resources.len();
    let mut allowed = 0u64;
    let start = Instant::now();
    let mut i = 0usize;
    for _ in 0..iterations {
        let d = decide(black_box(&s.principal), black_box(&s.resources[i]), black_box(&s.policy), black_box(s.day));
        allowed += u64::from(black_box(d).allowed);
        i += 1;
        if i == n {
            i = 0;
        }
    }
    let secs = start.elapsed().max(Duration::from_nanos(1)).as_secs_f64();

    // The same again, writing each reason, on a tenth of the iterations.
    let worded = (iterations / 10).max(1);
    let mut text = String::with_capacity(256);
    let start = Instant::now();
    for k in 0..worded {
        let d = decide(black_box(&s.principal), &s.resources[k as usize % n], black_box(&s.policy), s.day);
        text.clear();
        write!(text, "{d}").expect("writing to a String cannot fail");
        black_box(&text);
    }
    let worded_secs = start.elapsed().max(Duration::from_nanos(1)).as_secs_f64();
    BenchResult {
        decisions: iterations,
        allowed,
        elapsed_s: secs,
        decisions_per_s: iterations as f64 / secs,
        ns_per_decision: secs * 1e9 / iterations.max(1) as f64,
        with_reason_per_s: worded as f64 / worded_secs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_benchmark_asks_a_real_mix() {
        let s = setup();
        let decisions: Vec<_> = s.resources.iter().map(|r| decide(&s.principal, r, &s.policy, s.day)).collect();
        let allowed = decisions.iter().filter(|d| d.allowed).count();
        assert!(allowed > 5 && allowed < decisions.len() - 5, "{allowed} of {} allowed", decisions.len());
        let codes: std::collections::BTreeSet<_> = decisions.iter().map(|d| d.reason.why.code()).collect();
        for code in ["current_member", "group_granted", "content_allows", "open_event", "unknown_community"] {
            assert!(codes.contains(code), "{code} missing from {codes:?}");
        }
        let r = bench_decisions(1000);
        assert_eq!(r.decisions, 1000);
        assert!(r.decisions_per_s > 0.0);
    }
}
