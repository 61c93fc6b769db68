//! A small, safe XML reader: the document as a tree of elements with local
//! names, built from `quick_xml::Reader` events.
//!
//! Safety rules, each a refusal naming its reason:
//! - no DOCTYPE at all, so no DTD, no entity declarations, no external
//!   entities (and no "billion laughs"); only the five predefined entities
//!   and character references are resolved;
//! - at most `max_depth` nested elements and `max_elements` elements;
//! - at most `max_bytes` bytes; UTF-8 only.
//!
//! Namespaces are ignored: prefixes are dropped from element and attribute
//! names, and `xmlns` declarations are not attributes.

use quick_xml::encoding::Decoder;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::XmlLimits;

/// One element: its local name, attributes (local names), child elements and
/// the text directly inside it (text, CDATA and references, concatenated).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub message: String,
    /// Byte offset in the document, when known.
    pub position: Option<u64>,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.position {
            Some(p) => write!(f, "{} (at byte {p})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

fn refuse(message: impl Into<String>, position: Option<u64>) -> Refusal {
    Refusal { message: message.into(), position }
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Parses a whole document into its root element.
pub fn parse(body: &[u8], limits: &XmlLimits) -> Result<Element, Refusal> {
    if body.len() as u64 > limits.max_bytes {
        return Err(refuse(
            format!("the XML document is {} bytes, more than the cap of {} bytes", body.len(), limits.max_bytes),
            None,
        ));
    }
    let body = body.strip_prefix(UTF8_BOM).unwrap_or(body);
    let text =
        std::str::from_utf8(body).map_err(|e| refuse("the XML document is not UTF-8", Some(e.valid_up_to() as u64)))?;
    let mut reader = Reader::from_str(text);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.expand_empty_elements = false;
    config.trim_text(false);

    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut elements = 0usize;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| refuse(format!("the body is not well-formed XML: {e}"), Some(reader.error_position())))?;
        let at = Some(reader.buffer_position());
        match event {
            Event::DocType(_) => {
                return Err(refuse("a DOCTYPE (DTD) is not allowed, and with it no entity declarations", at));
            }
            Event::Decl(decl) => {
                if let Some(Ok(enc)) = decl.encoding() {
                    let enc = String::from_utf8_lossy(&enc).to_ascii_lowercase();
                    if !matches!(enc.as_str(), "utf-8" | "utf8" | "us-ascii" | "ascii") {
                        return Err(refuse(format!("the XML encoding {enc:?} is not supported, only UTF-8"), at));
                    }
                }
            }
            Event::PI(_) | Event::Comment(_) => {}
            Event::Start(_) | Event::Empty(_) if root.is_some() => {
                return Err(refuse("more than one root element", at));
            }
            Event::Start(start) => {
                elements += 1;
                check_size(stack.len() + 1, elements, limits, at)?;
                stack.push(element(&start, reader.decoder(), at)?);
            }
            Event::Empty(start) => {
                elements += 1;
                check_size(stack.len() + 1, elements, limits, at)?;
                let el = element(&start, reader.decoder(), at)?;
                attach(&mut stack, &mut root, el);
            }
            Event::End(_) => {
                // The reader checks that end tags match their start tags.
                let el = stack.pop().ok_or_else(|| refuse("an end tag without a start tag", at))?;
                attach(&mut stack, &mut root, el);
            }
            Event::Text(t) => {
                let content = t.xml10_content().map_err(|e| refuse(format!("bad text: {e}"), at))?;
                match stack.last_mut() {
                    Some(top) => top.text.push_str(&content),
                    None if content.chars().all(char::is_whitespace) => {}
                    None => return Err(refuse("text outside the root element", at)),
                }
            }
            Event::CData(c) => {
                let content = c.xml10_content().map_err(|e| refuse(format!("bad CDATA: {e}"), at))?;
                let top = stack.last_mut().ok_or_else(|| refuse("CDATA outside the root element", at))?;
                top.text.push_str(&content);
            }
            Event::GeneralRef(r) => {
                let top = stack.last_mut().ok_or_else(|| refuse("a reference outside the root element", at))?;
                if r.is_char_ref() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => top.text.push(c),
                        _ => return Err(refuse("a bad character reference", at)),
                    }
                } else {
                    let name = r.decode().map_err(|e| refuse(format!("bad reference: {e}"), at))?;
                    match predefined(&name) {
                        Some(c) => top.text.push(c),
                        None => return Err(refuse(format!("the entity &{name}; is not defined (no DTD is read)"), at)),
                    }
                }
            }
            Event::Eof => {
                if !stack.is_empty() {
                    return Err(refuse("the XML document ends inside an element", at));
                }
                return root.ok_or_else(|| refuse("the XML document has no root element", at));
            }
        }
    }
}

fn check_size(depth: usize, elements: usize, limits: &XmlLimits, at: Option<u64>) -> Result<(), Refusal> {
    if depth > limits.max_depth {
        return Err(refuse(format!("elements are nested more than {} deep", limits.max_depth), at));
    }
    if elements > limits.max_elements {
        return Err(refuse(format!("the XML document has more than {} elements", limits.max_elements), at));
    }
    Ok(())
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, el: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None => *root = Some(el),
    }
}

/// An element's local name and attributes (local names, `xmlns` dropped).
pub(crate) fn element(start: &BytesStart<'_>, decoder: Decoder, at: Option<u64>) -> Result<Element, Refusal> {
    let name = local(start.local_name().as_ref(), at)?;
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| refuse(format!("bad attribute in <{name}>: {e}"), at))?;
        if attr.key.as_namespace_binding().is_some() {
            continue;
        }
        let key = local(attr.key.local_name().as_ref(), at)?;
        let value = attr
            .decode_and_unescape_value(decoder)
            .map_err(|e| refuse(format!("bad value of {name}@{key}: {e}"), at))?;
        attrs.push((key, value.into_owned()));
    }
    Ok(Element { name, attrs, children: Vec::new(), text: String::new() })
}

fn local(bytes: &[u8], at: Option<u64>) -> Result<String, Refusal> {
    String::from_utf8(bytes.to_vec()).map_err(|_| refuse("a name is not UTF-8", at))
}

/// The five entities XML predefines.
pub(crate) fn predefined(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "apos" => '\'',
        "quot" => '"',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> XmlLimits {
        XmlLimits { max_depth: 4, max_bytes: 1000, max_elements: 10 }
    }

    #[test]
    fn reads_local_names_text_and_references() {
        let doc = "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- c --><a:Root xmlns:a=\"urn:x\" xmlns=\"urn:y\" a:K=\"v&amp;w\">\r\n\
                   <Name>A &amp; B &#x41;&#66;<![CDATA[<c>]]></Name><Empty/></a:Root>\n";
        let root = parse(doc.as_bytes(), &limits()).unwrap();
        assert_eq!(root.name, "Root");
        assert_eq!(root.attrs, vec![("K".to_string(), "v&w".to_string())]);
        assert_eq!(root.children[0].name, "Name");
        assert_eq!(root.children[0].text, "A & B AB<c>");
        assert_eq!(root.children[1], Element { name: "Empty".into(), ..Element::default() });
    }

    #[test]
    fn line_ends_are_normalized_as_xml_says() {
        let root = parse(b"<a>x\r\ny</a>", &limits()).unwrap();
        assert_eq!(root.text, "x\ny");
    }

    #[test]
    fn refuses_dtds_and_unknown_entities() {
        let xxe = br#"<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>"#;
        let e = parse(xxe, &limits()).unwrap_err();
        assert!(e.message.contains("DOCTYPE"), "{e}");
        let e = parse(b"<a>&x;</a>", &limits()).unwrap_err();
        assert!(e.message.contains("&x;"), "{e}");
        let e = parse(b"<a b=\"&x;\"/>", &limits()).unwrap_err();
        assert!(e.message.contains("a@b"), "{e}");
    }

    #[test]
    fn refuses_depth_size_and_count_over_the_caps() {
        assert!(parse(b"<a><b><c><d/></c></b></a>", &limits()).is_ok());
        let e = parse(b"<a><b><c><d><e/></d></c></b></a>", &limits()).unwrap_err();
        assert!(e.message.contains("nested more than 4"), "{e}");
        let e = parse(&[b' '; 1001], &limits()).unwrap_err();
        assert!(e.message.contains("cap of 1000 bytes"), "{e}");
        let e = parse(format!("<a>{}</a>", "<b/>".repeat(10)).as_bytes(), &limits()).unwrap_err();
        assert!(e.message.contains("more than 10 elements"), "{e}");
    }

    #[test]
    fn refuses_broken_documents() {
        for (doc, what) in [
            (&b"<a><b></a>"[..], "well-formed"),
            (b"<a>", "ends inside"),
            (b"", "no root"),
            (b"<a/><b/>", "more than one root"),
            (b"x<a/>", "outside the root"),
            (b"<a>\xff</a>", "not UTF-8"),
            (b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>", "not supported"),
            (b"<a x=\"1\" x=\"2\"/>", "bad attribute"),
            (b"<a>&#0;</a>", "character reference"),
        ] {
            let e = parse(doc, &limits()).unwrap_err();
            assert!(e.message.contains(what), "{:?}: {e}", String::from_utf8_lossy(doc));
        }
    }
}
