//! Community rules: which communities come over from the AMS (product.md job 5).
//!
//! Rules match on Group Type and Group Sub Type. First match wins; a
//! community no rule matches is included; an omitted field or `*` matches any
//! value including null; matching is exact and case-sensitive.

use serde::{Deserialize, Serialize};

use crate::community::Community;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleAction {
    Include,
    Exclude,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommunityRule {
    pub action: RuleAction,
    /// `None` or `"*"` matches any Group Type, including none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_type: Option<String>,
    /// `None` or `"*"` matches any Group Sub Type, including none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_subtype: Option<String>,
}

fn field_matches(pattern: &Option<String>, value: &Option<String>) -> bool {
    match pattern.as_deref() {
        None | Some("*") => true,
        Some(p) => value.as_deref() == Some(p),
    }
}

impl CommunityRule {
    pub fn matches(&self, c: &Community) -> bool {
        field_matches(&self.group_type, &c.group_type) && field_matches(&self.group_subtype, &c.group_subtype)
    }
}

/// An ordered list of rules.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RuleSet {
    pub rules: Vec<CommunityRule>,
}

/// Why a community is in or out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleVerdict {
    /// Rule number `n` (0-based) matched.
    Matched { index: usize, action: RuleAction },
    /// No rule matched: included by default.
    Default,
}

impl RuleVerdict {
    pub fn includes(self) -> bool {
        !matches!(self, RuleVerdict::Matched { action: RuleAction::Exclude, .. })
    }
}

impl RuleSet {
    pub fn new(rules: Vec<CommunityRule>) -> Self {
        RuleSet { rules }
    }

    pub fn verdict(&self, c: &Community) -> RuleVerdict {
        self.rules
            .iter()
            .enumerate()
            .find(|(_, r)| r.matches(c))
            .map(|(index, r)| RuleVerdict::Matched { index, action: r.action })
            .unwrap_or(RuleVerdict::Default)
    }

    pub fn includes(&self, c: &Community) -> bool {
        self.verdict(c).includes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::CommunityKey;

    fn c(gt: Option<&str>, st: Option<&str>) -> Community {
        Community {
            key: CommunityKey::parse("C").unwrap(),
            name: None,
            community_type: None,
            group_type: gt.map(String::from),
            group_subtype: st.map(String::from),
        }
    }

    fn rule(action: RuleAction, gt: Option<&str>, st: Option<&str>) -> CommunityRule {
        CommunityRule { action, group_type: gt.map(String::from), group_subtype: st.map(String::from) }
    }

    #[test]
    fn table() {
        use RuleAction::*;
        let committee_excluded = RuleSet::new(vec![rule(Exclude, Some("Committee"), Some("*"))]);
        let cases: &[(&RuleSet, Community, bool, &str)] = &[
            (&RuleSet::default(), c(None, None), true, "no rules: default include"),
            (&committee_excluded, c(Some("Committee"), None), false, "* matches null subtype"),
            (&committee_excluded, c(Some("Committee"), Some("Board")), false, "* matches any subtype"),
            (&committee_excluded, c(Some("committee"), None), true, "exact case"),
            (&committee_excluded, c(Some("Chapter"), None), true, "no match: default include"),
            (&committee_excluded, c(None, None), true, "a value pattern does not match null"),
        ];
        for (rules, community, want, why) in cases {
            assert_eq!(rules.includes(community), *want, "{why}");
        }
    }

    #[test]
    fn first_match_wins() {
        use RuleAction::*;
        let rules = RuleSet::new(vec![rule(Include, Some("SIG"), Some("AI")), rule(Exclude, Some("SIG"), None)]);
        assert!(rules.includes(&c(Some("SIG"), Some("AI"))));
        assert!(!rules.includes(&c(Some("SIG"), Some("Other"))));
        assert_eq!(rules.verdict(&c(Some("SIG"), None)), RuleVerdict::Matched { index: 1, action: Exclude });
    }

    #[test]
    fn omitted_fields_deserialize_as_any() {
        let r: CommunityRule = serde_json::from_str(r#"{"action": "exclude"}"#).unwrap();
        assert!(r.matches(&c(Some("X"), Some("Y"))));
        assert!(serde_json::from_str::<CommunityRule>(r#"{"action": "exclude", "grouptype": "x"}"#).is_err());
    }
}
