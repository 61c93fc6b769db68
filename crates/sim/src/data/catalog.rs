//! The fixed catalogs: communities (chapters, committees, SIGs), AMS
//! security groups, demographic questions and membership roles.

/// One community of the catalog, in the contract's terms.
pub struct CommunityDef {
    pub key: &'static str,
    pub name: &'static str,
    /// The Community Type string.
    pub kind: &'static str,
    pub group_type: &'static str,
    pub group_subtype: Option<&'static str>,
}

const fn chapter(key: &'static str, name: &'static str, subtype: &'static str) -> CommunityDef {
    CommunityDef { key, name, kind: "Chapter", group_type: "Chapter", group_subtype: Some(subtype) }
}

const fn committee(key: &'static str, name: &'static str, subtype: &'static str) -> CommunityDef {
    CommunityDef { key, name, kind: "Committee", group_type: "Committee", group_subtype: Some(subtype) }
}

const fn sig(key: &'static str, name: &'static str, subtype: Option<&'static str>) -> CommunityDef {
    CommunityDef { key, name, kind: "Special Interest Group", group_type: "SIG", group_subtype: subtype }
}

pub const COMMUNITIES: &[CommunityDef] = &[
    chapter("CH-NYC", "New York Chapter", "Regional"),
    chapter("CH-DC", "Washington, DC Chapter", "Regional"),
    chapter("CH-CHI", "Chicago Chapter", "Regional"),
    chapter("CH-SFO", "San Francisco Bay Area Chapter", "Regional"),
    chapter("CH-BOS", "Boston Chapter", "Regional"),
    chapter("CH-TOR", "Toronto Chapter", "Regional"),
    chapter("CH-MTL", "Chapitre de Montréal", "Regional"),
    chapter("CH-LON", "London Chapter", "Regional"),
    chapter("CH-BER", "Berlin-Brandenburg Chapter", "Regional"),
    chapter("CH-MÜN", "Chapter München", "Regional"),
    chapter("CH-PAR", "Paris & Île-de-France Chapter", "Regional"),
    chapter("CH-AMS", "Amsterdam Chapter", "Regional"),
    chapter("CH-TYO", "東京 Chapter (Tokyo)", "Regional"),
    chapter("CH-SAO", "São Paulo Chapter", "Regional"),
    chapter("CH-BLR", "Bengaluru Chapter", "Regional"),
    chapter("CH-SYD", "Sydney Chapter", "Regional"),
    chapter("CH-JNB", "Johannesburg Chapter", "Regional"),
    chapter("CH-STU-MIT", "MIT Student Chapter", "Student"),
    chapter("CH-STU-UCL", "UCL Student Chapter", "Student"),
    chapter("CH-STU-TUM", "TU München Student Chapter", "Student"),
    chapter("CH-STU-USP", "USP Student Chapter", "Student"),
    committee("COM-FIN", "Finance Committee", "Standing"),
    committee("COM-GOV", "Governance Committee", "Standing"),
    committee("COM-MEM", "Membership Committee", "Standing"),
    committee("COM-ETH", "Ethics Committee", "Standing"),
    committee("COM-EDU", "Education & Professional Development Committee", "Standing"),
    committee("COM-AWD", "Awards Committee", "Standing"),
    committee("COM-DEI", "Diversity, Equity & Inclusion Committee", "Standing"),
    committee("COM-AH-BYLAWS", "Bylaws Review Task Force", "Ad Hoc"),
    committee("COM-AH-ANNUAL", "Annual Meeting Program Committee", "Ad Hoc"),
    committee("COM-AH-STRAT", "Strategic Plan <2030> Working Group", "Ad Hoc"),
    sig("SIG-AI", "AI Special Interest Group", None),
    sig("SIG-SEC", "Security & Privacy SIG", Some("Technical")),
    sig("SIG-DATA", "Data Science SIG", Some("Technical")),
    sig("SIG-CLOUD", "Cloud Infrastructure SIG", Some("Technical")),
    sig("SIG-WIT", "Women in Tech", None),
    sig("SIG-EARLY", "Early Career Professionals", None),
    sig("SIG-SUST", "Sustainability SIG", None),
    sig("SIG-RD", "Research & Development SIG", Some("Technical")),
    sig("SIG-POLICY", "Public Policy \"Think Tank\" SIG", None),
];

/// Membership roles with their weights: most members are plain members.
pub const ROLES: &[(&str, u32)] =
    &[("Member", 80), ("Chair", 4), ("Vice Chair", 3), ("Secretary", 3), ("Treasurer", 2), ("Board Member", 8)];

/// AMS security groups: (key, name).
pub const GROUPS: &[(&str, &str)] =
    &[("MEMBER", "Member"), ("STAFF", "Staff"), ("STUDENT", "Student"), ("FELLOW", "Fellow")];

/// A demographic question, its possible values and its usual flags.
pub struct DemographicDef {
    pub name: &'static str,
    pub values: &'static [&'static str],
    pub search: bool,
    pub network: bool,
}

pub const DEMOGRAPHICS: &[DemographicDef] = &[
    DemographicDef {
        name: "Industry",
        values: &["Healthcare", "Education", "Government", "Technology", "Finance", "Nonprofit", "Manufacturing"],
        search: true,
        network: true,
    },
    DemographicDef {
        name: "Job Function",
        values: &["Executive", "Management", "Engineering", "Research", "Sales & Marketing", "Operations", "Student"],
        search: true,
        network: true,
    },
    DemographicDef { name: "Member Since", values: &[], search: false, network: true },
    DemographicDef {
        name: "Company Size",
        values: &["1-10", "11-50", "51-200", "201-1,000", "1,000+"],
        search: true,
        network: false,
    },
    DemographicDef {
        name: "Region",
        values: &["Northeast", "Midwest", "South", "West", "International"],
        search: true,
        network: false,
    },
    DemographicDef {
        name: "Years of Experience",
        values: &["0-2", "3-5", "6-10", "11-20", "20+"],
        search: false,
        network: false,
    },
    DemographicDef {
        name: "Preferred Language",
        values: &["English", "Español", "Deutsch", "Français", "日本語", "Português"],
        search: false,
        network: true,
    },
];

/// Event title templates; `{city}` and `{year}` are filled in.
pub const EVENT_TITLES: &[&str] = &[
    "Annual Meeting {year}",
    "{city} Networking Night",
    "Webinar: Ethics in Practice",
    "Leadership Summit {year}",
    "Board of Directors Meeting",
    "Webinar: Data Privacy & You",
    "{city} Chapter Breakfast",
    "Student Career Fair {year}",
    "Committee Kick-off",
    "Hackathon: Open Data {year}",
    "Members' Book Club: \"The Mythical Man-Month\"",
    "Volunteer Appreciation Reception",
];

/// Places events happen in: (city, IANA time zone).
pub const EVENT_PLACES: &[(&str, &str)] = &[
    ("Washington, DC", "America/New_York"),
    ("New York", "America/New_York"),
    ("Chicago", "America/Chicago"),
    ("San Francisco", "America/Los_Angeles"),
    ("Toronto", "America/Toronto"),
    ("London", "Europe/London"),
    ("Berlin", "Europe/Berlin"),
    ("Paris", "Europe/Paris"),
    ("Amsterdam", "Europe/Amsterdam"),
    ("Tokyo", "Asia/Tokyo"),
    ("São Paulo", "America/Sao_Paulo"),
    ("Bengaluru", "Asia/Kolkata"),
    ("Sydney", "Australia/Sydney"),
    ("Cape Town", "Africa/Johannesburg"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn community_keys_are_unique() {
        let mut keys: Vec<_> = COMMUNITIES.iter().map(|c| c.key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), COMMUNITIES.len());
        assert!(COMMUNITIES.len() >= 35);
    }

    #[test]
    fn event_time_zones_are_iana_names() {
        for (_, tz) in EVENT_PLACES {
            assert!(tz.parse::<chrono_tz::Tz>().is_ok(), "{tz}");
        }
    }
}
