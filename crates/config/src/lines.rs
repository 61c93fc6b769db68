//! Finds the line of a key in the file, so an error can say where to look.

use toml::de::{DeTable, DeValue};

/// The 1-based line where the key at `dotted` (as `a.b[2].c`) is written,
/// or, for a key that is not written, where its nearest written parent is.
pub(crate) fn line_of(text: &str, dotted: &str) -> Option<usize> {
    let root = DeTable::parse(text).ok()?;
    let mut table = root.get_ref();
    let mut value: Option<&DeValue<'_>> = None;
    let mut offset = None;
    for segment in segments(dotted) {
        match segment {
            Segment::Key(key) => {
                let t = match value {
                    None => table,
                    Some(DeValue::Table(t)) => t,
                    Some(_) => break,
                };
                let Some((k, v)) = t.iter().find(|(k, _)| k.get_ref().as_ref() == key) else { break };
                offset = Some(k.span().start);
                table = t;
                value = Some(v.get_ref());
            }
            Segment::Index(i) => {
                let Some(DeValue::Array(items)) = value else { break };
                let Some(item) = items.get(i) else { break };
                offset = Some(item.span().start);
                value = Some(item.get_ref());
            }
        }
    }
    offset.map(|o| text[..o.min(text.len())].matches('\n').count() + 1)
}

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

fn segments(dotted: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in dotted.split('.') {
        let (key, mut rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if !key.is_empty() {
            out.push(Segment::Key(key));
        }
        while let Some((index, after)) = rest.split_once(']') {
            match index.parse() {
                Ok(i) => out.push(Segment::Index(i)),
                Err(_) => return out,
            }
            rest = after.strip_prefix('[').unwrap_or(after);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::line_of;

    #[test]
    fn finds_keys_tables_and_list_items() {
        let text = "[ams]\nkind = \"http-json\"\nauth = { kind = \"api_key\", header = \"X\" }\n\n[sso.resolve]\nkind = \"psk\"\nkeys = [\n  { kid = \"a\" },\n  { kid = \"b\" },\n]\n";
        assert_eq!(line_of(text, "ams.kind"), Some(2));
        assert_eq!(line_of(text, "ams.auth.header"), Some(3));
        assert_eq!(line_of(text, "sso.resolve.keys[1].kid"), Some(9));
        assert_eq!(line_of(text, "sso.resolve.keys[1]"), Some(9));
        assert_eq!(line_of(text, "ams.missing"), Some(1), "the nearest written parent");
        assert_eq!(line_of(text, "nowhere"), None);
        assert_eq!(line_of("not [ toml", "a"), None);
    }
}
