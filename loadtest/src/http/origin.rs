//! The services a run talks to, parsed once: each site (a service, served by one or more
//! instances taken in turn), each instance's socket address (no name lookup per request) and
//! `Host` header, and the cookie host a site belongs to.

use http::HeaderValue;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// One of a run's origins, by position in its [`Origins`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OriginId(pub u8);

/// A parsed `http://host:port` on loopback: one server instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// Where connections go.
    pub addr: SocketAddr,
    /// `host:port` as written in the URL: the `Host` header, and what an absolute `Location`
    /// must name to stay on this origin.
    pub authority: HeaderValue,
    /// `http://host:port`, without a trailing slash.
    pub base: String,
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
        })
    }
}

/// One service of a run as the browser sees it: one or more instances behind one name, as
/// app servers sit behind a round-robin balancer. A site's instances share its cookies (a
/// browser talks to the balancer's one host).
#[derive(Debug, Clone)]
pub struct Site {
    instances: Vec<Origin>,
    /// The cookie jar's slot: sites on one host share cookies (browsers do not separate
    /// cookies by port).
    pub cookie_host: u8,
    /// The first instance's index among every instance of the run (connections and request
    /// counts are kept per instance).
    first_slot: usize,
}

impl Site {
    pub fn instances(&self) -> &[Origin] {
        &self.instances
    }

    /// The first instance's base URL, which names the site in messages.
    pub fn base(&self) -> &str {
        &self.instances[0].base
    }
}

/// A run's sites and their instances.
#[derive(Debug, Clone, Default)]
pub struct Origins {
    sites: Vec<Site>,
    slots: usize,
}

impl Origins {
    /// Adds a site of one instance and returns its id.
    pub fn add(&mut self, origin: Origin) -> OriginId {
        self.add_site(vec![origin])
    }

    /// Adds a site served by `instances` (at least one), taken in turn request by request.
    ///
    /// # Panics
    /// With no instance: a site needs one.
    pub fn add_site(&mut self, instances: Vec<Origin>) -> OriginId {
        assert!(!instances.is_empty(), "a site needs at least one instance");
        let ip = instances[0].addr.ip();
        let same_host = self
            .sites
            .iter()
            .find(|known| known.instances[0].addr.ip() == ip)
            .map(|known| known.cookie_host);
        let hosts = self
            .sites
            .iter()
            .map(|known| known.cookie_host + 1)
            .max()
            .unwrap_or(0);
        let first_slot = self.slots;
        self.slots += instances.len();
        self.sites.push(Site {
            instances,
            cookie_host: same_host.unwrap_or(hosts),
            first_slot,
        });
        OriginId(u8::try_from(self.sites.len() - 1).unwrap_or(u8::MAX))
    }

    pub fn site(&self, id: OriginId) -> &Site {
        &self.sites[usize::from(id.0)]
    }

    pub fn sites(&self) -> impl Iterator<Item = (OriginId, &Site)> {
        self.sites
            .iter()
            .enumerate()
            .map(|(index, site)| (OriginId(u8::try_from(index).unwrap_or(u8::MAX)), site))
    }

    /// The instance of `id` whose turn `turn` is (round robin), and its slot among every
    /// instance of the run.
    pub fn instance(&self, id: OriginId, turn: u32) -> (usize, &Origin) {
        let site = self.site(id);
        let index = match site.instances.len() {
            1 => 0,
            n => turn as usize % n,
        };
        (site.first_slot + index, &site.instances[index])
    }

    /// How many sites there are.
    pub fn len(&self) -> usize {
        self.sites.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sites.is_empty()
    }

    /// How many instances there are, over every site.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// How many distinct cookie hosts there are.
    pub fn cookie_hosts(&self) -> usize {
        self.sites
            .iter()
            .map(|site| usize::from(site.cookie_host) + 1)
            .max()
            .unwrap_or(0)
    }

    /// The site whose instance an absolute URL's authority names, if it is one of ours: a
    /// redirect to any instance of a site goes to the site (the balancer picks the instance).
    pub fn find(&self, authority: &str) -> Option<OriginId> {
        self.sites
            .iter()
            .position(|site| {
                site.instances.iter().any(|origin| {
                    origin
                        .authority
                        .as_bytes()
                        .eq_ignore_ascii_case(authority.as_bytes())
                })
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
        assert_eq!(origins.site(a).cookie_host, origins.site(c).cookie_host);
        assert_ne!(origins.site(a).cookie_host, origins.site(b).cookie_host);
        assert_eq!(origins.cookie_hosts(), 2);
        assert_eq!(origins.find("127.0.0.2:1"), Some(b));
        assert_eq!(origins.find("127.0.0.9:1"), None);
    }

    #[test]
    fn a_site_takes_its_instances_in_turn_and_any_of_them_names_it() {
        let mut origins = Origins::default();
        let idp = origins.add(Origin::parse("http://127.0.0.1:1").expect("idp"));
        let store = origins.add_site(
            [
                "http://127.0.0.2:1",
                "http://127.0.0.2:2",
                "http://127.0.0.9:3",
            ]
            .map(|url| Origin::parse(url).expect("store"))
            .to_vec(),
        );
        let forums = origins.add(Origin::parse("http://127.0.0.3:1").expect("forums"));
        assert_eq!(origins.slots(), 5);
        let turns: Vec<(usize, String)> = (0..4)
            .map(|turn| {
                let (slot, origin) = origins.instance(store, turn);
                (slot, origin.base.clone())
            })
            .collect();
        assert_eq!(
            turns,
            [
                (1, "http://127.0.0.2:1".to_owned()),
                (2, "http://127.0.0.2:2".to_owned()),
                (3, "http://127.0.0.9:3".to_owned()),
                (1, "http://127.0.0.2:1".to_owned()),
            ]
        );
        assert_eq!(origins.instance(idp, 7).0, 0);
        assert_eq!(origins.instance(forums, 7).0, 4);
        // Every instance names the site, whatever its host: they sit behind one balancer.
        assert_eq!(origins.find("127.0.0.9:3"), Some(store));
        assert_eq!(origins.find("127.0.0.2:2"), Some(store));
        assert_eq!(origins.site(store).base(), "http://127.0.0.2:1");
        assert_ne!(
            origins.site(store).cookie_host,
            origins.site(idp).cookie_host
        );
    }
}
