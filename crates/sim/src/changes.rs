//! Changes to members: the ones a test asks for (`ChangeRequest`) and the
//! random realistic ones of `change {}` and churn — a new name, a phone, an
//! address line, a membership added, ended or given another role, a group
//! added or removed, a demographic answer.

use amsync_core::{MemberDetails, Membership, Phone, SecurityGroupRef};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::data::catalog::{COMMUNITIES, DEMOGRAPHICS, GROUPS, ROLES};
use crate::data::names::ALL_ORIGINS;
use crate::dice::Dice;
use crate::error::SimError;
use crate::generate::{community, group_ref, minus, plus, MemberData};

/// A change asked for by a test. All parts absent (`{}`) means "a random
/// realistic change".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChangeRequest {
    /// Contract fields to set (top-level fields of GetMemberDetails; a field
    /// given as `null` is cleared). The key cannot be changed.
    pub details: Option<serde_json::Map<String, serde_json::Value>>,
    /// Replaces the memberships.
    pub memberships: Option<Vec<Membership>>,
    /// Replaces the security groups.
    pub groups: Option<Vec<SecurityGroupRef>>,
}

impl ChangeRequest {
    pub fn is_random(&self) -> bool {
        self.details.is_none() && self.memberships.is_none() && self.groups.is_none()
    }

    /// Applies the requested parts. Data that breaks the contract's limits
    /// (five phones, say) is accepted on purpose: tests use it to see how
    /// amsync reports a data error.
    pub fn apply(&self, data: &mut MemberData) -> Result<(), SimError> {
        if let Some(patch) = &self.details {
            data.details = patch_details(&data.details, patch)?;
        }
        if let Some(m) = &self.memberships {
            data.memberships = m.clone();
        }
        if let Some(g) = &self.groups {
            data.groups = g.clone();
        }
        Ok(())
    }
}

fn patch_details(
    current: &MemberDetails,
    patch: &serde_json::Map<String, serde_json::Value>,
) -> Result<MemberDetails, SimError> {
    let mut value = serde_json::to_value(current).expect("details serialize");
    let object = value.as_object_mut().expect("details are an object");
    for (field, v) in patch {
        if !object.contains_key(field) {
            return Err(SimError::BadRequest(format!("details have no field {field:?}")));
        }
        if field == "key" && v.as_str() != Some(current.key.as_str()) {
            return Err(SimError::BadRequest("the key of a member cannot be changed".into()));
        }
        object.insert(field.clone(), v.clone());
    }
    serde_json::from_value(value).map_err(|e| SimError::BadRequest(format!("details: {e}")))
}

/// Makes one random realistic change; returns what it did, for logs.
pub fn random_change(data: &mut MemberData, dice: &mut Dice, today: NaiveDate) -> &'static str {
    for _ in 0..8 {
        let done = match dice.weighted(&[12, 8, 14, 10, 12, 10, 8, 8, 6, 12]) {
            0 => first_name(data, dice),
            1 => last_name(data, dice),
            2 => phone(data, dice),
            3 => address_line(data, dice),
            4 => add_membership(data, dice, today),
            5 => end_membership(data, today),
            6 => change_role(data, dice, today),
            7 => add_group(data, dice),
            8 => remove_group(data, dice),
            _ => demographic(data, dice),
        };
        if let Some(what) = done {
            return what;
        }
    }
    // Always possible, so every change request changes something.
    first_name(data, dice).expect("a first name can always change")
}

fn first_name(data: &mut MemberData, dice: &mut Dice) -> Option<&'static str> {
    let current = data.details.first_name.clone();
    loop {
        let origin = dice_origin(dice);
        let name = dice.pick(origin.first).0;
        if current.as_deref() != Some(name) {
            data.details.first_name = Some(name.to_string());
            return Some("first_name");
        }
    }
}

fn dice_origin(dice: &mut Dice) -> &'static crate::data::names::Origin {
    ALL_ORIGINS[dice.below(ALL_ORIGINS.len() as u64) as usize]
}

fn last_name(data: &mut MemberData, dice: &mut Dice) -> Option<&'static str> {
    let origin = dice_origin(dice);
    let name = dice.pick(origin.last).0;
    if data.details.last_name.as_deref() == Some(name) {
        return None;
    }
    data.details.last_name = Some(name.to_string());
    Some("last_name")
}

fn phone(data: &mut MemberData, dice: &mut Dice) -> Option<&'static str> {
    let phones = &mut data.details.phones;
    let number = format!("+1 202 555 01{}", dice.digits(2));
    if phones.is_empty() || (phones.len() < 4 && dice.chance(0.3)) {
        phones.push(Phone { kind: Some("Mobile".into()), number });
        return Some("phone added");
    }
    if dice.chance(0.2) {
        phones.remove(dice.below(phones.len() as u64) as usize);
        return Some("phone removed");
    }
    let i = dice.below(phones.len() as u64) as usize;
    if phones[i].number == number {
        return None;
    }
    phones[i].number = number;
    Some("phone changed")
}

fn address_line(data: &mut MemberData, dice: &mut Dice) -> Option<&'static str> {
    let address = data.details.address.as_mut()?;
    if dice.chance(0.5) {
        let line2 = format!("Suite {}", dice.between(100, 999));
        if address.line2.as_deref() == Some(line2.as_str()) {
            return None;
        }
        address.line2 = Some(line2);
        Some("address line2")
    } else {
        let line1 = address.line1.as_deref().unwrap_or("1 Main Street");
        // Keep the street, move the house: a new number before or after it.
        let street: String = line1.chars().filter(|c| !c.is_ascii_digit()).collect();
        let moved = format!("{} {}", dice.between(1, 2400), street.trim());
        if address.line1.as_deref() == Some(moved.as_str()) {
            return None;
        }
        address.line1 = Some(moved);
        Some("address line1")
    }
}

fn add_membership(data: &mut MemberData, dice: &mut Dice, today: NaiveDate) -> Option<&'static str> {
    let def = dice.pick(COMMUNITIES);
    let begin = if dice.chance(0.8) { today } else { plus(today, dice.between(1, 60)) };
    if data.memberships.iter().any(|m| m.community.key.as_str() == def.key && m.begin == begin) {
        return None;
    }
    let role = ROLES[dice.weighted(&ROLES.iter().map(|r| r.1).collect::<Vec<_>>())].0;
    data.memberships.push(Membership {
        community: community(def),
        begin,
        end: dice.chance(0.5).then(|| plus(begin, 364)),
        role: Some(role.to_string()),
    });
    data.memberships.sort_by(|a, b| a.community.key.cmp(&b.community.key).then(a.begin.cmp(&b.begin)));
    Some("membership added")
}

/// Ends a current membership yesterday (one that began before today, so the
/// end stays on or after the begin).
fn end_membership(data: &mut MemberData, today: NaiveDate) -> Option<&'static str> {
    let yesterday = minus(today, 1);
    let m = data.memberships.iter_mut().find(|m| m.is_current(today) && m.begin <= yesterday)?;
    m.end = Some(yesterday);
    Some("membership ended")
}

fn change_role(data: &mut MemberData, dice: &mut Dice, today: NaiveDate) -> Option<&'static str> {
    let current: Vec<usize> = (0..data.memberships.len()).filter(|&i| data.memberships[i].is_current(today)).collect();
    if current.is_empty() {
        return None;
    }
    let m = &mut data.memberships[*dice.pick(&current)];
    let role = dice.pick(ROLES).0;
    if m.role.as_deref() == Some(role) {
        return None;
    }
    m.role = Some(role.to_string());
    Some("membership role")
}

fn add_group(data: &mut MemberData, dice: &mut Dice) -> Option<&'static str> {
    let key = dice.pick(GROUPS).0;
    if data.groups.iter().any(|g| g.key.as_str() == key) {
        return None;
    }
    data.groups.push(group_ref(key));
    data.groups.sort();
    Some("group added")
}

fn remove_group(data: &mut MemberData, dice: &mut Dice) -> Option<&'static str> {
    if data.groups.is_empty() {
        return None;
    }
    data.groups.remove(dice.below(data.groups.len() as u64) as usize);
    Some("group removed")
}

fn demographic(data: &mut MemberData, dice: &mut Dice) -> Option<&'static str> {
    let def = dice.pick(DEMOGRAPHICS);
    if def.values.is_empty() {
        return None;
    }
    let value = Some(dice.pick(def.values).to_string());
    let room = data.details.demographics.len() < 5;
    match data.details.demographics.iter_mut().find(|d| d.name == def.name) {
        Some(d) if d.value == value => None,
        Some(d) => {
            d.value = value;
            Some("demographic changed")
        }
        None if room => {
            data.details.demographics.push(amsync_core::Demographic {
                name: def.name.to_string(),
                value,
                search: def.search,
                network: def.network,
            });
            Some("demographic added")
        }
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::Generator;
    use amsync_core::community::{normalize_memberships, validate_memberships};

    #[test]
    fn random_changes_always_change_and_stay_valid() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        let g = Generator::new(7, today);
        let mut dice = Dice::new(7, 0, 99);
        for i in 0..20_000 {
            let mut data = g.member(i % 300);
            let before = data.clone();
            let what = random_change(&mut data, &mut dice, today);
            assert_ne!(data, before, "{what}");
            data.details.validate(&data.details.key).unwrap();
            let mut list = data.memberships.clone();
            normalize_memberships(&mut list);
            validate_memberships(&data.details.key, &list).unwrap();
        }
    }

    #[test]
    fn requested_changes_patch_fields_and_refuse_a_new_key() {
        let g = Generator::new(7, NaiveDate::from_ymd_opt(2026, 11, 29).unwrap());
        let mut data = g.member(0);
        let req: ChangeRequest =
            serde_json::from_str(r#"{"details": {"first_name": "Ada", "website": null}, "groups": []}"#).unwrap();
        req.apply(&mut data).unwrap();
        assert_eq!(data.details.first_name.as_deref(), Some("Ada"));
        assert_eq!(data.details.website, None);
        assert!(data.groups.is_empty());
        let bad: ChangeRequest = serde_json::from_str(r#"{"details": {"key": "M000002"}}"#).unwrap();
        assert!(bad.apply(&mut data).is_err());
        let unknown: ChangeRequest = serde_json::from_str(r#"{"details": {"shoe_size": 9}}"#).unwrap();
        assert!(unknown.apply(&mut data).is_err());
    }
}
