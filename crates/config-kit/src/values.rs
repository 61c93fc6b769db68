//! The value kinds the file writes as strings: durations (`"30m"`), byte
//! sizes (`"8MiB"`), URLs, socket addresses, IANA time zones, IP networks
//! and cron expressions.
//!
//! Each kind is parsed once, at load time, into the type the rest of amsync
//! uses (`std::time::Duration`, `url::Url`, …), and written back in the same
//! notation, so a configuration can be printed and read again. The `with`
//! modules here are used as `#[serde(with = "amsync_config_kit::values::text")]`.

use std::fmt;
use std::marker::PhantomData;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use ipnet::IpNet;
use serde::{de, Deserialize, Deserializer, Serializer};
use url::Url;

/// A value written as a string in the file.
pub trait TextValue: Sized {
    /// What a good value looks like, for "invalid type" messages.
    const EXPECTING: &'static str;
    fn parse_text(s: &str) -> Result<Self, String>;
    fn to_text(&self) -> String;
}

impl TextValue for Duration {
    const EXPECTING: &'static str = r#"a duration such as "300ms", "10s", "30m", "1h" or "30d""#;
    fn parse_text(s: &str) -> Result<Self, String> {
        humantime::parse_duration(s)
            .map_err(|e| format!("invalid duration {s:?}: {e}; write it like \"10s\" or \"30m\""))
    }
    fn to_text(&self) -> String {
        humantime::format_duration(*self).to_string()
    }
}

impl TextValue for Url {
    const EXPECTING: &'static str = r#"an http or https URL such as "https://ams.example.org/api""#;
    fn parse_text(s: &str) -> Result<Self, String> {
        let url = Url::parse(s).map_err(|e| format!("invalid URL {s:?}: {e}"))?;
        match url.scheme() {
            "http" | "https" => {}
            other => return Err(format!("invalid URL {s:?}: the scheme is {other:?}, expected http or https")),
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("invalid URL {s:?}: it has no host"));
        }
        Ok(url)
    }
    fn to_text(&self) -> String {
        self.to_string()
    }
}

impl TextValue for SocketAddr {
    const EXPECTING: &'static str = r#"an IP address and port such as "127.0.0.1:8080" or "[::1]:8080""#;
    fn parse_text(s: &str) -> Result<Self, String> {
        s.parse().map_err(|_| format!("invalid socket address {s:?}: expected IP:port such as \"127.0.0.1:8080\""))
    }
    fn to_text(&self) -> String {
        self.to_string()
    }
}

impl TextValue for Tz {
    const EXPECTING: &'static str = r#"an IANA time zone name such as "UTC" or "America/New_York""#;
    fn parse_text(s: &str) -> Result<Self, String> {
        s.parse().map_err(|_| format!("unknown time zone {s:?}: expected an IANA name such as \"America/New_York\""))
    }
    fn to_text(&self) -> String {
        self.name().to_string()
    }
}

/// A trusted proxy: a network (`"10.0.0.0/8"`) or a single address
/// (`"10.0.0.7"`, taken as a /32 or /128).
impl TextValue for IpNet {
    const EXPECTING: &'static str = r#"an IP address or network such as "10.0.0.7" or "10.0.0.0/8""#;
    fn parse_text(s: &str) -> Result<Self, String> {
        let bad = || format!("invalid IP address or network {s:?}: expected \"10.0.0.7\" or \"10.0.0.0/8\"");
        if s.contains('/') {
            IpNet::from_str(s).map_err(|_| bad())
        } else {
            IpAddr::from_str(s).map(IpNet::from).map_err(|_| bad())
        }
    }
    fn to_text(&self) -> String {
        if self.prefix_len() == self.max_prefix_len() {
            self.addr().to_string()
        } else {
            self.to_string()
        }
    }
}

/// A cron expression with seconds first (`"0 */30 * * * *"`), checked when
/// the file is loaded.
#[derive(Clone, Debug)]
pub struct CronSchedule(Box<cron::Schedule>);

impl CronSchedule {
    /// The expression as written.
    pub fn expression(&self) -> &str {
        self.0.source()
    }

    /// The parsed schedule, for callers that need more than `next_after`.
    pub fn schedule(&self) -> &cron::Schedule {
        &self.0
    }

    /// The first time strictly after `t` at which the schedule fires (in UTC).
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.0.after(&t).next()
    }
}

impl FromStr for CronSchedule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::parse_text(s)
    }
}

impl PartialEq for CronSchedule {
    fn eq(&self, other: &Self) -> bool {
        self.expression() == other.expression()
    }
}

impl TextValue for CronSchedule {
    const EXPECTING: &'static str = r#"a cron expression with seconds first, such as "0 */30 * * * *""#;
    fn parse_text(s: &str) -> Result<Self, String> {
        cron::Schedule::from_str(s).map(|c| CronSchedule(Box::new(c))).map_err(|e| {
            let detail = e.to_string();
            let detail = if detail.trim() == s.trim() { String::new() } else { format!(" ({detail})") };
            format!("invalid cron expression {s:?}{detail}: expected six or seven fields, seconds first, such as \"0 */30 * * * *\"")
        })
    }
    fn to_text(&self) -> String {
        self.expression().to_string()
    }
}

struct TextVisitor<T>(PhantomData<T>);

impl<T: TextValue> de::Visitor<'_> for TextVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        T::parse_text(v).map_err(E::custom)
    }
}

/// `#[serde(with = "text")]` for a required [`TextValue`].
pub mod text {
    use super::*;

    pub fn serialize<S: Serializer, T: TextValue>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_text())
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: TextValue>(d: D) -> Result<T, D::Error> {
        d.deserialize_str(TextVisitor(PhantomData))
    }
}

/// `#[serde(default, with = "opt_text", skip_serializing_if = "Option::is_none")]`.
pub mod opt_text {
    use super::*;

    pub fn serialize<S: Serializer, T: TextValue>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.serialize_some(&v.to_text()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: TextValue>(d: D) -> Result<Option<T>, D::Error> {
        super::text::deserialize(d).map(Some)
    }
}

/// `#[serde(with = "vec_text")]` for a list of [`TextValue`]s.
pub mod vec_text {
    use super::*;

    struct Item<T>(T);

    impl<'de, T: TextValue> Deserialize<'de> for Item<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            super::text::deserialize(d).map(Item)
        }
    }

    pub fn serialize<S: Serializer, T: TextValue>(v: &[T], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(TextValue::to_text))
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: TextValue>(d: D) -> Result<Vec<T>, D::Error> {
        Vec::<Item<T>>::deserialize(d).map(|v| v.into_iter().map(|i| i.0).collect())
    }
}

/// `#[serde(with = "bytes")]`: a byte count written like `"8MiB"`.
pub mod bytes {
    use super::*;

    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];

    /// Parses `"8MiB"`, `"512KiB"`, `"2 GiB"` or a plain number of bytes.
    pub fn parse(s: &str) -> Result<u64, String> {
        s.parse::<bytesize::ByteSize>()
            .map(|b| b.as_u64())
            .map_err(|_| format!("invalid size {s:?}: write it like \"512KiB\", \"8MiB\" or \"1GiB\""))
    }

    /// Writes the largest binary unit that divides the count exactly.
    pub fn format(n: u64) -> String {
        for (factor, unit) in UNITS {
            if n != 0 && n % factor == 0 {
                return format!("{}{unit}", n / factor);
            }
        }
        format!("{n}B")
    }

    struct Visitor;

    impl de::Visitor<'_> for Visitor {
        type Value = u64;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(r#"a size such as "2MiB" or "16MiB""#)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
            parse(v).map_err(E::custom)
        }
    }

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        d.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_trip() {
        for (text, secs) in [("300ms", 0.3), ("10s", 10.0), ("30m", 1800.0), ("1h", 3600.0), ("30d", 2_592_000.0)] {
            let d = Duration::parse_text(text).unwrap();
            assert_eq!(d.as_secs_f64(), secs, "{text}");
            assert_eq!(Duration::parse_text(&d.to_text()).unwrap(), d, "{text} written back");
        }
        for bad in ["", "10", "ten seconds", "10x", "-5s", "5 s s"] {
            assert!(Duration::parse_text(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn sizes_round_trip() {
        for (text, n) in [("8MiB", 8 << 20), ("2MiB", 2 << 20), ("16MiB", 16 << 20), ("512KiB", 512 << 10)] {
            assert_eq!(bytes::parse(text).unwrap(), n, "{text}");
            assert_eq!(bytes::format(n), text);
        }
        assert_eq!(bytes::format(1000), "1000B");
        for bad in ["", "MiB", "8 potatoes", "-1MiB", "eight"] {
            assert!(bytes::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn other_kinds() {
        assert!(Url::parse_text("https://ams.example.org/api").is_ok());
        assert!(Url::parse_text("ftp://x.example.org").is_err());
        assert!(Url::parse_text("/relative").is_err());
        assert!(SocketAddr::parse_text("[::1]:80").is_ok());
        assert!(SocketAddr::parse_text("localhost:80").is_err());
        assert_eq!(Tz::parse_text("America/New_York").unwrap().to_text(), "America/New_York");
        assert!(Tz::parse_text("Mars/Olympus").is_err());
        assert_eq!(IpNet::parse_text("10.0.0.7").unwrap().to_text(), "10.0.0.7");
        assert_eq!(IpNet::parse_text("10.0.0.0/8").unwrap().to_text(), "10.0.0.0/8");
        assert!(IpNet::parse_text("10.0.0.0/33").is_err());
        let c = CronSchedule::parse_text("0 */30 * * * *").unwrap();
        let t = DateTime::parse_from_rfc3339("2026-01-01T10:05:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(c.next_after(t).unwrap().to_rfc3339(), "2026-01-01T10:30:00+00:00");
        assert!(CronSchedule::parse_text("*/30 * * *").is_err());
    }
}
