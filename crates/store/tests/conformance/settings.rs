//! Settings: seeded once, rules, IsMember designations, security groups.

use amsync_core::rules::{CommunityRule, RuleAction, RuleSet};
use amsync_core::{GroupKey, GroupSource};

use crate::fixtures::*;
use crate::harness::TestDb;

fn gk(k: &str) -> GroupKey {
    GroupKey::parse(k).unwrap()
}

fn rules() -> RuleSet {
    RuleSet::new(vec![CommunityRule {
        action: RuleAction::Exclude,
        group_type: Some("Committee".into()),
        group_subtype: None,
    }])
}

pub async fn settings_are_seeded_once(db: &mut TestDb) {
    let s = db.s();
    assert_eq!(s.community_rules().await.unwrap(), RuleSet::default());
    assert!(s.is_member_groups().await.unwrap().is_empty());
    assert!(s.seed_settings(&rules(), &[gk("MEMBER")]).await.unwrap());
    assert_eq!(s.community_rules().await.unwrap(), rules());
    assert_eq!(s.is_member_groups().await.unwrap(), [gk("MEMBER")]);
    // A second start with another config changes nothing: the database rules.
    assert!(!s.seed_settings(&RuleSet::default(), &[gk("STAFF")]).await.unwrap());
    assert_eq!(s.community_rules().await.unwrap(), rules());
    assert_eq!(s.is_member_groups().await.unwrap(), [gk("MEMBER")]);
    s.set_community_rules(&RuleSet::default()).await.unwrap();
    assert_eq!(s.community_rules().await.unwrap(), RuleSet::default());
}

pub async fn security_groups_list_builtins_then_ams_groups_as_first_seen(db: &mut TestDb) {
    let s = db.s();
    s.seed_settings(&RuleSet::default(), &[gk("MEMBER"), gk("SuperAdmin")]).await.unwrap();
    let groups = s.security_groups().await.unwrap();
    let names: Vec<_> = groups.iter().map(|g| (g.key.as_str(), g.source, g.is_member)).collect();
    assert_eq!(
        names,
        [
            ("Public", GroupSource::Builtin, false),
            ("Authenticated", GroupSource::Builtin, false),
            ("IsMember", GroupSource::Builtin, false),
            ("SuperAdmin", GroupSource::Builtin, false),
            ("MEMBER", GroupSource::Ams, true),
        ],
        "a built-in cannot be designated"
    );
    assert_eq!(groups[4].first_seen, None, "designated before any member carried it");
    let mut m = member("A");
    m.groups.push(group("STAFF"));
    s.commit_refresh(commit(m, t0())).await.unwrap();
    let groups = s.security_groups().await.unwrap();
    let ams: Vec<_> = groups.iter().filter(|g| g.source == GroupSource::Ams).collect();
    assert_eq!(ams.len(), 2);
    assert_eq!((ams[0].key.as_str(), ams[0].first_seen, ams[0].is_member), ("MEMBER", Some(t0()), true));
    assert_eq!((ams[1].key.as_str(), ams[1].first_seen, ams[1].is_member), ("STAFF", Some(t0()), false));
    assert_eq!(ams[1].name.as_deref(), Some("STAFF group"));
    s.commit_refresh(commit(member("B"), t0() + mins(1))).await.unwrap();
    let again = s.security_groups().await.unwrap();
    assert_eq!(again, groups, "first_seen stays the first time");
}
