//! The services a run talks to, parsed and resolved once at start: each site (a service, served
//! by one or more instances taken in turn), each instance's scheme, host name, addresses (every
//! address of a name, taken in turn by new connections; no name lookup per request) and `Host`
//! header, and the schemeful site its cookies' SameSite rules are judged by.
//!
//! Any `http://` or `https://` URL is a target: ssobench sends load where its user points it.
//! What it never does is follow a redirect to a host that is not one of the run's targets.

use http::HeaderValue;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs as _};

/// One of a run's sites, by position in its [`Origins`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OriginId(pub u8);

/// How an origin is spoken to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }

    fn parse(text: &str) -> Option<Scheme> {
        if text.eq_ignore_ascii_case("http") {
            Some(Scheme::Http)
        } else if text.eq_ignore_ascii_case("https") {
            Some(Scheme::Https)
        } else {
            None
        }
    }
}

/// A parsed and resolved `http[s]://host[:port]`: one server instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub scheme: Scheme,
    /// The host as the URL names it, lower-case, IPv6 without brackets: the TLS server name and
    /// the host cookies are kept for.
    pub host: Box<str>,
    pub port: u16,
    /// Every address the host resolved to at start (an IP literal: itself), taken in turn by
    /// new connections.
    pub addrs: Vec<SocketAddr>,
    /// `host[:port]` (the port only when not the scheme's default): the `Host` header.
    pub authority: HeaderValue,
    /// `scheme://authority`, without a trailing slash: also the `Origin` header of form posts
    /// made from this origin's pages.
    pub base: String,
}

/// Why a URL cannot be a target.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OriginError {
    #[error("{0}: expected http://HOST[:PORT] or https://HOST[:PORT] (no path, query or user)")]
    Shape(String),
    #[error("{url}: cannot resolve {host}: {reason}")]
    Resolve {
        url: String,
        host: String,
        reason: String,
    },
}

/// The parts of a URL's origin, not yet resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub scheme: Scheme,
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    /// The scheme, host and port of an absolute `http[s]://` URL (any path); `None` for any
    /// other URL.
    pub fn of_url(url: &url::Url) -> Option<Endpoint> {
        let scheme = Scheme::parse(url.scheme())?;
        let host = match url.host()? {
            url::Host::Domain(name) => name.to_ascii_lowercase(),
            url::Host::Ipv4(ip) => ip.to_string(),
            url::Host::Ipv6(ip) => ip.to_string(),
        };
        Some(Endpoint {
            scheme,
            host,
            port: url.port().unwrap_or(scheme.default_port()),
        })
    }
}

impl Origin {
    /// Parses `http[s]://HOST[:PORT][/]` (a name or an IP literal) and resolves the host.
    pub fn parse(text: &str) -> Result<Origin, OriginError> {
        let (endpoint, authority) = Origin::shape(text)?;
        let addrs =
            resolve(&endpoint.host, endpoint.port).map_err(|reason| OriginError::Resolve {
                url: text.to_owned(),
                host: endpoint.host.clone(),
                reason,
            })?;
        Ok(Origin::from_parts(endpoint, authority, addrs))
    }

    /// An origin whose addresses are given (tests, and hosts resolved elsewhere).
    pub fn with_addrs(text: &str, addrs: Vec<SocketAddr>) -> Result<Origin, OriginError> {
        let (endpoint, authority) = Origin::shape(text)?;
        if addrs.is_empty() {
            return Err(OriginError::Shape(text.to_owned()));
        }
        Ok(Origin::from_parts(endpoint, authority, addrs))
    }

    fn shape(text: &str) -> Result<(Endpoint, String), OriginError> {
        let shape = || OriginError::Shape(text.to_owned());
        let url = url::Url::parse(text).map_err(|_| shape())?;
        let endpoint = Endpoint::of_url(&url).ok_or_else(shape)?;
        if !url.username().is_empty()
            || url.password().is_some()
            || url.query().is_some()
            || url.fragment().is_some()
            || url.path() != "/"
        {
            return Err(shape());
        }
        let host = url.host_str().ok_or_else(shape)?.to_ascii_lowercase();
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host,
        };
        Ok((endpoint, authority))
    }

    fn from_parts(endpoint: Endpoint, authority: String, addrs: Vec<SocketAddr>) -> Origin {
        let base = format!("{}://{authority}", endpoint.scheme.as_str());
        Origin {
            scheme: endpoint.scheme,
            host: endpoint.host.into_boxed_str(),
            port: endpoint.port,
            addrs,
            // The authority of a parsed URL is visible ASCII.
            authority: HeaderValue::from_str(&authority)
                .unwrap_or_else(|_| HeaderValue::from_static("invalid")),
            base,
        }
    }

    /// Whether `endpoint` names this origin.
    pub fn is(&self, endpoint: &Endpoint) -> bool {
        self.scheme == endpoint.scheme && self.port == endpoint.port && *self.host == endpoint.host
    }

    /// Whether every address of this origin is on loopback.
    pub fn is_loopback(&self) -> bool {
        self.addrs.iter().all(|addr| addr.ip().is_loopback())
    }
}

/// Every address of `host` (an IP literal is its own), once, in the resolver's order.
fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let mut addrs: Vec<SocketAddr> = Vec::new();
    for addr in (host, port)
        .to_socket_addrs()
        .map_err(|error| error.to_string())?
    {
        if !addrs.contains(&addr) {
            addrs.push(addr);
        }
    }
    if addrs.is_empty() {
        return Err("no address".into());
    }
    Ok(addrs)
}

/// The schemeful site of a host (RFC 6265bis §5.2: scheme and registrable domain), which
/// SameSite rules compare: an IP address is its own site; a name's is its registrable domain
/// by the public suffix list (the host itself when it has none, as `localhost`).
pub fn site_of(scheme: Scheme, host: &str) -> (Scheme, String) {
    let domain = if host.parse::<IpAddr>().is_ok() {
        host.to_owned()
    } else {
        psl::domain_str(host).unwrap_or(host).to_owned()
    };
    (scheme, domain)
}

/// One service of a run as the browser sees it: one or more instances behind one name, as
/// app servers sit behind a round-robin balancer.
#[derive(Debug, Clone)]
pub struct Site {
    instances: Vec<Origin>,
    /// The site's schemeful site (by its first instance), as a bit among the run's: what the
    /// cookie jar's SameSite rules compare.
    pub same_site_bit: u32,
    /// The first instance's index among every instance of the run (connections and request
    /// counts are kept per instance).
    first_slot: usize,
}

impl Site {
    pub fn instances(&self) -> &[Origin] {
        &self.instances
    }

    /// The first instance: the site's name in messages, its host for cookies, the origin of
    /// its pages.
    pub fn first(&self) -> &Origin {
        &self.instances[0]
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
    /// The distinct schemeful sites seen, by bit.
    same_sites: Vec<(Scheme, String)>,
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
        let site = site_of(instances[0].scheme, &instances[0].host);
        let index = match self.same_sites.iter().position(|known| *known == site) {
            Some(index) => index,
            None => {
                self.same_sites.push(site);
                self.same_sites.len() - 1
            }
        };
        let first_slot = self.slots;
        self.slots += instances.len();
        self.sites.push(Site {
            instances,
            same_site_bit: 1 << index.min(31),
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

    /// Whether any instance is spoken to over HTTPS.
    pub fn any_https(&self) -> bool {
        self.sites
            .iter()
            .flat_map(|site| &site.instances)
            .any(|origin| origin.scheme == Scheme::Https)
    }

    /// The site one of whose instances' base URL (`scheme://authority`, as the run names it)
    /// starts `url`, and what follows it.
    pub fn find_prefix<'u>(&self, url: &'u str) -> Option<(OriginId, &'u str)> {
        self.sites.iter().enumerate().find_map(|(index, site)| {
            site.instances.iter().find_map(|origin| {
                let base = origin.base.as_bytes();
                let head = url.as_bytes().get(..base.len())?;
                if !head.eq_ignore_ascii_case(base) {
                    return None;
                }
                let rest = &url[base.len()..];
                // `http://host:90` must not match `http://host:9011`.
                if !(rest.is_empty() || rest.starts_with(['/', '?', '#'])) {
                    return None;
                }
                Some((OriginId(u8::try_from(index).ok()?), rest))
            })
        })
    }

    /// The site one of whose instances `endpoint` names, if it is one of ours: a redirect to
    /// any instance of a site goes to the site (the balancer picks the instance).
    pub fn find(&self, endpoint: &Endpoint) -> Option<OriginId> {
        self.sites
            .iter()
            .position(|site| site.instances.iter().any(|origin| origin.is(endpoint)))
            .and_then(|index| u8::try_from(index).ok())
            .map(OriginId)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Origin {
        Origin::parse(url).expect(url)
    }

    #[test]
    fn ip_literals_and_names_parse_with_their_default_ports() {
        let origin = parse("http://127.0.0.2:9011/");
        assert_eq!(origin.addrs, ["127.0.0.2:9011".parse().expect("addr")]);
        assert_eq!(origin.authority, "127.0.0.2:9011");
        assert_eq!(origin.base, "http://127.0.0.2:9011");
        assert_eq!(&*origin.host, "127.0.0.2");
        let origin = parse("http://LOCALHOST");
        assert_eq!(origin.port, 80);
        assert_eq!(origin.authority, "localhost");
        assert!(origin.is_loopback());
        assert!(
            origin.addrs.iter().all(|addr| addr.port() == 80),
            "{:?}",
            origin.addrs
        );
        let origin = parse("https://[::1]:8443");
        assert_eq!(origin.scheme, Scheme::Https);
        assert_eq!(origin.addrs, ["[::1]:8443".parse().expect("addr")]);
        assert_eq!(origin.authority, "[::1]:8443");
        assert_eq!(&*origin.host, "::1");
        let origin = parse("https://127.0.0.1:443");
        assert_eq!(
            origin.authority, "127.0.0.1",
            "the default port is left out"
        );
        assert_eq!(origin.base, "https://127.0.0.1");
    }

    #[test]
    fn any_address_is_a_target_but_shapes_are_checked() {
        // Parsing sends nothing: an address outside loopback is accepted (the run's user
        // decides where load goes), and an IP literal needs no lookup.
        let origin = parse("https://192.0.2.10:8443");
        assert_eq!(origin.addrs, ["192.0.2.10:8443".parse().expect("addr")]);
        assert!(!origin.is_loopback());
        for url in [
            "ftp://127.0.0.1",
            "127.0.0.1:80",
            "http://127.0.0.1/path",
            "http://user@127.0.0.1",
            "http://127.0.0.1/?q=1",
            "http://127.0.0.1#f",
        ] {
            assert!(
                matches!(Origin::parse(url), Err(OriginError::Shape(_))),
                "{url}"
            );
        }
    }

    #[test]
    fn sites_are_schemeful_registrable_domains() {
        assert_eq!(
            site_of(Scheme::Https, "login.example.co.uk"),
            (Scheme::Https, "example.co.uk".into())
        );
        assert_eq!(
            site_of(Scheme::Https, "127.0.0.1"),
            (Scheme::Https, "127.0.0.1".into())
        );
        assert_eq!(
            site_of(Scheme::Http, "localhost"),
            (Scheme::Http, "localhost".into())
        );
        let mut origins = Origins::default();
        let at = |url: &str| {
            Origin::with_addrs(url, vec!["127.0.0.1:1".parse().expect("addr")]).expect(url)
        };
        let idp = origins.add(at("https://idp.example.com"));
        let store = origins.add(at("https://store.example.com"));
        let plain = origins.add(at("http://forums.example.com"));
        let other = origins.add(at("https://example.org"));
        assert_eq!(
            origins.site(idp).same_site_bit,
            origins.site(store).same_site_bit
        );
        assert_ne!(
            origins.site(idp).same_site_bit,
            origins.site(plain).same_site_bit,
            "another scheme is another site"
        );
        assert_ne!(
            origins.site(idp).same_site_bit,
            origins.site(other).same_site_bit
        );
    }

    #[test]
    fn a_site_takes_its_instances_in_turn_and_any_of_them_names_it() {
        let mut origins = Origins::default();
        let idp = origins.add(parse("http://127.0.0.1:1"));
        let store = origins.add_site(
            [
                "http://127.0.0.2:1",
                "http://127.0.0.2:2",
                "http://127.0.0.9:3",
            ]
            .map(parse)
            .to_vec(),
        );
        let forums = origins.add(parse("https://127.0.0.3:1"));
        assert_eq!(origins.slots(), 5);
        assert!(origins.any_https());
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
        let endpoint = |url: &str| Endpoint::of_url(&url::Url::parse(url).expect(url));
        // Every instance names the site, whatever its host: they sit behind one balancer.
        assert_eq!(
            origins.find(&endpoint("http://127.0.0.9:3/x").expect("ep")),
            Some(store)
        );
        assert_eq!(
            origins.find(&endpoint("https://127.0.0.3:1/").expect("ep")),
            Some(forums)
        );
        assert_eq!(
            origins.find(&endpoint("http://127.0.0.3:1/").expect("ep")),
            None,
            "the scheme is part of the origin"
        );
        assert_eq!(origins.site(store).base(), "http://127.0.0.2:1");
        assert_eq!(endpoint("mailto:a@b"), None);
        assert_eq!(
            origins.find_prefix("http://127.0.0.9:3/cb?code=1"),
            Some((store, "/cb?code=1"))
        );
        assert_eq!(origins.find_prefix("HTTP://127.0.0.1:1"), Some((idp, "")));
        assert_eq!(origins.find_prefix("http://127.0.0.1:10/"), None);
        assert_eq!(origins.find_prefix("https://127.0.0.9:3/"), None);
    }
}
