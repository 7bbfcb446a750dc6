//! Who is asking: the client's address, through the reverse proxies the operator trusts.
//!
//! Behind a proxy every connection comes from the proxy's address, so the per-address limits
//! (login attempts, uploads, connections) and the audit log would see one client. A proxy listed
//! in `trusted_proxies` appends the address it received the request from to `X-Forwarded-For`;
//! walking that list from the right, the first address that is not a trusted proxy is the client.
//! From anyone else the header is ignored, since a client can write whatever it likes in it.

use std::net::IpAddr;

use axum::http::HeaderMap;

/// An address or a network (`10.0.0.0/8`, `fd00::/8`, `192.0.2.7`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_eq(&net.octets(), &ip.octets(), self.prefix),
            (IpAddr::V6(net), IpAddr::V6(ip)) => prefix_eq(&net.octets(), &ip.octets(), self.prefix),
            (IpAddr::V6(_), IpAddr::V4(ip)) => self.contains(IpAddr::V6(ip.to_ipv6_mapped())),
            (IpAddr::V4(_), IpAddr::V6(ip)) => ip.to_ipv4_mapped().is_some_and(|v4| self.contains(IpAddr::V4(v4))),
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let (whole, rest) = (usize::from(prefix / 8), prefix % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    rest == 0 || {
        let mask = 0xffu8 << (8 - rest);
        (a[whole] & mask) == (b[whole] & mask)
    }
}

impl std::str::FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<IpNet, String> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| format!("'{s}' is not an address or a network"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| format!("'{s}': bad prefix length"))?,
            None => max,
        };
        Ok(IpNet { addr, prefix })
    }
}

/// Parse a comma-separated list of addresses and networks.
pub fn parse_list(s: &str) -> Result<Vec<IpNet>, String> {
    s.split(',').filter(|p| !p.trim().is_empty()).map(str::parse).collect()
}

/// The client's address: the peer, or — when the peer is a trusted proxy — the rightmost
/// address in `X-Forwarded-For` that is not a trusted proxy.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let mut client = peer;
    let hops = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>();
    for hop in hops.iter().flat_map(|v| v.split(',')).rev() {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) if is_trusted(ip) => client = ip,
            Ok(ip) => return ip,
            // Garbage in the list: trust nothing to its left.
            Err(_) => return client,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().unwrap());
        h
    }

    #[test]
    fn networks_contain_their_addresses() {
        let n: IpNet = "10.1.0.0/16".parse().unwrap();
        assert!(n.contains(ip("10.1.200.3")) && !n.contains(ip("10.2.0.1")));
        let one: IpNet = "192.0.2.7".parse().unwrap();
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let odd: IpNet = "172.16.0.0/12".parse().unwrap();
        assert!(odd.contains(ip("172.31.255.255")) && !odd.contains(ip("172.32.0.0")));
        let v6: IpNet = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        assert!(one.contains(ip("::ffff:192.0.2.7")));
        assert!("10.0.0.0/33".parse::<IpNet>().is_err() && "proxy".parse::<IpNet>().is_err());
        assert_eq!(parse_list(" 10.0.0.0/8, 127.0.0.1 ").unwrap().len(), 2);
        assert!(parse_list("").unwrap().is_empty());
    }

    #[test]
    fn r8_6_the_client_behind_a_trusted_proxy_is_the_rightmost_untrusted_address() {
        let proxies = parse_list("10.0.0.0/8").unwrap();
        // Through the proxy: the address it saw.
        assert_eq!(client_ip(ip("10.0.0.2"), &xff("203.0.113.9"), &proxies), ip("203.0.113.9"));
        // What the client itself wrote to the left is not believed.
        assert_eq!(client_ip(ip("10.0.0.2"), &xff("198.51.100.1, 203.0.113.9"), &proxies), ip("203.0.113.9"));
        // Two trusted proxies in a row.
        assert_eq!(client_ip(ip("10.0.0.2"), &xff("203.0.113.9, 10.0.0.5"), &proxies), ip("203.0.113.9"));
        // Straight from the internet, the header is ignored.
        assert_eq!(client_ip(ip("203.0.113.50"), &xff("10.0.0.9"), &proxies), ip("203.0.113.50"));
        // No proxies configured: always the peer.
        assert_eq!(client_ip(ip("10.0.0.2"), &xff("203.0.113.9"), &[]), ip("10.0.0.2"));
        // The proxy sent no header: the proxy itself.
        assert_eq!(client_ip(ip("10.0.0.2"), &HeaderMap::new(), &proxies), ip("10.0.0.2"));
    }
}
