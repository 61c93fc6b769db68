//! SOAP 1.1 envelopes: the request amsync writes and the answer it reads.
//!
//! A request is `<soap:Envelope><soap:Body><Operation xmlns="{request
//! namespace}">` with `securityKey` first and the operation's parameters
//! after it, each an element of the request namespace. An answer is read
//! with the XML reader of the contract's encoding (`codec::xml::tree`: no
//! DTD, capped depth, size and element count) ignoring namespaces: the
//! body's one element is either a `Fault` or `{Operation}Response`, whose
//! `{Operation}Result` child holds what the contract's XML document would
//! (or nothing: absent, empty or `xsi:nil`).

use amsync_core::error::{DataError, Part};
use quick_xml::escape::escape;

use crate::codec::xml::{tree, Element, XmlLimits};

/// The SOAP 1.1 envelope namespace.
pub const ENVELOPE_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// The request's `Content-Type` (SOAP 1.1).
pub const CONTENT_TYPE: &str = "text/xml; charset=utf-8";

/// One request: the operation's element with `securityKey` and the
/// parameters, in order. Values are escaped; a parameter without a value is
/// left out (an ASMX service then takes the type's default).
pub fn request(operation: &str, namespace: &str, security_key: &str, params: &[(&str, Option<&str>)]) -> Vec<u8> {
    let mut out = String::with_capacity(512);
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
    out.push_str("<soap:Envelope xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" ");
    out.push_str("xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:soap=\"");
    out.push_str(ENVELOPE_NS);
    out.push_str("\"><soap:Body><");
    out.push_str(operation);
    out.push_str(" xmlns=\"");
    out.push_str(&escape(namespace));
    out.push_str("\">");
    let params = std::iter::once(("securityKey", Some(security_key))).chain(params.iter().copied());
    for (name, value) in params {
        if let Some(value) = value {
            out.push('<');
            out.push_str(name);
            out.push('>');
            out.push_str(&escape(value));
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
    }
    out.push_str("</");
    out.push_str(operation);
    out.push_str("></soap:Body></soap:Envelope>");
    out.into_bytes()
}

/// A SOAP fault: its code (prefix dropped, `Server`, `Client.Auth`, …) and
/// its faultstring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub code: String,
    pub string: String,
}

/// What the body of an answer holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `{Operation}Response`, with its `{Operation}Result` when it has one
    /// that holds something.
    Result(Option<Element>),
    Fault(Fault),
}

/// Reads an answer to `operation`. `record` names the answer in errors.
pub fn read(body: &[u8], operation: &str, part: Part, record: &str, limits: &XmlLimits) -> Result<Answer, DataError> {
    let err = |message: String| DataError::new(record, part, "/", message);
    let doc = tree::parse(body, limits).map_err(|r| err(format!("{operation}: {r}")))?;
    if doc.name != "Envelope" {
        return Err(err(format!("{operation}: expected a SOAP <Envelope>, found <{}>", doc.name)));
    }
    let body = doc.children.into_iter().find(|c| c.name == "Body");
    let Some(body) = body else { return Err(err(format!("{operation}: the SOAP envelope has no <Body>"))) };
    let mut children = body.children.into_iter();
    let Some(first) = children.next() else { return Err(err(format!("{operation}: the SOAP <Body> is empty"))) };
    if first.name == "Fault" {
        return Ok(Answer::Fault(fault(&first)));
    }
    let response = format!("{operation}Response");
    if first.name != response {
        return Err(err(format!("{operation}: expected <{response}> in the SOAP body, found <{}>", first.name)));
    }
    let result = format!("{operation}Result");
    let result = first.children.into_iter().find(|c| c.name == result).filter(|r| !is_nothing(r));
    Ok(Answer::Result(result))
}

/// A fault's code (local part of the QName) and string, each trimmed.
pub fn fault(el: &Element) -> Fault {
    let text = |name: &str| el.children.iter().find(|c| c.name == name).map(|c| c.text.trim().to_string());
    let code = text("faultcode").unwrap_or_default();
    let code = code.rsplit_once(':').map(|(_, local)| local.to_string()).unwrap_or(code);
    Fault { code, string: text("faultstring").unwrap_or_default() }
}

/// An absent value: `xsi:nil`, or no child element and only blank text.
fn is_nothing(el: &Element) -> bool {
    let nil = el.attrs.iter().any(|(k, v)| k == "nil" && (v == "true" || v == "1"));
    nil || (el.children.is_empty() && el.text.trim().is_empty())
}
