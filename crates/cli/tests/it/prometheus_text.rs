//! A strict reader of the Prometheus text exposition format (0.0.4), for
//! checking what `/metrics` serves: every line is a `# HELP`, a `# TYPE`
//! (at most one per family, before its samples) or a well-formed sample.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

#[derive(Debug, Default)]
pub struct Exposition {
    pub samples: Vec<Sample>,
    /// Family name → type.
    pub types: HashMap<String, String>,
}

impl Exposition {
    /// The sum of every sample of `name` whose labels include `labels`.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|s| s.name == name && labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v)))
            .map(|s| s.value)
            .sum()
    }

    pub fn has(&self, name: &str) -> bool {
        self.samples.iter().any(|s| s.name == name)
    }

    /// Family names (histogram suffixes folded into their family).
    pub fn families(&self) -> Vec<String> {
        let mut out: Vec<String> = self.samples.iter().map(|s| family(&s.name, &self.types)).collect();
        out.sort();
        out.dedup();
        out
    }
}

fn family(name: &str, types: &HashMap<String, String>) -> String {
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix) {
            if types.get(base).is_some_and(|t| t == "histogram" || t == "summary") {
                return base.to_string();
            }
        }
    }
    name.to_string()
}

fn is_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn parse_value(s: &str) -> Result<f64, String> {
    match s {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => s.parse::<f64>().map_err(|e| format!("bad value {s:?}: {e}")),
    }
}

/// Labels `a="x",b="y"` (the text between the braces).
fn parse_labels(mut s: &str) -> Result<BTreeMap<String, String>, String> {
    let mut labels = BTreeMap::new();
    while !s.is_empty() {
        let (name, rest) = s.split_once("=\"").ok_or_else(|| format!("bad label in {s:?}"))?;
        if !is_label_name(name) {
            return Err(format!("bad label name {name:?}"));
        }
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c @ ('\\' | '"'))) => value.push(c),
                    other => return Err(format!("bad escape {other:?} in label {name}")),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => return Err(format!("unterminated label {name}")),
            }
        };
        if labels.insert(name.to_string(), value).is_some() {
            return Err(format!("label {name} given twice"));
        }
        s = &rest[end + 1..];
        s = s.strip_prefix(',').unwrap_or(s);
    }
    Ok(labels)
}

/// Parses an exposition; `Err` names the first bad line.
pub fn parse(text: &str) -> Result<Exposition, String> {
    let mut out = Exposition::default();
    let mut seen_samples_of: Vec<String> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let at = |m: String| format!("line {}: {m}: {line:?}", n + 1);
        if line.trim().is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("TYPE"), Some(name), Some(kind)) => {
                    if !is_metric_name(name) {
                        return Err(at("bad metric name".into()));
                    }
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                        return Err(at(format!("unknown type {kind}")));
                    }
                    if seen_samples_of.iter().any(|f| f == name) {
                        return Err(at("TYPE after the family's samples".into()));
                    }
                    if out.types.insert(name.to_string(), kind.to_string()).is_some() {
                        return Err(at("a second TYPE for the family".into()));
                    }
                }
                (Some("HELP"), Some(name), _) if is_metric_name(name) => {}
                (Some("HELP" | "TYPE"), _, _) => return Err(at("malformed HELP or TYPE".into())),
                _ => {}
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (series, value) = match line.rfind('}') {
            Some(close) => (&line[..=close], line[close + 1..].trim()),
            None => line.split_once(' ').map(|(a, b)| (a, b.trim())).ok_or_else(|| at("no value".into()))?,
        };
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let inner = rest.strip_suffix('}').ok_or_else(|| at("unclosed labels".into()))?;
                (name, parse_labels(inner).map_err(at)?)
            }
            None => (series, BTreeMap::new()),
        };
        if !is_metric_name(name) {
            return Err(at("bad metric name".into()));
        }
        let value = value.split(' ').next().unwrap_or_default();
        let value = parse_value(value).map_err(at)?;
        let fam = family(name, &out.types);
        if !seen_samples_of.contains(&fam) {
            seen_samples_of.push(fam);
        }
        out.samples.push(Sample { name: name.to_string(), labels, value });
    }
    Ok(out)
}

#[test]
fn the_reader_accepts_good_text_and_refuses_bad() {
    let good = "# HELP a_total Things.\n# TYPE a_total counter\na_total{x=\"1\",y=\"q\\\"z\"} 3\n\
                # TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.5\nh_count 2\n";
    let e = parse(good).unwrap();
    assert_eq!(e.sum("a_total", &[("y", "q\"z")]), 3.0);
    assert_eq!(e.families(), vec!["a_total".to_string(), "h".to_string()]);
    for bad in ["1bad 3", "a{x=1} 3", "a{x=\"1\"} three", "a{x=\"1\",x=\"2\"} 1", "a 1\n# TYPE a counter"] {
        assert!(parse(bad).is_err(), "{bad:?} is refused");
    }
}
