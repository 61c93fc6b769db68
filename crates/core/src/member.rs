//! A member's details as the AMS contract defines them (GetMemberDetails).
//!
//! The serde shape is the contract's JSON shape, field for field, so the same
//! type reads the AMS's answer, is stored, and is served by the API.

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Part};
use crate::keys::MemberKey;

/// At most this many phones; a fifth is a data error, never truncated.
pub const MAX_PHONES: usize = 4;
/// Longest short text (names, phone numbers, cities, types), in characters.
pub const MAX_SHORT_TEXT: usize = 256;
/// Longest long text (URLs, demographic values), in characters.
pub const MAX_LONG_TEXT: usize = 2048;
/// Most social links or demographics a member may carry.
pub const MAX_LIST_ITEMS: usize = 100;

/// What the AMS says about whether the record may sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AmsStatus {
    #[default]
    Active,
    Disabled,
}

impl AmsStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AmsStatus::Active => "active",
            AmsStatus::Disabled => "disabled",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Phone {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    pub number: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Address {
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub line3: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country_code: Option<String>,
}

impl Address {
    /// An address with no value in any field is the same as no address.
    pub fn is_empty(&self) -> bool {
        self == &Address::default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SocialLink {
    pub network: String,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Demographic {
    pub name: String,
    #[serde(default)]
    pub value: Option<String>,
    /// Shown as a search facet.
    #[serde(default)]
    pub search: bool,
    /// Shown on the profile.
    #[serde(default)]
    pub network: bool,
}

/// GetMemberDetails, as the contract shapes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MemberDetails {
    pub key: MemberKey,
    #[serde(default)]
    pub status: AmsStatus,
    #[serde(default)]
    pub prefix: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub middle_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub nickname: Option<String>,
    #[serde(default)]
    pub suffix: Option<String>,
    #[serde(default)]
    pub credentials: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phones: Vec<Phone>,
    #[serde(default)]
    pub address: Option<Address>,
    #[serde(default)]
    pub website: Option<String>,
    #[serde(default)]
    pub social: Vec<SocialLink>,
    #[serde(default)]
    pub demographics: Vec<Demographic>,
}

impl MemberDetails {
    /// A record with only a key, everything else empty.
    pub fn empty(key: MemberKey) -> Self {
        MemberDetails {
            key,
            status: AmsStatus::Active,
            prefix: None,
            first_name: None,
            middle_name: None,
            last_name: None,
            nickname: None,
            suffix: None,
            credentials: None,
            email: None,
            phones: Vec::new(),
            address: None,
            website: None,
            social: Vec::new(),
            demographics: Vec::new(),
        }
    }

    /// Brings equivalent encodings of "no value" to one form: an empty string
    /// and an all-empty address are `None`, so JSON and XML sources of the
    /// same data produce equal records (and equal content hashes).
    pub fn normalize(&mut self) {
        for f in [
            &mut self.prefix,
            &mut self.first_name,
            &mut self.middle_name,
            &mut self.last_name,
            &mut self.nickname,
            &mut self.suffix,
            &mut self.credentials,
            &mut self.email,
            &mut self.website,
        ] {
            none_if_empty(f);
        }
        for p in &mut self.phones {
            none_if_empty(&mut p.kind);
        }
        if let Some(a) = &mut self.address {
            for f in [
                &mut a.line1,
                &mut a.line2,
                &mut a.line3,
                &mut a.city,
                &mut a.state,
                &mut a.postal_code,
                &mut a.country_code,
            ] {
                none_if_empty(f);
            }
            if a.is_empty() {
                self.address = None;
            }
        }
        for d in &mut self.demographics {
            none_if_empty(&mut d.value);
        }
    }

    /// Checks the contract's limits. `expected` is the key that was asked for:
    /// an answer about another member is refused.
    pub fn validate(&self, expected: &MemberKey) -> Result<(), DataError> {
        let record = expected.as_str();
        let err = |field: &str, msg: String| DataError::new(record, Part::Details, field, msg);
        if &self.key != expected {
            return Err(err("/key", format!("answer is for member {:?}, not the one asked for", self.key.as_str())));
        }
        if self.phones.len() > MAX_PHONES {
            return Err(err(
                &format!("/phones/{}", MAX_PHONES),
                format!("{} phones given, at most {MAX_PHONES} are allowed", self.phones.len()),
            ));
        }
        for (name, v) in [
            ("prefix", &self.prefix),
            ("first_name", &self.first_name),
            ("middle_name", &self.middle_name),
            ("last_name", &self.last_name),
            ("nickname", &self.nickname),
            ("suffix", &self.suffix),
            ("credentials", &self.credentials),
            ("email", &self.email),
        ] {
            check_len(v.as_deref(), MAX_SHORT_TEXT).map_err(|m| err(&format!("/{name}"), m))?;
        }
        check_len(self.website.as_deref(), MAX_LONG_TEXT).map_err(|m| err("/website", m))?;
        for (i, p) in self.phones.iter().enumerate() {
            check_len(p.kind.as_deref(), MAX_SHORT_TEXT).map_err(|m| err(&format!("/phones/{i}/type"), m))?;
            check_len(Some(&p.number), MAX_SHORT_TEXT).map_err(|m| err(&format!("/phones/{i}/number"), m))?;
            if p.number.trim().is_empty() {
                return Err(err(&format!("/phones/{i}/number"), "a phone without a number".into()));
            }
        }
        if let Some(a) = &self.address {
            for (name, v) in [
                ("line1", &a.line1),
                ("line2", &a.line2),
                ("line3", &a.line3),
                ("city", &a.city),
                ("state", &a.state),
                ("postal_code", &a.postal_code),
            ] {
                check_len(v.as_deref(), MAX_SHORT_TEXT).map_err(|m| err(&format!("/address/{name}"), m))?;
            }
            if let Some(cc) = &a.country_code {
                if cc.len() != 2 || !cc.bytes().all(|b| b.is_ascii_uppercase()) {
                    return Err(err(
                        "/address/country_code",
                        format!("{cc:?} is not an ISO 3166-1 alpha-2 code (two capital letters)"),
                    ));
                }
            }
        }
        if self.social.len() > MAX_LIST_ITEMS {
            return Err(err("/social", format!("{} links, at most {MAX_LIST_ITEMS}", self.social.len())));
        }
        for (i, s) in self.social.iter().enumerate() {
            check_len(Some(&s.network), MAX_SHORT_TEXT).map_err(|m| err(&format!("/social/{i}/network"), m))?;
            check_len(Some(&s.url), MAX_LONG_TEXT).map_err(|m| err(&format!("/social/{i}/url"), m))?;
        }
        if self.demographics.len() > MAX_LIST_ITEMS {
            return Err(err(
                "/demographics",
                format!("{} demographics, at most {MAX_LIST_ITEMS}", self.demographics.len()),
            ));
        }
        for (i, d) in self.demographics.iter().enumerate() {
            check_len(Some(&d.name), MAX_SHORT_TEXT).map_err(|m| err(&format!("/demographics/{i}/name"), m))?;
            check_len(d.value.as_deref(), MAX_LONG_TEXT).map_err(|m| err(&format!("/demographics/{i}/value"), m))?;
        }
        Ok(())
    }
}

fn none_if_empty(v: &mut Option<String>) {
    if v.as_deref().is_some_and(str::is_empty) {
        *v = None;
    }
}

/// Refuses text longer than `max` characters or carrying control characters
/// other than tab and newline.
pub fn check_len(v: Option<&str>, max: usize) -> Result<(), String> {
    let Some(v) = v else { return Ok(()) };
    let n = v.chars().count();
    if n > max {
        return Err(format!("{n} characters, at most {max} are allowed"));
    }
    if let Some(c) = v.chars().find(|c| c.is_control() && *c != '\n' && *c != '\t' && *c != '\r') {
        return Err(format!("contains the control character U+{:04X}", c as u32));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> MemberKey {
        MemberKey::parse("M1").unwrap()
    }

    #[test]
    fn reads_the_contract_example() {
        let json = r#"{
          "key": "M1", "status": "active", "prefix": "Dr.", "first_name": "Ada",
          "phones": [{"type": "Work", "number": "+1 202 555 0100"}],
          "address": {"line1": "1 Analytical Way", "line3": null, "country_code": "GB"},
          "social": [{"network": "linkedin", "url": "https://www.linkedin.com/in/ada"}],
          "demographics": [{"name": "Industry", "value": "Computing", "search": true, "network": true}]
        }"#;
        let d: MemberDetails = serde_json::from_str(json).unwrap();
        assert_eq!(d.phones[0].kind.as_deref(), Some("Work"));
        assert_eq!(d.address.as_ref().unwrap().country_code.as_deref(), Some("GB"));
        d.validate(&key()).unwrap();
    }

    #[test]
    fn fifth_phone_is_a_data_error_naming_the_field() {
        let mut d = MemberDetails::empty(key());
        d.phones = (0..5).map(|i| Phone { kind: None, number: format!("{i}") }).collect();
        let e = d.validate(&key()).unwrap_err();
        assert_eq!(e.field, "/phones/4");
        assert_eq!(e.record, "M1");
    }

    #[test]
    fn normalize_makes_empty_strings_none() {
        let mut d = MemberDetails::empty(key());
        d.first_name = Some(String::new());
        d.address = Some(Address { city: Some(String::new()), ..Default::default() });
        d.normalize();
        assert_eq!(d.first_name, None);
        assert_eq!(d.address, None);
    }

    #[test]
    fn bad_country_code_is_refused() {
        let mut d = MemberDetails::empty(key());
        d.address = Some(Address { country_code: Some("gbr".into()), ..Default::default() });
        assert_eq!(d.validate(&key()).unwrap_err().field, "/address/country_code");
    }

    #[test]
    fn answer_for_another_member_is_refused() {
        let d = MemberDetails::empty(MemberKey::parse("M2").unwrap());
        assert_eq!(d.validate(&key()).unwrap_err().field, "/key");
    }
}
