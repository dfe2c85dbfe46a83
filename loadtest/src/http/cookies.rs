//! A simulated browser's cookies: a few per host, as the services set them (host-only,
//! `Path=/`), with the `Cookie` header built once per change rather than once per request.
//!
//! What it follows of RFC 6265: cookies are keyed by host, not port; a later `Set-Cookie` of a
//! name replaces the earlier one; `Max-Age` ≤ 0 or an `Expires` in the past removes it; a
//! `Secure` cookie is not kept, since every target is plain HTTP on loopback (a browser would
//! not keep it either). `Domain` and `Path` are not matched: the services set neither but
//! `Path=/`.

use bytes::Bytes;
use http::HeaderValue;

/// Cookies one host may hold; a browser keeps more, but the services set at most three.
const PER_HOST: usize = 16;

/// A browser's cookies, one slot per cookie host (see `Origin::cookie_host`).
#[derive(Debug, Clone, Default)]
pub struct CookieJar {
    hosts: Vec<HostCookies>,
}

#[derive(Debug, Clone, Default)]
struct HostCookies {
    /// `(name, value)` in the order they were first set.
    cookies: Vec<(Box<str>, Box<str>)>,
    /// The `Cookie` header for these cookies, rebuilt when they change.
    header: Option<HeaderValue>,
}

impl CookieJar {
    pub fn new(hosts: usize) -> Self {
        CookieJar {
            hosts: vec![HostCookies::default(); hosts],
        }
    }

    /// Forgets every cookie, as a fresh browser would.
    pub fn clear(&mut self) {
        for host in &mut self.hosts {
            host.cookies.clear();
            host.header = None;
        }
    }

    /// The `Cookie` header to send to `host`, if it holds any cookie.
    pub fn header(&self, host: u8) -> Option<HeaderValue> {
        self.hosts.get(usize::from(host))?.header.clone()
    }

    /// The value of cookie `name` held for `host`.
    pub fn get(&self, host: u8, name: &str) -> Option<&str> {
        self.hosts
            .get(usize::from(host))?
            .cookies
            .iter()
            .find(|(held, _)| &**held == name)
            .map(|(_, value)| &**value)
    }

    /// Takes the `Set-Cookie` values of an answer from `host`.
    pub fn update(&mut self, host: u8, set_cookies: &[Bytes]) {
        if set_cookies.is_empty() {
            return;
        }
        let Some(slot) = self.hosts.get_mut(usize::from(host)) else {
            return;
        };
        let mut changed = false;
        for value in set_cookies {
            if let Ok(text) = std::str::from_utf8(value) {
                changed |= slot.apply(text);
            }
        }
        if changed {
            slot.rebuild_header();
        }
    }
}

impl HostCookies {
    /// Applies one `Set-Cookie`; `true` when the jar changed.
    fn apply(&mut self, set_cookie: &str) -> bool {
        let mut parts = set_cookie.split(';');
        let Some((name, value)) = parts.next().and_then(|pair| pair.split_once('=')) else {
            return false;
        };
        let (name, value) = (name.trim(), value.trim());
        if name.is_empty() {
            return false;
        }
        let mut removed = false;
        let mut max_age_seen = false;
        for attribute in parts {
            let (key, argument) = attribute.split_once('=').unwrap_or((attribute, ""));
            let key = key.trim();
            if key.eq_ignore_ascii_case("secure") {
                return false;
            } else if key.eq_ignore_ascii_case("max-age") {
                max_age_seen = true;
                removed = argument.trim().parse::<i64>().is_ok_and(|age| age <= 0);
            } else if key.eq_ignore_ascii_case("expires") && !max_age_seen {
                removed = expired(argument.trim());
            }
        }
        let existing = self.cookies.iter().position(|(held, _)| &**held == name);
        match (existing, removed) {
            (Some(index), true) => {
                self.cookies.remove(index);
                true
            }
            (None, true) => false,
            (Some(index), false) => {
                if &*self.cookies[index].1 == value {
                    return false;
                }
                self.cookies[index].1 = value.into();
                true
            }
            (None, false) => {
                if self.cookies.len() == PER_HOST {
                    self.cookies.remove(0);
                }
                self.cookies.push((name.into(), value.into()));
                true
            }
        }
    }

    fn rebuild_header(&mut self) {
        let mut text = String::new();
        for (name, value) in &self.cookies {
            if !text.is_empty() {
                text.push_str("; ");
            }
            text.push_str(name);
            text.push('=');
            text.push_str(value);
        }
        self.header = if text.is_empty() {
            None
        } else {
            HeaderValue::from_str(&text).ok()
        };
    }
}

/// Whether an `Expires` date (RFC 1123, as HTTP writes it) has passed. An unreadable date is
/// ignored, as browsers do.
fn expired(date: &str) -> bool {
    jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(date)
        .is_ok_and(|when| when <= jiff::Timestamp::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(set_cookies: &[&str]) -> Vec<Bytes> {
        set_cookies
            .iter()
            .map(|value| Bytes::copy_from_slice(value.as_bytes()))
            .collect()
    }

    fn header(jar: &CookieJar, host: u8) -> Option<String> {
        jar.header(host)
            .map(|value| value.to_str().expect("ascii").to_owned())
    }

    #[test]
    fn cookies_are_kept_per_host_and_sent_together() {
        let mut jar = CookieJar::new(2);
        jar.update(
            0,
            &answer(&[
                "a=1; Path=/; HttpOnly; SameSite=Lax",
                "b=two; Path=/; HttpOnly",
            ]),
        );
        jar.update(1, &answer(&["c=3; Path=/"]));
        assert_eq!(header(&jar, 0).as_deref(), Some("a=1; b=two"));
        assert_eq!(header(&jar, 1).as_deref(), Some("c=3"));
        assert_eq!(jar.get(0, "b"), Some("two"));
        assert_eq!(jar.get(1, "a"), None);
    }

    #[test]
    fn a_later_cookie_replaces_and_max_age_zero_removes() {
        let mut jar = CookieJar::new(1);
        jar.update(0, &answer(&["s=old; Path=/", "p=1; Path=/"]));
        jar.update(0, &answer(&["s=new; Path=/"]));
        assert_eq!(header(&jar, 0).as_deref(), Some("s=new; p=1"));
        jar.update(0, &answer(&["s=; Path=/; Max-Age=0; HttpOnly"]));
        assert_eq!(header(&jar, 0).as_deref(), Some("p=1"));
        jar.update(0, &answer(&["p=; Expires=Thu, 01 Jan 1970 00:00:00 GMT"]));
        assert_eq!(header(&jar, 0), None);
    }

    #[test]
    fn secure_and_nameless_cookies_are_not_kept_and_clear_empties_the_jar() {
        let mut jar = CookieJar::new(1);
        jar.update(0, &answer(&["s=1; Secure", "=x", "garbage", "k=v"]));
        assert_eq!(header(&jar, 0).as_deref(), Some("k=v"));
        jar.clear();
        assert_eq!(header(&jar, 0), None);
        assert_eq!(jar.get(0, "k"), None);
    }

    #[test]
    fn a_host_holds_a_bounded_number_of_cookies() {
        let mut jar = CookieJar::new(1);
        for n in 0..40 {
            jar.update(0, &answer(&[&format!("c{n}={n}")]));
        }
        assert_eq!(jar.get(0, "c0"), None, "the oldest went first");
        assert_eq!(jar.get(0, "c39"), Some("39"));
        assert_eq!(
            header(&jar, 0).map(|h| h.split("; ").count()),
            Some(PER_HOST)
        );
    }
}
