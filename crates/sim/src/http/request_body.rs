//! Reads the bodies of AuthenticateCredentials and ResolveToken in either
//! encoding: JSON `{"username", "password"}` / `{"token"}`, or XML
//! `<Credentials><Username/><Password/></Credentials>` / `<…><Token/></…>`
//! (the XML reader refuses DTDs and caps depth and size).

use std::collections::HashMap;

use quick_xml::events::Event;
use quick_xml::Reader;

/// Largest request body read.
pub const MAX_BODY: usize = 64 * 1024;
const MAX_DEPTH: usize = 16;

/// The values of the named fields; `xml` picks the encoding.
pub fn fields(body: &[u8], xml: bool, names: &[&'static str]) -> Result<HashMap<&'static str, String>, String> {
    if body.len() > MAX_BODY {
        return Err("body too large".into());
    }
    if xml {
        xml_fields(std::str::from_utf8(body).map_err(|e| e.to_string())?, names)
    } else {
        let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        let object = value.as_object().ok_or("the body is not a JSON object")?;
        Ok(names.iter().filter_map(|&n| object.get(n).and_then(|v| v.as_str()).map(|v| (n, v.to_string()))).collect())
    }
}

/// Element names are matched case-insensitively against the field names
/// without underscores (`username` ↔ `<Username>`).
fn xml_fields(body: &str, names: &[&'static str]) -> Result<HashMap<&'static str, String>, String> {
    let mut reader = Reader::from_str(body);
    let mut out = HashMap::new();
    let mut stack: Vec<Option<&'static str>> = Vec::new();
    let field_of =
        |local: &[u8]| names.iter().copied().find(|n| n.replace('_', "").as_bytes().eq_ignore_ascii_case(local));
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err("elements nested too deeply".into());
                }
                let field = field_of(e.local_name().as_ref());
                if let Some(f) = field {
                    out.insert(f, String::new());
                }
                stack.push(field);
            }
            Event::Empty(e) => {
                if let Some(f) = field_of(e.local_name().as_ref()) {
                    out.insert(f, String::new());
                }
            }
            Event::End(_) => {
                stack.pop();
            }
            Event::Text(t) => {
                if let Some(Some(f)) = stack.last() {
                    let text = t.xml_content().map_err(|e| e.to_string())?;
                    out.entry(*f).or_default().push_str(&text);
                }
            }
            Event::CData(t) => {
                if let Some(Some(f)) = stack.last() {
                    let text = t.decode().map_err(|e| e.to_string())?;
                    out.entry(*f).or_default().push_str(&text);
                }
            }
            Event::GeneralRef(r) => {
                if let Some(Some(f)) = stack.last() {
                    let c = match r.resolve_char_ref().map_err(|e| e.to_string())? {
                        Some(c) => c.to_string(),
                        None => {
                            let name = r.decode().map_err(|e| e.to_string())?;
                            quick_xml::escape::resolve_predefined_entity(&name)
                                .ok_or_else(|| format!("unknown entity &{name};"))?
                                .to_string()
                        }
                    };
                    out.entry(*f).or_default().push_str(&c);
                }
            }
            Event::DocType(_) => return Err("DTDs are not accepted".into()),
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err("the document ends inside an element".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_encodings() {
        let f = fields(br#"{"username": "a@b", "password": "p"}"#, false, &["username", "password"]).unwrap();
        assert_eq!((f["username"].as_str(), f["password"].as_str()), ("a@b", "p"));
        let xml = "<Credentials><Username>a&amp;b&#65;</Username><Password><![CDATA[<p>]]></Password></Credentials>";
        let f = fields(xml.as_bytes(), true, &["username", "password"]).unwrap();
        assert_eq!((f["username"].as_str(), f["password"].as_str()), ("a&bA", "<p>"));
    }

    #[test]
    fn refuses_dtds_and_broken_documents() {
        let dtd = r#"<!DOCTYPE x [<!ENTITY e "boom">]><Credentials><Username>&e;</Username></Credentials>"#;
        assert!(fields(dtd.as_bytes(), true, &["username"]).is_err());
        assert!(fields(b"<Credentials><Username>x</Username>", true, &["username"]).is_err());
    }
}
