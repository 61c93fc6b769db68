//! The client's address, for throttling and logs.
//!
//! The peer address of the connection, unless that peer is one of
//! `web.trusted_proxies`: then `X-Forwarded-For` is read from the right,
//! skipping trusted proxies, and the first address not trusted is the
//! client. A client cannot forge its way past this: whatever it writes at
//! the left of the header is never reached while a trusted proxy appended
//! the real address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use ipnet::IpNet;

use crate::state::AppState;

/// The client's address as far as we can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

fn trusted(addr: IpAddr, proxies: &[IpNet]) -> bool {
    proxies.iter().any(|n| n.contains(&addr))
}

/// The client address given the peer and the request headers.
pub fn client_addr(peer: IpAddr, headers: &HeaderMap, proxies: &[IpNet]) -> IpAddr {
    if !trusted(peer, proxies) {
        return peer;
    }
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .map(|s| s.parse::<IpAddr>().ok().or_else(|| s.parse::<SocketAddr>().ok().map(|a| a.ip())))
        .collect::<Option<Vec<_>>>()
        .unwrap_or_default();
    hops.into_iter().rev().find(|a| !trusted(*a, proxies)).unwrap_or(peer)
}

/// The client address of a request (what [`ClientAddr`] extracts), for
/// code that holds the request's parts rather than extracting.
pub fn client_of(parts: &Parts, state: &AppState) -> IpAddr {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ci| ci.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    client_addr(peer, &parts.headers, &state.sign_on.settings.trusted_proxies)
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(client_of(parts, state)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxies: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("6.6.6.6, 198.51.100.7, 10.0.0.2"));
        // From a trusted proxy: the rightmost untrusted hop.
        assert_eq!(client_addr(ip("10.0.0.1"), &h, &proxies), ip("198.51.100.7"));
        // From anyone else: the peer, whatever the header says.
        assert_eq!(client_addr(ip("203.0.113.5"), &h, &proxies), ip("203.0.113.5"));
        // No proxies configured: the peer.
        assert_eq!(client_addr(ip("10.0.0.1"), &h, &[]), ip("10.0.0.1"));
        // A garbled header: the peer.
        h.insert("x-forwarded-for", HeaderValue::from_static("nonsense"));
        assert_eq!(client_addr(ip("10.0.0.1"), &h, &proxies), ip("10.0.0.1"));
    }
}
