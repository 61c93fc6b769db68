//! Countries with plausible addresses and phone numbers in each country's
//! own format. Numbers use ranges reserved for fiction where a country has
//! them (555-01xx in North America, Ofcom's drama ranges in the UK, …).

use crate::data::names::{self, Origin};
use crate::dice::Dice;

/// A city with its state/province (if addresses there carry one) and how
/// its postal codes look: `#` is a digit, `@` a capital letter, other
/// characters are kept.
pub struct City {
    pub name: &'static str,
    pub state: Option<&'static str>,
    pub postal: &'static str,
}

/// How a street address is written.
#[derive(Clone, Copy)]
pub enum StreetStyle {
    /// "1600 Maple Avenue"
    NumberFirst,
    /// "Hauptstraße 12"
    NumberLast,
    /// "Avenida Paulista, 1578"
    NumberLastComma,
    /// "1-2-3 Marunouchi"
    Japanese,
}

pub struct Country {
    pub code: &'static str,
    pub cities: &'static [City],
    pub streets: &'static [&'static str],
    pub style: StreetStyle,
    pub line2: &'static [&'static str],
    /// Landline and mobile patterns (`#` is a random digit).
    pub landline: &'static [&'static str],
    pub mobile: &'static [&'static str],
    /// Name origins common in the country, tried before the global mix.
    pub origins: &'static [&'static Origin],
}

pub const COUNTRIES: &[Country] = &[
    Country {
        code: "US",
        cities: &[
            City { name: "Washington", state: Some("DC"), postal: "200##" },
            City { name: "New York", state: Some("NY"), postal: "100##" },
            City { name: "Chicago", state: Some("IL"), postal: "606##" },
            City { name: "San Francisco", state: Some("CA"), postal: "941##" },
            City { name: "Austin", state: Some("TX"), postal: "787##-####" },
            City { name: "Boston", state: Some("MA"), postal: "021##" },
            City { name: "Seattle", state: Some("WA"), postal: "981##" },
            City { name: "Denver", state: Some("CO"), postal: "802##" },
        ],
        streets: &["Maple Avenue", "Main Street", "Pennsylvania Avenue NW", "Oak Lane", "Market Street", "Elm Court"],
        style: StreetStyle::NumberFirst,
        line2: &["Suite 200", "Apt 4B", "Floor 3", "Unit 12", "PO Box 1187"],
        landline: &["+1 202 555 01##", "+1 312 555 01##", "+1 617 555 01##"],
        mobile: &["+1 415 555 01##", "+1 512 555 01##"],
        origins: &[&names::ENGLISH, &names::IBERIAN],
    },
    Country {
        code: "CA",
        cities: &[
            City { name: "Toronto", state: Some("ON"), postal: "M5V #@#" },
            City { name: "Vancouver", state: Some("BC"), postal: "V6B #@#" },
            City { name: "Montréal", state: Some("QC"), postal: "H2X #@#" },
            City { name: "Ottawa", state: Some("ON"), postal: "K1P #@#" },
        ],
        streets: &["King Street West", "Rue Sainte-Catherine", "Granville Street", "Bank Street"],
        style: StreetStyle::NumberFirst,
        line2: &["Suite 1500", "Unit 7", "Bureau 300"],
        landline: &["+1 416 555 01##", "+1 514 555 01##"],
        mobile: &["+1 604 555 01##"],
        origins: &[&names::ENGLISH, &names::FRENCH],
    },
    Country {
        code: "GB",
        cities: &[
            City { name: "London", state: None, postal: "EC1A #BB" },
            City { name: "London", state: None, postal: "SW1A #AA" },
            City { name: "Manchester", state: Some("Greater Manchester"), postal: "M1 #AE" },
            City { name: "Edinburgh", state: Some("Scotland"), postal: "EH1 #YZ" },
            City { name: "Bristol", state: None, postal: "BS1 #@@" },
        ],
        streets: &["High Street", "Analytical Way", "Queen's Road", "Church Lane", "Victoria Street"],
        style: StreetStyle::NumberFirst,
        line2: &["Flat 3", "Suite 2", "Second Floor"],
        landline: &["+44 20 7946 0###", "+44 161 496 0###", "+44 131 496 0###"],
        mobile: &["+44 7700 900###"],
        origins: &[&names::ENGLISH, &names::SOUTH_ASIAN],
    },
    Country {
        code: "DE",
        cities: &[
            City { name: "Berlin", state: Some("Berlin"), postal: "101##" },
            City { name: "München", state: Some("Bayern"), postal: "803##" },
            City { name: "Hamburg", state: Some("Hamburg"), postal: "200##" },
            City { name: "Köln", state: Some("Nordrhein-Westfalen"), postal: "506##" },
        ],
        streets: &["Hauptstraße", "Friedrichstraße", "Schloßallee", "Am Weinberg", "Goethestraße"],
        style: StreetStyle::NumberLast,
        line2: &["c/o Müller GmbH", "3. OG", "Hinterhaus"],
        landline: &["+49 30 #######", "+49 89 ########", "+49 40 #######"],
        mobile: &["+49 151 ########", "+49 170 #######"],
        origins: &[&names::GERMANIC, &names::SLAVIC],
    },
    Country {
        code: "FR",
        cities: &[
            City { name: "Paris", state: Some("Île-de-France"), postal: "750##" },
            City { name: "Lyon", state: Some("Auvergne-Rhône-Alpes"), postal: "6900#" },
            City { name: "Marseille", state: None, postal: "130##" },
        ],
        streets: &["rue de la Paix", "avenue des Champs-Élysées", "boulevard Saint-Germain", "rue Émile Zola"],
        style: StreetStyle::NumberFirst,
        line2: &["Bâtiment B", "3e étage", "Appartement 12"],
        landline: &["+33 1 ## ## ## ##", "+33 4 ## ## ## ##"],
        mobile: &["+33 6 ## ## ## ##", "+33 7 ## ## ## ##"],
        origins: &[&names::FRENCH],
    },
    Country {
        code: "NL",
        cities: &[
            City { name: "Amsterdam", state: Some("Noord-Holland"), postal: "10## @@" },
            City { name: "Rotterdam", state: Some("Zuid-Holland"), postal: "30## @@" },
            City { name: "Utrecht", state: Some("Utrecht"), postal: "35## @@" },
        ],
        streets: &["Keizersgracht", "Prinsengracht", "Coolsingel", "Oudegracht"],
        style: StreetStyle::NumberLast,
        line2: &["3-hoog", "Unit 4"],
        landline: &["+31 20 ### ####", "+31 10 ### ####"],
        mobile: &["+31 6 ########"],
        origins: &[&names::GERMANIC],
    },
    Country {
        code: "JP",
        cities: &[
            City { name: "千代田区", state: Some("東京都"), postal: "100-####" },
            City { name: "Minato-ku", state: Some("Tokyo"), postal: "105-####" },
            City { name: "Osaka", state: Some("Osaka"), postal: "530-####" },
            City { name: "Kyoto", state: Some("Kyoto"), postal: "600-####" },
        ],
        streets: &["Marunouchi", "Roppongi", "Umeda", "丸の内"],
        style: StreetStyle::Japanese,
        line2: &["5F", "Room 801"],
        landline: &["+81 3-####-####", "+81 6-####-####"],
        mobile: &["+81 90-####-####", "+81 80-####-####"],
        origins: &[&names::EAST_ASIAN],
    },
    Country {
        code: "BR",
        cities: &[
            City { name: "São Paulo", state: Some("SP"), postal: "01310-###" },
            City { name: "Rio de Janeiro", state: Some("RJ"), postal: "20040-###" },
            City { name: "Belo Horizonte", state: Some("MG"), postal: "30130-###" },
        ],
        streets: &["Avenida Paulista", "Rua Augusta", "Avenida Rio Branco", "Rua da Consolação"],
        style: StreetStyle::NumberLastComma,
        line2: &["Conjunto 42", "Sala 1203", "Apto 71"],
        landline: &["+55 11 ####-####", "+55 21 ####-####"],
        mobile: &["+55 11 9####-####", "+55 21 9####-####"],
        origins: &[&names::IBERIAN],
    },
    Country {
        code: "IN",
        cities: &[
            City { name: "Bengaluru", state: Some("KA"), postal: "5600##" },
            City { name: "Mumbai", state: Some("MH"), postal: "4000##" },
            City { name: "New Delhi", state: Some("DL"), postal: "1100##" },
            City { name: "Chennai", state: Some("TN"), postal: "6000##" },
        ],
        streets: &["MG Road", "Linking Road", "Connaught Place", "Anna Salai"],
        style: StreetStyle::NumberFirst,
        line2: &["2nd Floor", "Near City Mall", "Block C"],
        landline: &["+91 80 #### ####", "+91 22 #### ####"],
        mobile: &["+91 98### #####", "+91 99### #####"],
        origins: &[&names::SOUTH_ASIAN],
    },
    Country {
        code: "AU",
        cities: &[
            City { name: "Sydney", state: Some("NSW"), postal: "2000" },
            City { name: "Melbourne", state: Some("VIC"), postal: "3000" },
            City { name: "Brisbane", state: Some("QLD"), postal: "4000" },
            City { name: "Perth", state: Some("WA"), postal: "6000" },
        ],
        streets: &["George Street", "Collins Street", "Queen Street", "St Georges Terrace"],
        style: StreetStyle::NumberFirst,
        line2: &["Level 12", "Unit 5"],
        landline: &["+61 2 #### ####", "+61 3 #### ####"],
        mobile: &["+61 491 570 ###"],
        origins: &[&names::ENGLISH, &names::EAST_ASIAN],
    },
    Country {
        code: "ZA",
        cities: &[
            City { name: "Cape Town", state: Some("WC"), postal: "8001" },
            City { name: "Johannesburg", state: Some("GP"), postal: "2001" },
            City { name: "Durban", state: Some("KZN"), postal: "4001" },
        ],
        streets: &["Long Street", "Main Road", "Jan Smuts Avenue", "Florida Road"],
        style: StreetStyle::NumberFirst,
        line2: &["Unit 3", "Suite 101"],
        landline: &["+27 21 ### ####", "+27 11 ### ####"],
        mobile: &["+27 82 ### ####", "+27 71 ### ####"],
        origins: &[&names::SOUTHERN_AFRICAN, &names::ENGLISH],
    },
];

/// Weights of the countries above: most members of a US-based association
/// live in the US.
pub const COUNTRY_WEIGHTS: &[u32] = &[50, 8, 8, 6, 5, 4, 4, 4, 5, 4, 2];

/// Fills a pattern: `#` becomes a digit, `@` a capital letter.
pub fn fill(pattern: &str, dice: &mut Dice) -> String {
    pattern
        .chars()
        .map(|c| match c {
            '#' => char::from(b'0' + dice.below(10) as u8),
            '@' => char::from(b'A' + dice.below(26) as u8),
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_cover_every_country() {
        assert_eq!(COUNTRIES.len(), COUNTRY_WEIGHTS.len());
    }

    #[test]
    fn fill_keeps_literals() {
        let s = fill("M5V #@#", &mut Dice::new(1, 1, 1));
        assert_eq!(s.len(), 7);
        assert!(s.starts_with("M5V "));
    }
}
