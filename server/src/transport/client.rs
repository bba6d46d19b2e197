//! The client's address: the TCP peer, or behind trusted proxies (a load
//! balancer) the address they saw, from `X-Forwarded-For`.
//!
//! Each proxy appends the address it received the request from, so the
//! header's last entries are the most trustworthy: walking it from the
//! right, the first address that is not a trusted proxy is the client. An
//! address the client wrote itself (to the left) is never believed, and
//! without trusted proxies the header is not read at all.

use std::{net::IpAddr, sync::Arc};

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::Response,
};
use ipnet::IpNet;
use tonic::transport::server::TcpConnectInfo;

/// The client's address, put in each request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// The client of a request from `peer` carrying `forwarded_for` headers
/// (in order), with `trusted` proxies.
pub fn client_address<'a>(peer: IpAddr, forwarded_for: impl Iterator<Item = &'a str>, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |address: &IpAddr| trusted.iter().any(|range| range.contains(address));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> = forwarded_for.flat_map(|header| header.split(',')).map(str::trim).collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        // A malformed entry ends the trustworthy part.
        let Ok(address) = hop.parse::<IpAddr>() else { break };
        client = address;
        if !is_trusted(&address) {
            break;
        }
    }
    client
}

/// Middleware: resolves [`ClientAddr`] once per request.
pub async fn resolve_client(State(trusted): State<Arc<[IpNet]>>, mut request: Request, next: Next) -> Response {
    let peer = request.extensions().get::<TcpConnectInfo>().and_then(TcpConnectInfo::remote_addr);
    if let Some(peer) = peer {
        let headers = request.headers().get_all("x-forwarded-for").iter().filter_map(|value| value.to_str().ok());
        let client = client_address(peer.ip(), headers, &trusted);
        request.extensions_mut().insert(ClientAddr(client));
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn resolve(peer: &str, headers: &[&str], trusted: &[&str]) -> IpAddr {
        let trusted: Vec<IpNet> = trusted.iter().map(|range| range.parse().unwrap()).collect();
        client_address(ip(peer), headers.iter().copied(), &trusted)
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        assert_eq!(resolve("203.0.113.9", &["198.51.100.1"], &[]), ip("203.0.113.9"));
        // Nor from a peer outside the trusted ranges.
        assert_eq!(resolve("203.0.113.9", &["198.51.100.1"], &["10.0.0.0/16"]), ip("203.0.113.9"));
    }

    #[test]
    fn behind_trusted_proxies_the_last_untrusted_hop_is_the_client() {
        let vpc = ["10.0.0.0/16"];
        assert_eq!(resolve("10.0.1.5", &["198.51.100.1"], &vpc), ip("198.51.100.1"));
        // What the client wrote itself, left of the hop the proxy added, is not believed.
        assert_eq!(resolve("10.0.1.5", &["1.2.3.4, 198.51.100.1"], &vpc), ip("198.51.100.1"));
        // Two trusted hops (a CDN node inside the trusted range, then the balancer).
        assert_eq!(resolve("10.0.1.5", &["198.51.100.1, 10.0.2.7"], &vpc), ip("198.51.100.1"));
        // Headers repeated are one list, in order.
        assert_eq!(resolve("10.0.1.5", &["1.2.3.4", "198.51.100.1"], &vpc), ip("198.51.100.1"));
        assert_eq!(resolve("10.0.1.5", &["2001:db8::7"], &vpc), ip("2001:db8::7"));
    }

    #[test]
    fn a_missing_or_malformed_header_leaves_the_last_believable_address() {
        let vpc = ["10.0.0.0/16"];
        assert_eq!(resolve("10.0.1.5", &[], &vpc), ip("10.0.1.5"));
        assert_eq!(resolve("10.0.1.5", &["198.51.100.1, garbage"], &vpc), ip("10.0.1.5"));
        assert_eq!(resolve("10.0.1.5", &["10.0.3.3"], &vpc), ip("10.0.3.3"), "all trusted: the farthest one");
    }
}
