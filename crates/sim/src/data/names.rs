//! International personal names, each with an ASCII form for e-mail
//! addresses and profile URLs. Non-ASCII and non-Latin names are deliberate:
//! they exercise escaping and encodings end to end.

/// A name as displayed, and its ASCII transliteration (lower case).
pub type Name = (&'static str, &'static str);

/// Name pools by origin; a country prefers some origins (see `places`).
pub struct Origin {
    pub first: &'static [Name],
    pub last: &'static [Name],
}

pub const ENGLISH: Origin = Origin {
    first: &[
        ("James", "james"),
        ("Mary", "mary"),
        ("Olivia", "olivia"),
        ("Liam", "liam"),
        ("Emma", "emma"),
        ("Noah", "noah"),
        ("Ava", "ava"),
        ("William", "william"),
        ("Sophia", "sophia"),
        ("Benjamin", "benjamin"),
        ("Charlotte", "charlotte"),
        ("Elizabeth", "elizabeth"),
        ("Michael", "michael"),
        ("Grace", "grace"),
        ("Daniel", "daniel"),
        ("Hannah", "hannah"),
        ("Robert", "robert"),
        ("Katherine", "katherine"),
        ("Siobhán", "siobhan"),
        ("Seán", "sean"),
        ("Aoife", "aoife"),
        ("D'Arcy", "darcy"),
    ],
    last: &[
        ("Smith", "smith"),
        ("Johnson", "johnson"),
        ("Williams", "williams"),
        ("Brown", "brown"),
        ("Taylor", "taylor"),
        ("Anderson", "anderson"),
        ("Thompson", "thompson"),
        ("O'Brien", "obrien"),
        ("Ó Súilleabháin", "osuilleabhain"),
        ("MacDonald", "macdonald"),
        ("Smith-Jones", "smith-jones"),
        ("Walker", "walker"),
        ("Harris", "harris"),
        ("Clarke", "clarke"),
        ("Lovelace", "lovelace"),
    ],
};

pub const IBERIAN: Origin = Origin {
    first: &[
        ("José", "jose"),
        ("María", "maria"),
        ("Sofía", "sofia"),
        ("João", "joao"),
        ("Ana", "ana"),
        ("Luís", "luis"),
        ("Inês", "ines"),
        ("Mateus", "mateus"),
        ("Camila", "camila"),
        ("Ángel", "angel"),
        ("Lucía", "lucia"),
        ("Gonçalo", "goncalo"),
        ("Beatriz", "beatriz"),
        ("Tomás", "tomas"),
    ],
    last: &[
        ("García", "garcia"),
        ("Fernández", "fernandez"),
        ("Silva", "silva"),
        ("Gonçalves", "goncalves"),
        ("Pereira", "pereira"),
        ("Rodríguez", "rodriguez"),
        ("Martínez", "martinez"),
        ("Sousa", "sousa"),
        ("Oliveira", "oliveira"),
        ("Núñez", "nunez"),
        ("da Costa", "dacosta"),
        ("Muñoz", "munoz"),
    ],
};

pub const GERMANIC: Origin = Origin {
    first: &[
        ("Jürgen", "juergen"),
        ("Anja", "anja"),
        ("Lukas", "lukas"),
        ("Jörg", "joerg"),
        ("Stefan", "stefan"),
        ("Katrin", "katrin"),
        ("Björn", "bjoern"),
        ("Sanne", "sanne"),
        ("Daan", "daan"),
        ("Bram", "bram"),
        ("Sjoerd", "sjoerd"),
        ("Ingrid", "ingrid"),
        ("Søren", "soeren"),
        ("Åsa", "asa"),
        ("Mette", "mette"),
        ("Jørgen", "joergen"),
        ("Lea", "lea"),
        ("Maximilian", "maximilian"),
    ],
    last: &[
        ("Müller", "mueller"),
        ("Schröder", "schroeder"),
        ("Weiß", "weiss"),
        ("Becker", "becker"),
        ("Hoffmann", "hoffmann"),
        ("de Vries", "devries"),
        ("van der Berg", "vanderberg"),
        ("Jansen", "jansen"),
        ("Sørensen", "soerensen"),
        ("Lindqvist", "lindqvist"),
        ("Jensen", "jensen"),
        ("Bakker", "bakker"),
        ("Schäfer", "schaefer"),
        ("Østergaard", "oestergaard"),
    ],
};

pub const FRENCH: Origin = Origin {
    first: &[
        ("Zoë", "zoe"),
        ("Chloé", "chloe"),
        ("Élodie", "elodie"),
        ("François", "francois"),
        ("Hélène", "helene"),
        ("Noël", "noel"),
        ("Amélie", "amelie"),
        ("Théo", "theo"),
        ("Camille", "camille"),
        ("Julien", "julien"),
        ("Gaëlle", "gaelle"),
        ("Jérôme", "jerome"),
    ],
    last: &[
        ("Dubois", "dubois"),
        ("Lefèvre", "lefevre"),
        ("Martin", "martin"),
        ("Bernard", "bernard"),
        ("Moreau", "moreau"),
        ("Girard", "girard"),
        ("Rousseau", "rousseau"),
        ("Bélanger", "belanger"),
        ("Côté", "cote"),
        ("Leclerc", "leclerc"),
    ],
};

pub const SLAVIC: Origin = Origin {
    first: &[
        ("Łukasz", "lukasz"),
        ("Agnieszka", "agnieszka"),
        ("Małgorzata", "malgorzata"),
        ("Paweł", "pawel"),
        ("Wojciech", "wojciech"),
        ("Zofia", "zofia"),
        ("Tomáš", "tomas"),
        ("Petra", "petra"),
    ],
    last: &[
        ("Kowalski", "kowalski"),
        ("Wiśniewska", "wisniewska"),
        ("Nowak", "nowak"),
        ("Wójcik", "wojcik"),
        ("Dvořák", "dvorak"),
        ("Novotná", "novotna"),
    ],
};

pub const EAST_ASIAN: Origin = Origin {
    first: &[
        ("伟", "wei"),
        ("芳", "fang"),
        ("娜", "na"),
        ("Wei", "wei"),
        ("Mei", "mei"),
        ("Thảo", "thao"),
        ("Minh", "minh"),
        ("Phương", "phuong"),
        ("Đức", "duc"),
        ("Yūki", "yuki"),
        ("Sōta", "sota"),
        ("花子", "hanako"),
        ("Haruto", "haruto"),
        ("Ji-woo", "jiwoo"),
        ("Min-jun", "minjun"),
    ],
    last: &[
        ("李", "li"),
        ("王", "wang"),
        ("张", "zhang"),
        ("Chen", "chen"),
        ("Nguyễn", "nguyen"),
        ("Trần", "tran"),
        ("Lê", "le"),
        ("佐藤", "sato"),
        ("Tanaka", "tanaka"),
        ("Suzuki", "suzuki"),
        ("Kim", "kim"),
        ("Park", "park"),
        ("高橋", "takahashi"),
    ],
};

pub const SOUTH_ASIAN: Origin = Origin {
    first: &[
        ("Priya", "priya"),
        ("Arjun", "arjun"),
        ("Aarav", "aarav"),
        ("Ananya", "ananya"),
        ("Rohan", "rohan"),
        ("Lakshmi", "lakshmi"),
        ("Vikram", "vikram"),
        ("Deepa", "deepa"),
        ("Sanjay", "sanjay"),
    ],
    last: &[
        ("Sharma", "sharma"),
        ("Patel", "patel"),
        ("Iyer", "iyer"),
        ("Reddy", "reddy"),
        ("Gupta", "gupta"),
        ("Nair", "nair"),
        ("Banerjee", "banerjee"),
        ("Singh", "singh"),
    ],
};

pub const SOUTHERN_AFRICAN: Origin = Origin {
    first: &[
        ("Thabo", "thabo"),
        ("Nomvula", "nomvula"),
        ("Sipho", "sipho"),
        ("Lerato", "lerato"),
        ("Zanele", "zanele"),
        ("Pieter", "pieter"),
        ("Anri", "anri"),
    ],
    last: &[
        ("Nkosi", "nkosi"),
        ("Dlamini", "dlamini"),
        ("van der Merwe", "vandermerwe"),
        ("Botha", "botha"),
        ("Mokoena", "mokoena"),
        ("Naidoo", "naidoo"),
    ],
};

pub const ALL_ORIGINS: [&Origin; 8] =
    [&ENGLISH, &IBERIAN, &GERMANIC, &FRENCH, &SLAVIC, &EAST_ASIAN, &SOUTH_ASIAN, &SOUTHERN_AFRICAN];

/// Familiar forms shown as the nickname, by formal first name.
pub const NICKNAMES: &[(&str, &str)] = &[
    ("William", "Bill"),
    ("Elizabeth", "Liz"),
    ("Katherine", "Kate"),
    ("Robert", "Bob"),
    ("Michael", "Mike"),
    ("Benjamin", "Ben"),
    ("Daniel", "Dan"),
    ("Maximilian", "Max"),
    ("Małgorzata", "Gosia"),
    ("Charlotte", "Lottie"),
    ("Wojciech", "Wojtek"),
    ("Aleksandra", "Ola"),
    ("José", "Pepe"),
    ("Francisco", "Paco"),
    ("François", "Franck"),
];

pub const PREFIXES: &[&str] = &["Dr.", "Mr.", "Ms.", "Mrs.", "Mx.", "Prof."];
pub const SUFFIXES: &[&str] = &["Jr.", "Sr.", "II", "III"];
pub const CREDENTIALS: &[&str] =
    &["PhD", "CAE", "PhD, CAE", "MBA", "CPA", "PE", "RN", "MD", "FASAE, CAE", "JD", "MSc", "Dipl.-Ing."];
pub const EMAIL_DOMAINS: &[&str] =
    &["example.org", "example.com", "example.net", "mail.example.org", "members.example.com", "uni.example.edu"];
