//! Which addresses a webhook may reach (SSRF protection), and its URL's
//! rules.
//!
//! A webhook URL is chosen by a project owner, but the request comes from
//! inside our network: without a check, an owner could make the server
//! POST to its own admin port, the database, another internal service or
//! the cloud's instance metadata (credentials). So loopback, private,
//! link-local, unique-local, shared (CGNAT), multicast, reserved and the
//! known metadata addresses are refused, both when the URL is saved and,
//! since a name may resolve elsewhere later (DNS rebinding), on every
//! attempt: the sender connects only to the addresses it resolved and
//! checked. The operator's allow-list opens chosen networks again.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use http::Uri;
use ipnet::IpNet;

use crate::domain::FieldViolation;

/// Longest URL accepted.
pub const MAX_URL_CHARS: usize = 2_000;

/// Decides which addresses webhooks may reach.
#[derive(Debug, Clone, Default)]
pub struct AddressPolicy {
    allowed: Vec<IpNet>,
}

/// A webhook URL's parts the sender needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub https: bool,
    /// The host as written (no brackets around an IPv6 literal).
    pub host: String,
    pub port: u16,
    /// Path and query, at least `/`.
    pub path: String,
}

impl AddressPolicy {
    pub fn new(allowed: Vec<IpNet>) -> Self {
        Self { allowed }
    }

    /// May a webhook connect to `ip`?
    pub fn permits(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.allowed.iter().any(|network| network.contains(&ip)) || !forbidden(ip)
    }
}

/// Parses a webhook URL: http or https, a host, no user information.
pub fn parse_url(field: &str, url: &str) -> Result<Target, FieldViolation> {
    let invalid = |why: &str| FieldViolation::new(field, why.to_owned());
    if url.is_empty() {
        return Err(invalid("is required"));
    }
    if url.chars().count() > MAX_URL_CHARS {
        return Err(invalid("must be at most 2000 characters"));
    }
    let uri: Uri = url.parse().map_err(|_| invalid("must be an absolute http or https URL"))?;
    let https = match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(invalid("must be an http or https URL")),
    };
    let authority = uri.authority().ok_or_else(|| invalid("must name a host"))?;
    if authority.as_str().contains('@') {
        return Err(invalid("must not carry user information (put credentials in the path or rely on the signature)"));
    }
    let host = authority.host().trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    if host.is_empty() {
        return Err(invalid("must name a host"));
    }
    let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
    let path = uri.path_and_query().map_or_else(|| "/".to_owned(), |path| path.as_str().to_owned());
    let path = if path.is_empty() { "/".to_owned() } else { path };
    Ok(Target { https, host, port, path })
}

impl Target {
    /// The host as an IP address, if it is one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// Names that always mean this machine, whatever DNS says.
    pub fn is_local_name(&self) -> bool {
        self.host == "localhost" || self.host.ends_with(".localhost")
    }
}

/// How long saving a URL waits for its host to resolve.
const RESOLVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Refuses a URL whose host is, or resolves to, an address `policy`
/// forbids. A name that does not resolve now is accepted (its deliveries
/// fail and are retried, and every attempt checks again).
pub async fn check_destination(policy: &AddressPolicy, field: &str, target: &Target) -> Result<(), FieldViolation> {
    let refuse = |what: String| {
        FieldViolation::new(
            field,
            format!(
                "{what}, which webhooks may not reach (loopback, private, link-local, unique-local, CGNAT or metadata)"
            ),
        )
    };
    if target.is_local_name() {
        return Err(refuse(format!("{} is this machine", target.host)));
    }
    if let Some(ip) = target.ip() {
        return if policy.permits(ip) { Ok(()) } else { Err(refuse(format!("{ip} is an internal address"))) };
    }
    let lookup = tokio::net::lookup_host((target.host.as_str(), target.port));
    if let Ok(Ok(addresses)) = tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
        for address in addresses {
            if !policy.permits(address.ip()) {
                return Err(refuse(format!("{} resolves to {}", target.host, address.ip())));
            }
        }
    }
    Ok(())
}

/// Addresses no webhook reaches unless allowed.
fn forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => forbidden_v4(ip),
        IpAddr::V6(ip) => forbidden_v6(ip),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || a == 0 // "this network"
        || ip.is_loopback() // 127/8
        || ip.is_private() // 10/8, 172.16/12, 192.168/16
        || ip.is_link_local() // 169.254/16, with 169.254.169.254 (AWS, GCP, Azure metadata)
        || (a == 100 && (64..128).contains(&b)) // 100.64/10 shared (CGNAT), with Alibaba's 100.100.100.200
        || (a == 192 && b == 0 && c == 0) // 192.0.0/24 IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // 198.18/15 benchmarking
        || ip.is_multicast() // 224/4
        || a >= 240 // 240/4 reserved, and broadcast
        || ip == Ipv4Addr::new(168, 63, 129, 16) // Azure's host endpoint
}

fn forbidden_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    // Addresses that embed an IPv4 address are judged by it.
    let embedded = |high: u16, low: u16| Ipv4Addr::new((high >> 8) as u8, high as u8, (low >> 8) as u8, low as u8);
    if segments[..6] == [0, 0, 0, 0, 0, 0xffff] || segments[..6] == [0; 6] && !ip.is_loopback() && !ip.is_unspecified()
    {
        return forbidden_v4(embedded(segments[6], segments[7]));
    }
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // NAT64
        return forbidden_v4(embedded(segments[6], segments[7]));
    }
    if segments[0] == 0x2002 {
        // 6to4
        return forbidden_v4(embedded(segments[1], segments[2]));
    }
    ip.is_unspecified()
        || ip.is_loopback()
        || (segments[0] & 0xffc0) == 0xfe80 // link-local
        || (segments[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (segments[0] & 0xfe00) == 0xfc00 // unique-local, with AWS's metadata fd00:ec2::254
        || (segments[0] & 0xff00) == 0xff00 // multicast
        || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation
        || segments[0] == 0x0100 && segments[1..4] == [0, 0, 0] // discard-only 100::/64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_refused_unless_allowed() {
        let policy = AddressPolicy::default();
        for refused in [
            "127.0.0.1",
            "127.1.2.3",
            "0.0.0.0",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.100.100.200",
            "168.63.129.16",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
        ] {
            assert!(!policy.permits(refused.parse().unwrap()), "{refused} must be refused");
        }
        for permitted in ["93.184.215.14", "1.1.1.1", "2606:4700::1111", "::ffff:1.1.1.1"] {
            assert!(policy.permits(permitted.parse().unwrap()), "{permitted} must be permitted");
        }
        let loopback = AddressPolicy::new(vec!["127.0.0.1/32".parse().unwrap()]);
        assert!(loopback.permits("127.0.0.1".parse().unwrap()));
        assert!(loopback.permits("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!loopback.permits("127.0.0.2".parse().unwrap()));
        assert!(!loopback.permits("10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn urls_need_http_or_https_and_a_host() {
        let target = parse_url("url", "https://hooks.example.com/in?x=1").unwrap();
        assert_eq!(target, Target { https: true, host: "hooks.example.com".into(), port: 443, path: "/in?x=1".into() });
        let target = parse_url("url", "http://[::1]:8080").unwrap();
        assert_eq!((target.host.as_str(), target.port, target.path.as_str()), ("::1", 8080, "/"));
        assert_eq!(target.ip(), Some("::1".parse().unwrap()));
        for bad in ["", "ftp://example.com/", "example.com/x", "https://user:pw@example.com/", "/relative"] {
            let error = parse_url("webhook.url", bad).unwrap_err();
            assert_eq!(error.field, "webhook.url", "{bad}");
        }
        assert!(parse_url("url", "http://localhost:9/").unwrap().is_local_name());
        assert!(parse_url("url", "http://api.localhost/").unwrap().is_local_name());
    }
}
