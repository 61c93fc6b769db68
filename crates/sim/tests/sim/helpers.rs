//! Starting a sim on port 0 and talking to it; a tiny XML tree for checking
//! element names and values.

use amsync_sim::{SimConfig, SimHandle};
use quick_xml::events::Event;
use quick_xml::Reader;
use reqwest::header::ACCEPT;
use serde_json::Value;

pub struct TestSim {
    pub handle: SimHandle,
    pub client: reqwest::Client,
}

pub async fn spawn(config: SimConfig) -> TestSim {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let handle = amsync_sim::start(config, listener).await.unwrap();
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build().unwrap();
    TestSim { handle, client }
}

pub fn small(members: usize) -> SimConfig {
    SimConfig { members, events: 12, ..SimConfig::default() }
}

impl TestSim {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.handle.base_url())
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn get_xml(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).header(ACCEPT, "application/xml").send().await.unwrap()
    }

    /// GET expecting 200 and a JSON body.
    pub async fn json(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert_eq!(r.status(), 200, "GET {path}");
        assert_eq!(r.headers()["content-type"], "application/json");
        r.json().await.unwrap()
    }

    /// GET expecting 200 and an XML body, parsed.
    pub async fn xml(&self, path: &str) -> El {
        let r = self.get_xml(path).await;
        assert_eq!(r.status(), 200, "GET {path}");
        assert_eq!(r.headers()["content-type"], "application/xml");
        parse_xml(&r.text().await.unwrap())
    }

    pub async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.client.post(self.url(path)).json(&body).send().await.unwrap()
    }

    /// POST to the control API expecting success.
    pub async fn control(&self, path: &str, body: Value) -> Value {
        let r = self.post(path, body).await;
        assert!(r.status().is_success(), "POST {path}: {}", r.status());
        r.json().await.unwrap()
    }

    /// Every entry of a changed listing, following cursors to the end.
    pub async fn list_all(&self, path: &str, field: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut page = self.json(path).await;
        loop {
            out.extend(page[field].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => page = self.json(&format!("{path}{sep}cursor={c}")).await,
                None => return out,
            }
        }
    }
}

/// An element: name, attributes, text, children.
#[derive(Debug, Clone, PartialEq)]
pub struct El {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<El>,
}

impl El {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn child(&self, name: &str) -> Option<&El> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn all(&self, name: &str) -> Vec<&El> {
        self.children.iter().filter(|c| c.name == name).collect()
    }

    /// The text of a child; `None` when absent or empty ("no value").
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str()).filter(|t| !t.is_empty())
    }

    pub fn names(&self) -> Vec<&str> {
        self.children.iter().map(|c| c.name.as_str()).collect()
    }
}

/// Parses a whole document strictly: any error (mismatched or unclosed
/// elements included) panics, so a test can also use [`try_parse_xml`].
pub fn parse_xml(doc: &str) -> El {
    try_parse_xml(doc).unwrap_or_else(|e| panic!("bad XML ({e}): {doc}"))
}

pub fn try_parse_xml(doc: &str) -> Result<El, String> {
    let mut reader = Reader::from_str(doc);
    let mut stack: Vec<El> = Vec::new();
    let mut root = None;
    let open = |e: &quick_xml::events::BytesStart| -> Result<El, String> {
        let mut attrs = Vec::new();
        for a in e.attributes() {
            let a = a.map_err(|e| e.to_string())?;
            let value = a.unescape_value().map_err(|e| e.to_string())?.into_owned();
            attrs.push((String::from_utf8(a.key.as_ref().to_vec()).unwrap(), value));
        }
        let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
        Ok(El { name, attrs, text: String::new(), children: Vec::new() })
    };
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) => stack.push(open(&e)?),
            Event::Empty(e) => {
                let el = open(&e)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let el = stack.pop().ok_or("end without start")?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&t.xml_content().map_err(|e| e.to_string())?);
                }
            }
            Event::GeneralRef(r) => {
                let s = match r.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(c) => c.to_string(),
                    None => {
                        let name = r.decode().map_err(|e| e.to_string())?.into_owned();
                        quick_xml::escape::resolve_predefined_entity(&name).ok_or("unknown entity")?.to_string()
                    }
                };
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&s);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err("unclosed elements at the end".into());
    }
    root.ok_or_else(|| "no root element".into())
}
