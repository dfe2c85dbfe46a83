//! Source addresses for the users' connections (`--source-addrs`): each user binds its
//! connections to one of them before connecting, so that the run is not held to one source
//! address's ephemeral ports (about 28,000 per source and destination pair).
//!
//! The bind uses `IP_BIND_ADDRESS_NO_PORT`: the kernel picks the port at connect time, per
//! destination, rather than reserving one at bind time for any destination — without it, binding
//! would take ports from one shared pool and run out sooner than not binding at all.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The addresses users' connections come from, taken in turn by user.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SourceAddrs(pub Vec<IpAddr>);

/// At most this many addresses in one `--source-addrs` range.
pub const MAX_SOURCES: usize = 65_536;

impl SourceAddrs {
    /// Parses a comma-separated list of addresses and IPv4 ranges (`127.0.0.2-127.0.0.40`).
    pub fn parse(text: &str) -> Result<SourceAddrs, String> {
        let mut addrs = Vec::new();
        for part in text
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
        {
            match part.split_once('-') {
                Some((first, last)) => {
                    let parse = |s: &str| {
                        s.trim()
                            .parse::<Ipv4Addr>()
                            .map_err(|_| format!("{s:?} in {part:?}: expected an IPv4 address"))
                    };
                    let (first, last) = (u32::from(parse(first)?), u32::from(parse(last)?));
                    if first > last {
                        return Err(format!("{part:?}: the range runs backwards"));
                    }
                    if (last - first) as usize >= MAX_SOURCES {
                        return Err(format!("{part:?}: more than {MAX_SOURCES} addresses"));
                    }
                    addrs.extend((first..=last).map(|n| IpAddr::V4(Ipv4Addr::from(n))));
                }
                None => addrs.push(
                    part.parse::<IpAddr>()
                        .map_err(|_| format!("{part:?}: expected an address or a range"))?,
                ),
            }
        }
        if addrs.is_empty() {
            return Err(format!("{text:?}: no address"));
        }
        Ok(SourceAddrs(addrs))
    }

    /// Loopback addresses 127.0.0.2 onwards, `count` of them (at most 127.0.0.254): what a run
    /// against loopback targets takes when it needs more than one source.
    pub fn loopback(count: usize) -> SourceAddrs {
        SourceAddrs(
            (2..=254u8)
                .take(count.max(1))
                .map(|last| IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
                .collect(),
        )
    }

    /// The address user `user` binds its connections to.
    pub fn for_user(&self, user: usize) -> IpAddr {
        self.0[user % self.0.len()]
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// One line for people: the first and last address and how many.
    pub fn describe(&self) -> String {
        match (self.0.first(), self.0.last()) {
            (Some(first), Some(last)) if self.0.len() > 1 => {
                format!("{first} … {last} ({} addresses)", self.0.len())
            }
            (Some(only), _) => only.to_string(),
            _ => "none".into(),
        }
    }
}

/// Connects to `addr` from `source` (port chosen at connect), or from wherever the kernel picks.
pub async fn connect(
    addr: SocketAddr,
    source: Option<IpAddr>,
) -> std::io::Result<tokio::net::TcpStream> {
    let Some(source) = source else {
        return tokio::net::TcpStream::connect(addr).await;
    };
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    nix::sys::socket::setsockopt(
        &socket,
        nix::sys::socket::sockopt::IpBindAddressNoPort,
        &true,
    )
    .map_err(std::io::Error::from)?;
    socket.bind(SocketAddr::new(source, 0))?;
    socket.connect(addr).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_lists_parse_and_bad_ones_are_named() {
        let addrs = SourceAddrs::parse("127.0.0.2-127.0.0.4, ::1,127.0.0.9").expect("parse");
        let shown: Vec<String> = addrs.0.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            ["127.0.0.2", "127.0.0.3", "127.0.0.4", "::1", "127.0.0.9"]
        );
        assert_eq!(addrs.for_user(6).to_string(), "127.0.0.3");
        for bad in ["", "127.0.0.5-127.0.0.2", "127.0.0.x", "10.0.0.0-10.2.0.0"] {
            assert!(SourceAddrs::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            SourceAddrs::loopback(3).describe(),
            "127.0.0.2 … 127.0.0.4 (3 addresses)"
        );
        assert_eq!(SourceAddrs::loopback(1000).len(), 253);
    }

    #[tokio::test]
    async fn connections_come_from_the_address_they_are_bound_to() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut seen = Vec::new();
        for last in [2u8, 3, 4] {
            let source = IpAddr::V4(Ipv4Addr::new(127, 0, 0, last));
            let _client = connect(addr, Some(source)).await.expect("connect");
            let (_, peer) = listener.accept().await.expect("accept");
            seen.push(peer.ip());
        }
        let expected: Vec<IpAddr> = [2u8, 3, 4]
            .iter()
            .map(|last| IpAddr::V4(Ipv4Addr::new(127, 0, 0, *last)))
            .collect();
        assert_eq!(seen, expected);
    }
}
