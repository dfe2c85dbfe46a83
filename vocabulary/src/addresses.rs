//! Where the stack listens by default: each service on a loopback address of its own (so the
//! store's and forums' cookies never meet in a browser's jar), on ports 9010–9012.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The IdP's default address, and its URL.
pub const IDP: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)), 9010);
pub const IDP_URL: &str = "http://127.0.0.1:9010";
/// The store's default address, and its URL.
pub const STORE: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), 9011);
pub const STORE_URL: &str = "http://127.0.0.2:9011";
/// The forums' default address, and its URL.
pub const FORUMS: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3)), 9012);
pub const FORUMS_URL: &str = "http://127.0.0.3:9012";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_url_names_its_address() {
        for (address, url) in [(IDP, IDP_URL), (STORE, STORE_URL), (FORUMS, FORUMS_URL)] {
            assert_eq!(format!("http://{address}"), url);
            assert!(address.ip().is_loopback());
        }
    }
}
