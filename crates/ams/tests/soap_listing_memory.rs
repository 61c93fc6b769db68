//! A full SOAP listing of 1,000,000 keys is read in bounded memory: the
//! answer (about 108 MB) is streamed from a server that writes it as it
//! goes, and the source never holds it whole. Its own test binary, so that
//! the process's peak RSS (`VmHWM`) is this listing's alone.
//!
//! `cargo test -p amsync-ams --test soap_listing_memory -- --nocapture`
//! prints the figures.

use std::collections::HashMap;

use amsync_ams::config::{SoapSourceConfig, SourceKind};
use amsync_ams::AmsConfig;
use amsync_config_kit::ResolveNow;

const KEYS: usize = 1_000_000;
/// Entries written per chunk of the answer.
const PER_CHUNK: usize = 500;

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    let line = status.lines().find(|l| l.starts_with(field)).unwrap_or_else(|| panic!("{field} in /proc/self/status"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn entry(i: usize) -> String {
    format!(
        "<ChangedMember><MemberKey>M{i:07}</MemberKey><LastUpdated>2026-11-29T13:41:07Z</LastUpdated></ChangedMember>"
    )
}

/// The answer, written chunk by chunk as the client reads it.
fn answer() -> axum::body::Body {
    let head = "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><GetChangedMembersResponse xmlns=\"http://HigherLogic.com/\"><GetChangedMembersResult>";
    let tail = "</GetChangedMembersResult></GetChangedMembersResponse></soap:Body></soap:Envelope>";
    let chunks = (0..=KEYS / PER_CHUNK + 1).map(move |n| -> Result<String, std::io::Error> {
        Ok(match n {
            0 => head.to_string(),
            n if n <= KEYS / PER_CHUNK => ((n - 1) * PER_CHUNK..n * PER_CHUNK).map(entry).collect(),
            _ => tail.to_string(),
        })
    });
    axum::body::Body::from_stream(futures::stream::iter(chunks))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_listing_of_a_million_keys_is_read_in_bounded_memory() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route("/RefreshService.asmx", axum::routing::post(|| async { answer() }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let endpoint = format!("http://{addr}/RefreshService.asmx").parse().unwrap();
    let ams = AmsConfig { kind: SourceKind::Soap, soap: Some(SoapSourceConfig::at(endpoint)), ..AmsConfig::default() };
    let source = amsync_ams::build_source(&ams, &mut ResolveNow(&HashMap::<String, String>::new()), None).unwrap();

    let document_bytes = (entry(0).len() * KEYS) as u64;
    let before = status_kib("VmHWM:");
    let page = source.changed_members(None, None).await.unwrap();
    let peak = status_kib("VmHWM:");
    assert_eq!(page.changed.len(), KEYS);
    assert!(page.rejected.is_empty());
    assert_eq!(page.changed[KEYS - 1].key.as_str(), format!("M{:07}", KEYS - 1));
    let key_list_bytes = page.changed.capacity() * std::mem::size_of_val(&page.changed[0]);
    let grown = (peak - before) * 1024;
    println!(
        "soap listing of {KEYS} keys: answer {:.0} MB, peak RSS {:.0} MB ({:.0} MB before the call, +{:.0} MB), \
         of which the key list itself {:.0} MB + one small string per key",
        document_bytes as f64 / 1e6,
        peak as f64 * 1024.0 / 1e6,
        before as f64 * 1024.0 / 1e6,
        grown as f64 / 1e6,
        key_list_bytes as f64 / 1e6,
    );
    // Holding the answer would cost its size on top of the keys; streaming
    // costs the keys (the trait's answer) and a few chunks.
    assert!(grown < document_bytes, "grew {grown} bytes reading a {document_bytes}-byte answer");
}
