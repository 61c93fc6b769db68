//! GetChangedMembers read as a stream.
//!
//! SOAP has no paging, so the full listing of a large AMS is one answer
//! (about 100 bytes an entry: 100 MB for a million members). It is never
//! held whole: a quick-xml reader pulls the response body chunk by chunk
//! ([`BodyReader`]), each `<ChangedMember>` is built as a small element,
//! read by the contract's XML rules (`codec::xml::changed_member`) and
//! dropped; what stays is the list of keys the trait returns. The answer
//! is capped by `ams.soap.max_listing_bytes`, counted as it arrives.
//!
//! The reader keeps the XML safety rules of the contract's encoding: no
//! DOCTYPE (so no entity declarations), only the predefined entities,
//! capped nesting, UTF-8 only; namespaces are ignored.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use amsync_core::error::{DataError, Part};
use bytes::{Buf, Bytes};
use chrono::{DateTime, Utc};
use quick_xml::encoding::Decoder;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use reqwest::Response;
use tokio::io::{AsyncBufRead, AsyncRead, ReadBuf};

use super::envelope::{fault, Fault};
use crate::codec::xml::{changed_member, tree, Element};
use crate::source::ChangedPage;

/// Deepest nesting read; the dialect needs 6 (Envelope, Body, Response,
/// Result, ChangedMember, MemberKey).
const MAX_DEPTH: usize = 32;
/// Most elements inside one `<ChangedMember>` (or `<Fault>`).
const MAX_ENTRY_ELEMENTS: usize = 64;

/// What the stream held: the page, or a fault.
#[derive(Debug)]
pub enum Listed {
    Page(ChangedPage),
    Fault(Fault),
}

/// Why reading stopped.
#[derive(Debug)]
pub enum Stop {
    /// The body broke the XML rules or the dialect's shape.
    Data(DataError),
    /// The answer passed the cap (bytes read so far).
    TooLarge(u64),
    /// The connection failed while reading.
    Read(reqwest::Error),
}

/// Reads a GetChangedMembers answer from `response`'s body, at most `cap` bytes.
pub async fn read(response: Response, operation: &str, record: &str, cap: u64) -> Result<Listed, Stop> {
    let mut reader = Reader::from_reader(BodyReader::new(response, cap));
    let config = reader.config_mut();
    config.check_end_names = true;
    config.expand_empty_elements = false;
    config.trim_text(false);
    let err = |message: String| Stop::Data(DataError::new(record, Part::ChangedMembers, "/", message));
    let response_name = format!("{operation}Response");
    let result_name = format!("{operation}Result");

    let mut page = ChangedPage::default();
    let mut path: Vec<String> = Vec::new();
    let mut saw_envelope = false;
    let mut buf = Vec::with_capacity(4096);
    // Entries are read into their own buffer: `buf` is still borrowed by
    // the event that opened them.
    let mut entry_buf = Vec::with_capacity(1024);
    let mut index = 0usize;
    loop {
        buf.clear();
        let event = match reader.read_event_into_async(&mut buf).await {
            Ok(e) => e,
            Err(e) => {
                return Err(reader.get_mut().stop.take().unwrap_or_else(|| {
                    err(format!(
                        "{operation}: the body is not well-formed XML: {e} (at byte {})",
                        reader.error_position()
                    ))
                }));
            }
        };
        match event {
            Event::DocType(_) => return Err(err(format!("{operation}: a DOCTYPE (DTD) is not allowed"))),
            Event::Decl(decl) => {
                if let Some(Ok(enc)) = decl.encoding() {
                    let enc = String::from_utf8_lossy(&enc).to_ascii_lowercase();
                    if !matches!(enc.as_str(), "utf-8" | "utf8" | "us-ascii" | "ascii") {
                        return Err(err(format!("{operation}: the XML encoding {enc:?} is not supported, only UTF-8")));
                    }
                }
            }
            Event::Start(ref start) | Event::Empty(ref start) => {
                let empty = matches!(event, Event::Empty(_));
                let name = local_name(start).map_err(|m| err(format!("{operation}: {m}")))?;
                match path.len() {
                    0 if name != "Envelope" => {
                        return Err(err(format!("{operation}: expected a SOAP <Envelope>, found <{name}>")));
                    }
                    0 => saw_envelope = true,
                    // The body's one element: the answer or a fault.
                    2 if path[1] == "Body" && name == "Fault" => {
                        let el = subtree(&mut reader, start, empty, &mut entry_buf)
                            .await
                            .map_err(|s| s.or(&err, operation))?;
                        return Ok(Listed::Fault(fault(&el)));
                    }
                    2 if path[1] == "Body" && name != response_name => {
                        return Err(err(format!(
                            "{operation}: expected <{response_name}> in the SOAP body, found <{name}>"
                        )));
                    }
                    3 if name == result_name => {
                        let as_of =
                            attr(start, "AsOf", reader.decoder()).map_err(|m| err(format!("{operation}: {m}")))?;
                        if let Some(as_of) = as_of {
                            let at: DateTime<Utc> = as_of.parse().map_err(|e| {
                                Stop::Data(DataError::new(
                                    record,
                                    Part::ChangedMembers,
                                    "/as_of",
                                    format!("{as_of:?} is not an RFC 3339 timestamp: {e}"),
                                ))
                            })?;
                            page.as_of = Some(at);
                        }
                    }
                    n if n >= 4 && name == "ChangedMember" && path[3] == result_name => {
                        let el = subtree(&mut reader, start, empty, &mut entry_buf)
                            .await
                            .map_err(|s| s.or(&err, operation))?;
                        match changed_member(&el, index) {
                            Ok(c) => page.changed.push(c),
                            Err(e) => page.rejected.push(e),
                        }
                        index += 1;
                        continue;
                    }
                    _ => {}
                }
                if !empty {
                    if path.len() >= MAX_DEPTH {
                        return Err(err(format!("{operation}: elements are nested more than {MAX_DEPTH} deep")));
                    }
                    path.push(name);
                }
            }
            Event::End(_) => {
                path.pop();
            }
            Event::GeneralRef(r) if !r.is_char_ref() => {
                let name = r.decode().map(|n| n.into_owned()).unwrap_or_default();
                if tree::predefined(&name).is_none() {
                    return Err(err(format!("{operation}: the entity &{name}; is not defined (no DTD is read)")));
                }
            }
            // Text outside an entry (whitespace between elements) is not read.
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => {
                if !saw_envelope {
                    return Err(err(format!("{operation}: the answer is empty, not a SOAP envelope")));
                }
                if !path.is_empty() {
                    return Err(err(format!("{operation}: the answer ends inside <{}>", path.join("/"))));
                }
                page.changed.shrink_to_fit();
                return Ok(Listed::Page(page));
            }
        }
    }
}

/// A failure inside a subtree: a data problem in words, or the stream's own stop.
enum SubStop {
    Message(String),
    Stop(Stop),
}

impl SubStop {
    fn or(self, err: &dyn Fn(String) -> Stop, operation: &str) -> Stop {
        match self {
            SubStop::Message(m) => err(format!("{operation}: {m}")),
            SubStop::Stop(s) => s,
        }
    }
}

/// The element `start` opens, read to its end as a small tree (text,
/// CDATA and references resolved as the contract's reader does).
async fn subtree(
    reader: &mut Reader<BodyReader>,
    start: &BytesStart<'_>,
    empty: bool,
    buf: &mut Vec<u8>,
) -> Result<Element, SubStop> {
    let root = tree::element(start, reader.decoder(), None).map_err(|r| SubStop::Message(r.to_string()))?;
    if empty {
        return Ok(root);
    }
    let mut stack = vec![root];
    let mut count = 1usize;
    loop {
        let depth = stack.len();
        buf.clear();
        let event = match reader.read_event_into_async(buf).await {
            Ok(e) => e,
            Err(e) => {
                return Err(match reader.get_mut().stop.take() {
                    Some(stop) => SubStop::Stop(stop),
                    None => SubStop::Message(format!("the body is not well-formed XML: {e}")),
                })
            }
        };
        let top = stack.last_mut().expect("the stack holds the root until its end");
        match event {
            Event::Start(s) | Event::Empty(s) if depth >= 8 || count >= MAX_ENTRY_ELEMENTS => {
                let name = String::from_utf8_lossy(s.local_name().as_ref()).into_owned();
                return Err(SubStop::Message(format!(
                    "<{}> holds too many or too deep elements (at <{name}>)",
                    stack[0].name
                )));
            }
            Event::Start(s) => {
                count += 1;
                let el = tree::element(&s, reader.decoder(), None).map_err(|r| SubStop::Message(r.to_string()))?;
                stack.push(el);
            }
            Event::Empty(s) => {
                count += 1;
                let el = tree::element(&s, reader.decoder(), None).map_err(|r| SubStop::Message(r.to_string()))?;
                top.children.push(el);
            }
            Event::End(_) => {
                let el = stack.pop().expect("an end matches a start (the reader checks)");
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => return Ok(el),
                }
            }
            Event::Text(t) => {
                let text = t.xml10_content().map_err(|e| SubStop::Message(format!("bad text: {e}")))?;
                top.text.push_str(&text);
            }
            Event::CData(c) => {
                let text = c.xml10_content().map_err(|e| SubStop::Message(format!("bad CDATA: {e}")))?;
                top.text.push_str(&text);
            }
            Event::GeneralRef(r) => {
                if r.is_char_ref() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => top.text.push(c),
                        _ => return Err(SubStop::Message("a bad character reference".into())),
                    }
                } else {
                    let name = r.decode().map(|n| n.into_owned()).unwrap_or_default();
                    match tree::predefined(&name) {
                        Some(c) => top.text.push(c),
                        None => {
                            return Err(SubStop::Message(format!(
                                "the entity &{name}; is not defined (no DTD is read)"
                            )))
                        }
                    }
                }
            }
            Event::DocType(_) => return Err(SubStop::Message("a DOCTYPE (DTD) is not allowed".into())),
            Event::Comment(_) | Event::PI(_) | Event::Decl(_) => {}
            Event::Eof => return Err(SubStop::Message(format!("the answer ends inside <{}>", stack[0].name))),
        }
    }
}

fn local_name(start: &BytesStart<'_>) -> Result<String, String> {
    String::from_utf8(start.local_name().as_ref().to_vec()).map_err(|_| "an element name is not UTF-8".to_string())
}

/// An attribute's value by local name; empty is none.
fn attr(start: &BytesStart<'_>, name: &str, decoder: Decoder) -> Result<Option<String>, String> {
    for a in start.attributes() {
        let a = a.map_err(|e| format!("bad attribute: {e}"))?;
        if a.key.local_name().as_ref() == name.as_bytes() {
            let v = a.decode_and_unescape_value(decoder).map_err(|e| format!("bad value of {name}: {e}"))?;
            return Ok(Some(v.into_owned()).filter(|v| !v.is_empty()));
        }
    }
    Ok(None)
}

type NextChunk = Pin<Box<dyn Future<Output = (Response, Result<Option<Bytes>, reqwest::Error>)> + Send>>;

/// A response body as an `AsyncBufRead`, one network chunk at a time,
/// refusing more than `cap` bytes. Why it stopped is kept in `stop` (an
/// `io::Error` cannot carry it through quick-xml).
pub struct BodyReader {
    response: Option<Response>,
    pending: Option<NextChunk>,
    chunk: Bytes,
    read: u64,
    cap: u64,
    done: bool,
    stop: Option<Stop>,
}

impl BodyReader {
    pub fn new(response: Response, cap: u64) -> BodyReader {
        let declared = response.content_length();
        let mut reader = BodyReader {
            response: Some(response),
            pending: None,
            chunk: Bytes::new(),
            read: 0,
            cap,
            done: false,
            stop: None,
        };
        if let Some(n) = declared.filter(|n| *n > cap) {
            reader.stop = Some(Stop::TooLarge(n));
            reader.done = true;
        }
        reader
    }
}

impl AsyncBufRead for BodyReader {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        while this.chunk.is_empty() {
            if this.stop.is_some() {
                return Poll::Ready(Err(io::Error::other("the listing stopped")));
            }
            if this.done {
                return Poll::Ready(Ok(&[]));
            }
            if this.pending.is_none() {
                let Some(mut response) = this.response.take() else {
                    this.done = true;
                    continue;
                };
                let next: NextChunk = Box::pin(async move {
                    let next = response.chunk().await;
                    (response, next)
                });
                this.pending = Some(next);
            }
            let fut = this.pending.as_mut().expect("set above");
            let (response, next) = ready!(fut.as_mut().poll(cx));
            this.pending = None;
            match next {
                Ok(Some(bytes)) => {
                    this.read += bytes.len() as u64;
                    if this.read > this.cap {
                        this.stop = Some(Stop::TooLarge(this.read));
                        // Dropping the response closes the connection.
                        continue;
                    }
                    this.response = Some(response);
                    this.chunk = bytes;
                }
                Ok(None) => this.done = true,
                Err(e) => this.stop = Some(Stop::Read(e)),
            }
        }
        Poll::Ready(Ok(&this.chunk))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.get_mut().chunk.advance(amt);
    }
}

impl AsyncRead for BodyReader {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, out: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let available = ready!(self.as_mut().poll_fill_buf(cx))?;
        let n = available.len().min(out.remaining());
        out.put_slice(&available[..n]);
        self.consume(n);
        Poll::Ready(Ok(()))
    }
}
