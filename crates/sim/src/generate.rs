//! Deterministic member generation: a member's details, memberships and
//! security groups depend only on (seed, index) and the day the sim started
//! (membership terms are relative to "today"), never on how many members
//! there are. Each part comes from its own random stream, so one part can be
//! generated without the others — the sim generates lazily, per request.

use amsync_core::{
    Address, AmsStatus, Community, CommunityKey, Demographic, GroupKey, MemberDetails, MemberKey, Membership, Phone,
    SecurityGroupRef, SocialLink,
};
use chrono::{Datelike, Days, NaiveDate};

use crate::data::catalog::{COMMUNITIES, DEMOGRAPHICS, GROUPS, ROLES};
use crate::data::names::{self, ALL_ORIGINS, CREDENTIALS, EMAIL_DOMAINS, NICKNAMES, PREFIXES, SUFFIXES};
use crate::data::places::{fill, StreetStyle, COUNTRIES, COUNTRY_WEIGHTS};
use crate::dice::Dice;
use crate::member_key::member_key;

const STREAM_DETAILS: u64 = 1;
const STREAM_MEMBERSHIPS: u64 = 2;
const STREAM_GROUPS: u64 = 3;
const STREAM_CHANGED_AT: u64 = 4;

/// How far back the initial `changed_at` values are spread.
pub const INITIAL_SPREAD_SECS: u64 = 30 * 86_400;

/// Everything the AMS knows about one member.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberData {
    pub details: MemberDetails,
    pub memberships: Vec<Membership>,
    pub groups: Vec<SecurityGroupRef>,
}

/// Generates members for one seed and one "today".
#[derive(Debug, Clone)]
pub struct Generator {
    pub seed: u64,
    pub today: NaiveDate,
    /// Midnight (UTC) of `today`, in Unix seconds: initial `changed_at`
    /// values lie before it, so two sims started on the same day agree.
    pub anchor: i64,
}

impl Generator {
    pub fn new(seed: u64, today: NaiveDate) -> Self {
        let anchor = today.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc().timestamp();
        Generator { seed, today, anchor }
    }

    pub fn member(&self, index: u32) -> MemberData {
        MemberData { details: self.details(index), memberships: self.memberships(index), groups: self.groups(index) }
    }

    /// When the member last changed before the sim started.
    pub fn initial_changed_at(&self, index: u32) -> i64 {
        let mut d = Dice::new(self.seed, index as u64, STREAM_CHANGED_AT);
        self.anchor - 1 - d.below(INITIAL_SPREAD_SECS) as i64
    }

    pub fn details(&self, index: u32) -> MemberDetails {
        let mut d = Dice::new(self.seed, index as u64, STREAM_DETAILS);
        let key = member_key(index);
        let country = &COUNTRIES[d.weighted(COUNTRY_WEIGHTS)];
        let origin = if d.chance(0.6) { *d.pick(country.origins) } else { *d.pick(&ALL_ORIGINS) };
        let first = *d.pick(origin.first);
        let last = *d.pick(origin.last);

        let mut m = MemberDetails::empty(MemberKey::parse(key).expect("generated keys are valid"));
        if d.chance(0.01) {
            m.status = AmsStatus::Disabled;
        }
        if d.chance(0.3) {
            m.prefix = Some(d.pick(PREFIXES).to_string());
        }
        m.first_name = Some(first.0.to_string());
        if d.chance(0.3) {
            let other = d.pick(origin.first);
            m.middle_name = Some(if d.chance(0.5) {
                format!("{}.", other.1.chars().next().unwrap_or('A').to_ascii_uppercase())
            } else {
                other.0.to_string()
            });
        }
        m.last_name = Some(last.0.to_string());
        let familiar = NICKNAMES.iter().find(|(formal, _)| *formal == first.0).map(|(_, nick)| *nick);
        match familiar {
            Some(nick) if d.chance(0.6) => m.nickname = Some(nick.to_string()),
            _ if d.chance(0.04) => m.nickname = Some(first.0.to_string()),
            _ => {}
        }
        if d.chance(0.03) {
            m.suffix = Some(d.pick(SUFFIXES).to_string());
        }
        if d.chance(0.15) {
            m.credentials = Some(d.pick(CREDENTIALS).to_string());
        }
        let (fa, la) = (ascii_slug(first), ascii_slug(last));
        m.email = Some(format!("{fa}.{la}{}@{}", index as u64 + 1, d.pick(EMAIL_DOMAINS)));

        let phone_count = d.weighted(&[10, 35, 30, 17, 8]);
        // Mobile and Work numbers are common, a fax is rare.
        let mut types = vec![("Mobile", 40), ("Work", 30), ("Home", 20), ("Primary", 8), ("Fax", 2)];
        for _ in 0..phone_count {
            let weights: Vec<u32> = types.iter().map(|t| t.1).collect();
            let kind = types.remove(d.weighted(&weights)).0;
            let pattern = if kind == "Mobile" { d.pick(country.mobile) } else { d.pick(country.landline) };
            m.phones.push(Phone {
                kind: if d.chance(0.03) { None } else { Some(kind.to_string()) },
                number: fill(pattern, &mut d),
            });
        }

        if d.chance(0.92) {
            let city = d.pick(country.cities);
            let street = *d.pick(country.streets);
            let number = d.between(1, 2400);
            let line1 = match country.style {
                StreetStyle::NumberFirst => format!("{number} {street}"),
                StreetStyle::NumberLast => format!("{street} {}", number % 200 + 1),
                StreetStyle::NumberLastComma => format!("{street}, {number}"),
                StreetStyle::Japanese => {
                    format!("{}-{}-{} {street}", d.between(1, 9), d.between(1, 20), number % 30 + 1)
                }
            };
            m.address = Some(Address {
                line1: Some(line1),
                line2: d.chance(0.25).then(|| d.pick(country.line2).to_string()),
                line3: d.chance(0.02).then(|| "Attn: Accounts Payable".to_string()),
                city: Some(city.name.to_string()),
                state: city.state.map(str::to_string),
                postal_code: Some(fill(city.postal, &mut d)),
                country_code: Some(country.code.to_string()),
            });
        }

        if d.chance(0.15) {
            m.website = Some(if d.chance(0.5) {
                format!("https://{fa}{la}.example.com")
            } else {
                format!("https://www.example.org/~{fa}")
            });
        }

        let social_count = d.weighted(&[45, 30, 15, 10]);
        let mut networks = vec!["linkedin", "x", "mastodon", "github"];
        let n = index as u64 + 1;
        for _ in 0..social_count {
            let network = networks.remove(d.below(networks.len() as u64) as usize);
            let url = match network {
                "linkedin" => format!("https://www.linkedin.com/in/{fa}-{la}-{n}"),
                "x" => format!("https://x.com/{fa}{la}{n}"),
                "mastodon" => format!("https://mastodon.social/@{fa}{n}"),
                _ => format!("https://github.com/{fa}-{la}-{n}"),
            };
            m.social.push(SocialLink { network: network.to_string(), url });
        }

        let demo_count = d.weighted(&[20, 20, 20, 20, 12, 8]);
        let mut questions: Vec<usize> = (0..DEMOGRAPHICS.len()).collect();
        let mut chosen: Vec<usize> =
            (0..demo_count).map(|_| questions.remove(d.below(questions.len() as u64) as usize)).collect();
        chosen.sort_unstable();
        for q in chosen {
            let def = &DEMOGRAPHICS[q];
            let value = if d.chance(0.03) {
                None
            } else if def.values.is_empty() {
                Some(d.between(1985, self.today.year() as i64).to_string())
            } else {
                Some(d.pick(def.values).to_string())
            };
            m.demographics.push(Demographic {
                name: def.name.to_string(),
                value,
                search: def.search ^ d.chance(0.15),
                network: def.network ^ d.chance(0.15),
            });
        }
        m
    }

    pub fn memberships(&self, index: u32) -> Vec<Membership> {
        let mut d = Dice::new(self.seed, index as u64, STREAM_MEMBERSHIPS);
        let count = d.weighted(&[15, 30, 22, 15, 10, 5, 3]);
        let mut out: Vec<Membership> = Vec::with_capacity(count);
        for _ in 0..count {
            // A renewal (a second term in a community already held) now and then.
            let def = match out.last() {
                Some(prev) if d.chance(0.15) => {
                    COMMUNITIES.iter().find(|c| c.key == prev.community.key.as_str()).expect("catalog community")
                }
                _ => d.pick(COMMUNITIES),
            };
            let (begin, end) = self.term(&mut d);
            let role = ROLES[d.weighted(&ROLES.iter().map(|r| r.1).collect::<Vec<_>>())].0;
            let membership = Membership { community: community(def), begin, end, role: Some(role.to_string()) };
            if !out.iter().any(|m| m.id() == membership.id()) {
                out.push(membership);
            }
        }
        out.sort_by(|a, b| a.community.key.cmp(&b.community.key).then(a.begin.cmp(&b.begin)));
        out
    }

    /// A past, current or future term relative to today.
    fn term(&self, d: &mut Dice) -> (NaiveDate, Option<NaiveDate>) {
        let today = self.today;
        match d.weighted(&[20, 65, 15]) {
            0 => {
                let end = minus(today, d.between(1, 1500));
                (minus(end, d.between(30, 730)), Some(end))
            }
            1 => match d.weighted(&[50, 30, 20]) {
                0 => {
                    let y = today.year();
                    (ymd(y, 1, 1), Some(ymd(y, 12, 31)))
                }
                1 => (minus(today, d.between(0, 1500)), None),
                _ => {
                    let begin = minus(today, d.between(0, 364));
                    (begin, Some(plus(begin, 364)))
                }
            },
            _ => {
                let begin = plus(today, d.between(1, 120));
                (begin, d.chance(0.5).then(|| plus(begin, 364)))
            }
        }
    }

    pub fn groups(&self, index: u32) -> Vec<SecurityGroupRef> {
        let mut d = Dice::new(self.seed, index as u64, STREAM_GROUPS);
        let mut keys: Vec<&str> = Vec::new();
        match d.weighted(&[80, 8, 10, 2]) {
            0 => {
                keys.push("MEMBER");
                if d.chance(0.02) {
                    keys.push("STAFF");
                }
                if d.chance(0.03) {
                    keys.push("FELLOW");
                }
            }
            1 => {
                keys.push("STUDENT");
                if d.chance(0.5) {
                    keys.push("MEMBER");
                }
            }
            2 => {} // lapsed: no AMS groups at all
            _ => keys.push("STAFF"),
        }
        let mut out: Vec<SecurityGroupRef> = keys.into_iter().map(group_ref).collect();
        out.sort();
        out
    }
}

/// The catalog entry as the contract names a community.
pub fn community(def: &crate::data::catalog::CommunityDef) -> Community {
    Community {
        key: CommunityKey::parse(def.key).expect("catalog keys are valid"),
        name: Some(def.name.to_string()),
        community_type: Some(def.kind.to_string()),
        group_type: Some(def.group_type.to_string()),
        group_subtype: def.group_subtype.map(str::to_string),
    }
}

/// A catalog group by key.
pub fn group_ref(key: &str) -> SecurityGroupRef {
    let name = GROUPS.iter().find(|g| g.0 == key).map(|g| g.1.to_string());
    SecurityGroupRef { key: GroupKey::parse(key).expect("catalog keys are valid"), name }
}

fn ascii_slug(name: names::Name) -> String {
    name.1.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect()
}

pub fn plus(day: NaiveDate, days: i64) -> NaiveDate {
    day.checked_add_days(Days::new(days as u64)).expect("date in range")
}

pub fn minus(day: NaiveDate, days: i64) -> NaiveDate {
    day.checked_sub_days(Days::new(days as u64)).expect("date in range")
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

#[cfg(test)]
mod tests {
    use super::*;
    use amsync_core::community::{normalize_memberships, validate_memberships};

    fn gen() -> Generator {
        Generator::new(42, NaiveDate::from_ymd_opt(2026, 11, 29).unwrap())
    }

    #[test]
    fn generated_members_satisfy_the_contract() {
        let g = gen();
        for i in 0..3000 {
            let m = g.member(i);
            m.details.validate(&m.details.key).unwrap();
            let mut list = m.memberships.clone();
            normalize_memberships(&mut list);
            assert_eq!(list, m.memberships, "memberships are generated sorted");
            validate_memberships(&m.details.key, &list).unwrap();
            assert!(m.memberships.len() <= 6 && m.details.phones.len() <= 4 && m.details.social.len() <= 3);
            assert!(m.details.demographics.len() <= 5);
            assert!(g.initial_changed_at(i) < g.anchor);
            assert!(g.initial_changed_at(i) >= g.anchor - INITIAL_SPREAD_SECS as i64 - 1);
        }
    }

    #[test]
    fn variety_is_realistic() {
        let g = gen();
        let members: Vec<_> = (0..5000).map(|i| g.member(i)).collect();
        let share = |f: &dyn Fn(&MemberData) -> bool| members.iter().filter(|m| f(m)).count() as f64 / 5000.0;
        let disabled = share(&|m| m.details.status == AmsStatus::Disabled);
        assert!((0.003..0.02).contains(&disabled), "{disabled}");
        assert!(share(&|m| m.details.address.is_none()) > 0.03);
        assert!(share(&|m| m.groups.is_empty()) > 0.05);
        assert!(share(&|m| m.groups.iter().any(|g| g.key.as_str() == "STAFF")) < 0.08);
        assert!(share(&|m| m.details.first_name.as_deref().is_some_and(|n| !n.is_ascii())) > 0.1);
        let today = g.today;
        for term in [amsync_core::community::Term::Past, amsync_core::community::Term::Current] {
            assert!(share(&|m| m.memberships.iter().any(|x| x.term(today) == term)) > 0.1);
        }
        assert!(share(&|m| m.memberships.iter().any(|x| x.term(today) == amsync_core::community::Term::Future)) > 0.05);
        assert!(share(&|m| m.memberships.iter().any(|x| x.end.is_none())) > 0.1);
        let mut emails: Vec<_> = members.iter().map(|m| m.details.email.clone().unwrap()).collect();
        emails.sort();
        emails.dedup();
        assert_eq!(emails.len(), 5000, "e-mail addresses are unique");
        let countries: std::collections::HashSet<_> =
            members.iter().filter_map(|m| m.details.address.as_ref()?.country_code.clone()).collect();
        assert_eq!(countries.len(), COUNTRIES.len());
    }

    #[test]
    fn a_member_depends_only_on_seed_and_index() {
        assert_eq!(gen().member(77), gen().member(77));
        assert_ne!(gen().member(77).details, gen().member(78).details);
        let other = Generator::new(43, gen().today);
        assert_ne!(other.member(77).details, gen().member(77).details);
    }
}
