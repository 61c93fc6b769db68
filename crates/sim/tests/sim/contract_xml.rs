//! Every contract method in XML: element and attribute names exactly as the
//! contract gives them, values equal to the truth, escaping right.

use amsync_core::{
    Address, AmsStatus, Community, CommunityKey, Demographic, GroupKey, MemberDetails, MemberKey, Membership, Phone,
    SecurityGroupRef, SocialLink,
};
use amsync_sim::MemberTruth;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::json;

use crate::helpers::{parse_xml, small, spawn, El};

fn opt(s: Option<&str>) -> Option<String> {
    s.map(str::to_string)
}

/// Reads `<Member>` back into the contract's shape.
fn details_from_xml(m: &El) -> MemberDetails {
    assert_eq!(m.name, "Member");
    let mut d = MemberDetails::empty(MemberKey::parse(m.text_of("MemberKey").unwrap()).unwrap());
    d.status = match m.text_of("Status") {
        Some("disabled") => AmsStatus::Disabled,
        Some("active") => AmsStatus::Active,
        other => panic!("status {other:?}"),
    };
    d.prefix = opt(m.text_of("Prefix"));
    d.first_name = opt(m.text_of("FirstName"));
    d.middle_name = opt(m.text_of("MiddleName"));
    d.last_name = opt(m.text_of("LastName"));
    d.nickname = opt(m.text_of("InformalName"));
    d.suffix = opt(m.text_of("Suffix"));
    d.credentials = opt(m.text_of("Designation"));
    d.email = opt(m.text_of("Email1"));
    for i in 1..=4 {
        if let Some(number) = m.text_of(&format!("Phone{i}")) {
            d.phones.push(Phone { kind: opt(m.text_of(&format!("Phone{i}Type"))), number: number.to_string() });
        }
    }
    if let Some(a) = m.child("Address") {
        assert_eq!(a.names(), ["Line1", "Line2", "Line3", "City", "State", "PostalCode", "CountryCode"]);
        d.address = Some(Address {
            line1: opt(a.text_of("Line1")),
            line2: opt(a.text_of("Line2")),
            line3: opt(a.text_of("Line3")),
            city: opt(a.text_of("City")),
            state: opt(a.text_of("State")),
            postal_code: opt(a.text_of("PostalCode")),
            country_code: opt(a.text_of("CountryCode")),
        });
    }
    d.website = opt(m.text_of("WebsiteUrl"));
    if let Some(s) = m.child("SocialMedia") {
        for site in s.all("Site") {
            d.social.push(SocialLink { network: site.attr("Network").unwrap().into(), url: site.text.clone() });
        }
    }
    if let Some(ds) = m.child("Demographics") {
        for x in ds.all("Demographic") {
            d.demographics.push(Demographic {
                name: x.attr("Name").unwrap().into(),
                value: Some(x.text.clone()).filter(|t| !t.is_empty()),
                search: x.attr("Search") == Some("true"),
                network: x.attr("Network") == Some("true"),
            });
        }
    }
    d
}

fn memberships_from_xml(root: &El) -> Vec<Membership> {
    assert_eq!(root.name, "Memberships");
    root.all("Membership")
        .into_iter()
        .map(|m| {
            let c = m.child("Community").unwrap();
            Membership {
                community: Community {
                    key: CommunityKey::parse(c.attr("Key").unwrap()).unwrap(),
                    name: Some(c.text.clone()).filter(|t| !t.is_empty()),
                    community_type: opt(c.attr("Type")),
                    group_type: opt(c.attr("GroupType")),
                    group_subtype: opt(c.attr("GroupSubType")),
                },
                begin: m.attr("Begin").unwrap().parse().unwrap(),
                end: m.attr("End").map(|e| e.parse().unwrap()),
                role: opt(m.attr("Role")),
            }
        })
        .collect()
}

fn groups_from_xml(root: &El) -> Vec<SecurityGroupRef> {
    assert_eq!(root.name, "SecurityGroups");
    root.all("Group")
        .into_iter()
        .map(|g| SecurityGroupRef {
            key: GroupKey::parse(g.attr("Key").unwrap()).unwrap(),
            name: Some(g.text.clone()).filter(|t| !t.is_empty()),
        })
        .collect()
}

#[tokio::test]
async fn generated_members_read_back_equal_from_xml() {
    let sim = spawn(small(120)).await;
    for i in 1..=120 {
        let key = format!("M{i:06}");
        let truth: MemberTruth = serde_json::from_value(sim.json(&format!("/_sim/members/{key}")).await).unwrap();
        let mut d = details_from_xml(&sim.xml(&format!("/members/{key}")).await);
        let mut expected = truth.details.clone();
        d.normalize();
        expected.normalize();
        assert_eq!(d, expected, "{key}");
        assert_eq!(memberships_from_xml(&sim.xml(&format!("/members/{key}/communities")).await), truth.memberships);
        assert_eq!(groups_from_xml(&sim.xml(&format!("/members/{key}/security-groups")).await), truth.groups);
    }
}

#[tokio::test]
async fn element_names_order_and_escaping_follow_the_contract() {
    let sim = spawn(small(5)).await;
    let change = json!({
        "details": {
            "status": "active", "prefix": "Dr.", "first_name": "Zoë & <Ada>", "middle_name": "King",
            "last_name": "O'Brien \"Q\"", "nickname": "Ada", "suffix": "III", "credentials": "PhD, CAE",
            "email": "ada@example.org",
            "phones": [{"type": "Work", "number": "+1 202 555 0100"}, {"type": null, "number": "+1 202 555 0101"}],
            "address": {"line1": "1 Analytical Way", "line2": "Suite 2", "line3": null, "city": "London",
                        "state": "LDN", "postal_code": "EC1A 1BB", "country_code": "GB"},
            "website": "https://ada.example.org/?a=1&b=2",
            "social": [{"network": "linkedin", "url": "https://www.linkedin.com/in/ada"}],
            "demographics": [{"name": "Industry", "value": "R&D", "search": true, "network": false},
                             {"name": "Member \"Since\"", "value": null, "search": false, "network": true}]
        },
        "memberships": [
            {"community": {"key": "CH-NYC", "name": "New York <Chapter>", "type": "Chapter", "group_type": "Chapter",
                           "group_subtype": "Regional"}, "begin": "2026-01-01", "end": "2026-12-31", "role": "Chair"},
            {"community": {"key": "SIG-AI", "name": "AI & ML", "type": "Special Interest Group", "group_type": "SIG",
                           "group_subtype": null}, "begin": "2025-06-01", "end": null, "role": "Member"}
        ],
        "groups": [{"key": "MEMBER", "name": "Member"}, {"key": "STAFF", "name": "Staff & Co"}]
    });
    sim.control("/_sim/members/M000002/change", change).await;

    let raw = sim.get_xml("/members/M000002").await.text().await.unwrap();
    assert!(raw.contains("<FirstName>Zoë &amp; &lt;Ada&gt;</FirstName>"), "{raw}");
    let m = parse_xml(&raw);
    assert_eq!(
        m.names(),
        [
            "MemberKey",
            "Status",
            "Prefix",
            "FirstName",
            "MiddleName",
            "LastName",
            "InformalName",
            "Suffix",
            "Designation",
            "Email1",
            "Phone1",
            "Phone1Type",
            "Phone2",
            "Address",
            "WebsiteUrl",
            "SocialMedia",
            "Demographics"
        ]
    );
    assert_eq!(m.text_of("FirstName"), Some("Zoë & <Ada>"));
    assert_eq!(m.text_of("LastName"), Some("O'Brien \"Q\""));
    assert_eq!(m.text_of("InformalName"), Some("Ada"));
    assert_eq!(m.text_of("Designation"), Some("PhD, CAE"));
    assert_eq!(m.text_of("WebsiteUrl"), Some("https://ada.example.org/?a=1&b=2"));
    assert_eq!(m.child("Address").unwrap().child("Line3").unwrap().text, "");
    let site = m.child("SocialMedia").unwrap().child("Site").unwrap();
    assert_eq!((site.attr("Network"), site.text.as_str()), (Some("linkedin"), "https://www.linkedin.com/in/ada"));
    let demo = m.child("Demographics").unwrap().all("Demographic");
    assert_eq!(
        demo[0].attrs,
        [("Name".into(), "Industry".into()), ("Search".into(), "true".into()), ("Network".into(), "false".into())]
    );
    assert_eq!(demo[0].text, "R&D");
    assert_eq!(demo[1].attr("Name"), Some("Member \"Since\""));
    assert!(demo[1].text.is_empty());

    let c = sim.xml("/members/M000002/communities").await;
    let ms = c.all("Membership");
    assert_eq!(
        ms[0].attrs,
        [("Begin".into(), "2026-01-01".into()), ("End".into(), "2026-12-31".into()), ("Role".into(), "Chair".into())]
    );
    let community = ms[0].child("Community").unwrap();
    assert_eq!(community.attr("Key"), Some("CH-NYC"));
    assert_eq!(community.attr("Type"), Some("Chapter"));
    assert_eq!(community.attr("GroupType"), Some("Chapter"));
    assert_eq!(community.attr("GroupSubType"), Some("Regional"));
    assert_eq!(community.text, "New York <Chapter>");
    assert_eq!(ms[1].attr("End"), None, "open-ended");
    assert_eq!(ms[1].child("Community").unwrap().attr("GroupSubType"), None);

    let g = sim.xml("/members/M000002/security-groups").await;
    assert_eq!(g.all("Group")[1].attr("Key"), Some("STAFF"));
    assert_eq!(g.all("Group")[1].text, "Staff & Co");
}

#[tokio::test]
async fn changed_members_and_events_in_xml() {
    let sim = spawn(amsync_sim::SimConfig { page_size: 30, ..small(70) }).await;
    let mut keys = Vec::new();
    let mut page = sim.xml("/members/changed").await;
    loop {
        assert_eq!(page.name, "GetChangedMembersResult");
        assert!(page.attr("AsOf").unwrap().ends_with('Z'));
        for c in page.all("ChangedMember") {
            assert_eq!(c.names(), ["MemberKey", "LastUpdated"]);
            chrono::DateTime::parse_from_rfc3339(c.text_of("LastUpdated").unwrap()).unwrap();
            keys.push(c.text_of("MemberKey").unwrap().to_string());
        }
        match page.attr("NextCursor") {
            Some(cursor) => page = sim.xml(&format!("/members/changed?cursor={cursor}")).await,
            None => break,
        }
    }
    keys.sort();
    assert_eq!(keys.len(), 70);
    assert_eq!(keys.first().map(String::as_str), Some("M000001"));

    let events = sim.xml("/events/changed").await;
    assert_eq!(events.name, "GetChangedEventsResult");
    let all = events.all("Event");
    assert_eq!(all.len(), 12);
    let truth: Vec<amsync_core::Event> = serde_json::from_value(sim.json("/_sim/events").await).unwrap();
    for e in all {
        assert_eq!(
            e.names(),
            ["Title", "Description", "StartsAt", "EndsAt", "TimeZone", "Location", "Url", "CommunityKey", "Status"]
        );
        let t = truth.iter().find(|t| Some(t.key.as_str()) == e.attr("Key")).unwrap();
        assert_eq!(e.text_of("Title"), t.title.as_deref());
        assert_eq!(chrono::DateTime::parse_from_rfc3339(e.text_of("StartsAt").unwrap()).unwrap(), t.starts_at);
        assert_eq!(e.text_of("TimeZone"), t.timezone.as_deref());
        assert_eq!(e.text_of("CommunityKey"), t.community_key.as_ref().map(|k| k.as_str()));
        assert_eq!(e.text_of("Status"), Some(t.status.as_str()));
    }
}

#[tokio::test]
async fn gone_and_auth_in_xml() {
    let sim = spawn(small(10)).await;
    sim.control("/_sim/members/M000004/merge", json!({"into": "M000009"})).await;
    let r = sim.get_xml("/members/M000004").await;
    assert_eq!(r.status(), 410);
    let gone = parse_xml(&r.text().await.unwrap());
    assert_eq!((gone.name.as_str(), gone.attr("MergedInto")), ("Gone", Some("M000009")));

    let body = "<Credentials><Username>M000003</Username><Password>pw-M000003</Password></Credentials>";
    let r = sim
        .client
        .post(sim.url("/auth/credentials"))
        .header(CONTENT_TYPE, "application/xml")
        .header(ACCEPT, "application/xml")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let answer = parse_xml(&r.text().await.unwrap());
    assert_eq!((answer.name.as_str(), answer.text.as_str()), ("MemberKey", "M000003"));

    let token = sim.control("/_sim/tokens", json!({"key": "M000005"})).await["token"].as_str().unwrap().to_string();
    let r = sim
        .client
        .post(sim.url("/auth/resolve-token"))
        .header(CONTENT_TYPE, "application/xml")
        .header(ACCEPT, "application/xml")
        .body(format!("<ResolveToken><Token>{token}</Token></ResolveToken>"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(parse_xml(&r.text().await.unwrap()).text, "M000005");

    let dtd = r#"<!DOCTYPE x [<!ENTITY e "M000003">]><Credentials><Username>&e;</Username><Password>pw-M000003</Password></Credentials>"#;
    let r = sim
        .client
        .post(sim.url("/auth/credentials"))
        .header(CONTENT_TYPE, "application/xml")
        .body(dtd)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}
