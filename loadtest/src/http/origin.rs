//! The services a run talks to, parsed once: each origin's socket address (no name lookup per
//! request), its `Host` header, and the cookie host it belongs to.

use http::HeaderValue;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// One of a run's origins, by position in its [`Origins`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OriginId(pub u8);

/// A parsed `http://host:port` on loopback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// Where connections go.
    pub addr: SocketAddr,
    /// `host:port` as written in the URL: the `Host` header, and what an absolute `Location`
    /// must name to stay on this origin.
    pub authority: HeaderValue,
    /// `http://host:port`, without a trailing slash.
    pub base: String,
    /// Origins on one host share cookies (browsers do not separate cookies by port).
    pub cookie_host: u8,
}

/// Why a URL cannot be a target.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OriginError {
    #[error("{0}: expected http://HOST:PORT (plain HTTP, no path)")]
    Shape(String),
    #[error(
        "{0}: ssobench only sends load to loopback (127.0.0.0/8, [::1], localhost); no other address is ever a target"
    )]
    NotLoopback(String),
}

impl Origin {
    /// Parses `http://HOST[:PORT][/]` where HOST is a loopback IP literal or `localhost`.
    pub fn parse(url: &str) -> Result<Origin, OriginError> {
        let shape = || OriginError::Shape(url.to_owned());
        let rest = url.strip_prefix("http://").ok_or_else(shape)?;
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
            return Err(shape());
        }
        let uri_authority: http::uri::Authority = authority.parse().map_err(|_| shape())?;
        let port = uri_authority.port_u16().unwrap_or(80);
        let host = uri_authority.host();
        let ip = if host.eq_ignore_ascii_case("localhost") {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            host.trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .map_err(|_| OriginError::NotLoopback(url.to_owned()))?
        };
        if !ip.is_loopback() {
            return Err(OriginError::NotLoopback(url.to_owned()));
        }
        Ok(Origin {
            addr: SocketAddr::new(ip, port),
            authority: HeaderValue::from_str(authority).map_err(|_| shape())?,
            base: format!("http://{authority}"),
            cookie_host: 0,
        })
    }
}

/// A run's origins; cookie hosts assigned so that origins on one host share a jar slot.
#[derive(Debug, Clone, Default)]
pub struct Origins {
    all: Vec<Origin>,
}

impl Origins {
    /// Adds an origin and returns its id.
    pub fn add(&mut self, mut origin: Origin) -> OriginId {
        let same_host = self
            .all
            .iter()
            .find(|known| known.addr.ip() == origin.addr.ip())
            .map(|known| known.cookie_host);
        let hosts = self
            .all
            .iter()
            .map(|known| known.cookie_host + 1)
            .max()
            .unwrap_or(0);
        origin.cookie_host = same_host.unwrap_or(hosts);
        self.all.push(origin);
        OriginId(u8::try_from(self.all.len() - 1).unwrap_or(u8::MAX))
    }

    pub fn get(&self, id: OriginId) -> &Origin {
        &self.all[usize::from(id.0)]
    }

    pub fn len(&self) -> usize {
        self.all.len()
    }

    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// How many distinct cookie hosts there are.
    pub fn cookie_hosts(&self) -> usize {
        self.all
            .iter()
            .map(|origin| usize::from(origin.cookie_host) + 1)
            .max()
            .unwrap_or(0)
    }

    /// The origin an absolute URL's `scheme://authority` names, if it is one of ours.
    pub fn find(&self, authority: &str) -> Option<OriginId> {
        self.all
            .iter()
            .position(|origin| {
                origin
                    .authority
                    .as_bytes()
                    .eq_ignore_ascii_case(authority.as_bytes())
            })
            .and_then(|index| u8::try_from(index).ok())
            .map(OriginId)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_literals_and_localhost_parse() {
        let origin = Origin::parse("http://127.0.0.2:9011/").expect("parse");
        assert_eq!(origin.addr, "127.0.0.2:9011".parse().expect("addr"));
        assert_eq!(origin.authority, "127.0.0.2:9011");
        assert_eq!(origin.base, "http://127.0.0.2:9011");
        let origin = Origin::parse("http://localhost:80").expect("parse");
        assert_eq!(origin.addr, "127.0.0.1:80".parse().expect("addr"));
        let origin = Origin::parse("http://[::1]:8080").expect("parse");
        assert_eq!(origin.addr, "[::1]:8080".parse().expect("addr"));
    }

    #[test]
    fn anything_but_loopback_is_refused() {
        for url in [
            "http://192.0.2.10:8080",
            "http://example.com",
            "http://10.0.0.1",
            "http://[2001:db8::1]:80",
        ] {
            assert_eq!(
                Origin::parse(url),
                Err(OriginError::NotLoopback(url.into())),
                "{url}"
            );
        }
        for url in [
            "https://127.0.0.1",
            "127.0.0.1:80",
            "http://127.0.0.1/path",
            "http://user@127.0.0.1",
        ] {
            assert!(
                matches!(Origin::parse(url), Err(OriginError::Shape(_))),
                "{url}"
            );
        }
    }

    #[test]
    fn origins_on_one_host_share_cookies() {
        let mut origins = Origins::default();
        let a = origins.add(Origin::parse("http://127.0.0.1:1").expect("a"));
        let b = origins.add(Origin::parse("http://127.0.0.2:1").expect("b"));
        let c = origins.add(Origin::parse("http://127.0.0.1:2").expect("c"));
        assert_eq!(origins.get(a).cookie_host, origins.get(c).cookie_host);
        assert_ne!(origins.get(a).cookie_host, origins.get(b).cookie_host);
        assert_eq!(origins.cookie_hosts(), 2);
        assert_eq!(origins.find("127.0.0.2:1"), Some(b));
        assert_eq!(origins.find("127.0.0.9:1"), None);
    }
}
