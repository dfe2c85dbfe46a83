//! A simulated browser's cookies, kept and sent as a browser keeps and sends them (RFC 6265bis):
//! by host name, not port; `Domain` and `Path` matched; `Secure` cookies set and sent only over
//! HTTPS, and the `__Secure-` and `__Host-` prefixes held to their rules; `SameSite` judged on
//! each request (a cookie without it is `Lax`, as Chromium treats it, and `SameSite=None`
//! without `Secure` is refused); expiry by `Max-Age` or `Expires`.
//!
//! The `Cookie` header for a site is built when the jar or the request's context changes, not
//! on every request: on the hot path (the same page of the same site again) it is a clone of
//! a shared header value.

use bytes::Bytes;
use http::HeaderValue;
use std::net::IpAddr;

/// Cookies one jar keeps; a browser keeps more, but a login sets a handful. The oldest go first.
const MAX_COOKIES: usize = 64;

/// A cookie's `SameSite` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    Strict,
    Lax,
    None,
}

/// What a request is, as far as cookies care.
#[derive(Debug, Clone, Copy)]
pub struct CookieRequest<'a> {
    /// The host the request goes to (lower-case, IPv6 without brackets).
    pub host: &'a str,
    /// Its path (the query, if any, is ignored).
    pub path: &'a [u8],
    pub https: bool,
    /// Whether the navigation is same-site: its initiator and every URL of its redirect chain
    /// are of the target's site.
    pub same_site: bool,
    /// A GET (a safe method): `Lax` cookies go along on a cross-site top-level navigation only
    /// then. Every request of a simulated browser is a top-level navigation.
    pub safe_method: bool,
}

/// A browser's cookies, with a `Cookie` header cached per site.
#[derive(Debug, Clone)]
pub struct CookieJar {
    cookies: Vec<Cookie>,
    /// Bumped on every change: a cached header of another generation is stale.
    generation: u64,
    /// Creation order, for sending cookies of equal paths oldest first.
    created: u64,
    /// The earliest expiry of any cookie (Unix ms): the cache holds until then.
    next_expiry: Option<i64>,
    /// Cached headers per site (by the site's index in the run), one per navigation context
    /// (same-site or not, GET or not): a login's hops alternate between them, and one slot per
    /// site would be rebuilt at each turn.
    cache: Vec<[Cached; 4]>,
}

#[derive(Debug, Clone)]
struct Cookie {
    name: Box<str>,
    value: Box<str>,
    /// The host (host-only) or the domain it was set for, lower-case, no leading dot.
    domain: Box<str>,
    host_only: bool,
    path: Box<str>,
    secure: bool,
    same_site: SameSite,
    /// Set without a `SameSite` attribute: `Lax`, but for its first two minutes Chromium also
    /// sends it on a cross-site top-level POST ("Lax-allowing-unsafe").
    lax_by_default: bool,
    /// When it was set (Unix milliseconds).
    set_at: i64,
    /// Unix milliseconds; `None` for a session cookie.
    expires: Option<i64>,
    created: u64,
}

/// How long a cookie without `SameSite` still goes along on a cross-site top-level POST.
const LAX_ALLOWING_UNSAFE_MS: i64 = 120_000;

/// What one `Set-Cookie` did to the jar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    /// Nothing: ignored, or a deletion of a cookie the jar did not hold.
    None,
    /// The same cookie again, with only its expiry moved: no header changes.
    Expiry,
    /// Cookies were added, replaced or removed.
    Cookies,
}

#[derive(Debug, Clone, Default)]
struct Cached {
    generation: u64,
    /// `https`, `same_site` and `safe_method` of the request it was built for.
    context: u8,
    /// The header depends on the path (some cookie of the host has a path other than `/`):
    /// it is built on every request.
    by_path: bool,
    valid: bool,
    header: Option<HeaderValue>,
}

impl CookieJar {
    /// An empty jar for a run of `sites` sites.
    pub fn new(sites: usize) -> Self {
        CookieJar {
            cookies: Vec::new(),
            generation: 0,
            created: 0,
            next_expiry: None,
            cache: vec![Default::default(); sites],
        }
    }

    /// Forgets every cookie, as a fresh browser would.
    pub fn clear(&mut self) {
        self.cookies.clear();
        self.next_expiry = None;
        self.generation += 1;
    }

    /// How many cookies the jar holds (expired or not).
    pub fn len(&self) -> usize {
        self.cookies.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cookies.is_empty()
    }

    /// The `Cookie` header a request to `site` (by index) carries, if any cookie goes along.
    pub fn header(&mut self, site: usize, request: &CookieRequest<'_>) -> Option<HeaderValue> {
        let context = u8::from(request.https)
            | (u8::from(request.same_site) << 1)
            | (u8::from(request.safe_method) << 2);
        let now = self.next_expiry.map(|_| now_millis());
        if self
            .next_expiry
            .zip(now)
            .is_some_and(|(expiry, now)| expiry <= now)
        {
            self.drop_expired(now.unwrap_or_default());
        }
        // A cross-site POST carries cookies by their age (Lax-allowing-unsafe): never cached.
        if !request.same_site && !request.safe_method {
            return self.build(request).0;
        }
        let slot = usize::from(request.same_site) | (usize::from(request.safe_method) << 1);
        if let Some(cached) = self.cache.get(site).map(|contexts| &contexts[slot])
            && cached.valid
            && !cached.by_path
            && cached.generation == self.generation
            && cached.context == context
        {
            return cached.header.clone();
        }
        let (header, by_path) = self.build(request);
        if let Some(cached) = self.cache.get_mut(site).map(|contexts| &mut contexts[slot]) {
            *cached = Cached {
                generation: self.generation,
                context,
                by_path,
                valid: true,
                header: header.clone(),
            };
        }
        header
    }

    /// The value of cookie `name` that a same-site request to `host`'s root would carry.
    pub fn get(&self, host: &str, https: bool, name: &str) -> Option<&str> {
        let now = self.next_expiry.map(|_| now_millis());
        self.cookies
            .iter()
            .find(|cookie| {
                &*cookie.name == name
                    && cookie.domain_matches(host)
                    && (!cookie.secure || https)
                    && !cookie.expired(now)
            })
            .map(|cookie| &*cookie.value)
    }

    /// Takes the `Set-Cookie` values of an answer to `request`. The same cookie set again (an
    /// app that sends its session cookie with every answer) moves its expiry and leaves the
    /// cached headers as they are.
    pub fn update(&mut self, request: &CookieRequest<'_>, set_cookies: &[Bytes]) {
        let mut changed = Change::None;
        for value in set_cookies {
            if let Ok(text) = std::str::from_utf8(value) {
                changed = match (changed, self.apply(request, text)) {
                    (Change::Cookies, _) | (_, Change::Cookies) => Change::Cookies,
                    (Change::Expiry, _) | (_, Change::Expiry) => Change::Expiry,
                    _ => Change::None,
                };
            }
        }
        if changed == Change::Cookies {
            self.generation += 1;
        }
        if changed != Change::None {
            self.next_expiry = self
                .cookies
                .iter()
                .filter_map(|cookie| cookie.expires)
                .min();
        }
    }

    /// Builds the header for `request`, and whether it depends on the path.
    fn build(&self, request: &CookieRequest<'_>) -> (Option<HeaderValue>, bool) {
        let path = path_only(request.path);
        let cross_site_post = !request.same_site && !request.safe_method;
        let now = if cross_site_post { now_millis() } else { 0 };
        let mut by_path = false;
        let mut matching: Vec<&Cookie> = self
            .cookies
            .iter()
            .filter(|cookie| cookie.domain_matches(request.host))
            .inspect(|cookie| by_path |= &*cookie.path != "/")
            .filter(|cookie| {
                path_matches(&cookie.path, path)
                    && (!cookie.secure || request.https)
                    && match cookie.same_site {
                        SameSite::Strict => request.same_site,
                        SameSite::Lax => {
                            request.same_site
                                || request.safe_method
                                || (cookie.lax_by_default
                                    && now - cookie.set_at < LAX_ALLOWING_UNSAFE_MS)
                        }
                        SameSite::None => true,
                    }
            })
            .collect();
        if matching.is_empty() {
            return (None, by_path);
        }
        // Longer paths first, then the older first (RFC 6265bis §5.8.3).
        matching.sort_by(|a, b| {
            b.path
                .len()
                .cmp(&a.path.len())
                .then(a.created.cmp(&b.created))
        });
        let mut text = String::new();
        for cookie in matching {
            if !text.is_empty() {
                text.push_str("; ");
            }
            text.push_str(&cookie.name);
            text.push('=');
            text.push_str(&cookie.value);
        }
        // Values may hold bytes beyond ASCII (obs-text); control characters never get in.
        (HeaderValue::from_bytes(text.as_bytes()).ok(), by_path)
    }

    fn drop_expired(&mut self, now: i64) {
        self.cookies.retain(|cookie| !cookie.expired(Some(now)));
        self.next_expiry = self
            .cookies
            .iter()
            .filter_map(|cookie| cookie.expires)
            .min();
        self.generation += 1;
    }

    /// Applies one `Set-Cookie` (RFC 6265bis §5.7).
    fn apply(&mut self, request: &CookieRequest<'_>, set_cookie: &str) -> Change {
        let Some(cookie) = parse(request, set_cookie, self.created) else {
            return Change::None;
        };
        self.created += 1;
        let existing = self.cookies.iter().position(|held| {
            held.name == cookie.name
                && held.domain == cookie.domain
                && held.host_only == cookie.host_only
                && held.path == cookie.path
        });
        let removed = cookie
            .expires
            .is_some_and(|expires| expires <= now_millis());
        match (existing, removed) {
            (Some(index), true) => {
                self.cookies.remove(index);
                Change::Cookies
            }
            (None, true) => Change::None,
            (Some(index), false) => {
                let held = &mut self.cookies[index];
                let same = held.value == cookie.value
                    && held.secure == cookie.secure
                    && held.same_site == cookie.same_site
                    && held.lax_by_default == cookie.lax_by_default;
                let created = held.created;
                // A cookie set again keeps its place in the order (and, unchanged, its age).
                let set_at = if same { held.set_at } else { cookie.set_at };
                *held = Cookie {
                    created,
                    set_at,
                    ..cookie
                };
                if same {
                    Change::Expiry
                } else {
                    Change::Cookies
                }
            }
            (None, false) => {
                if self.cookies.len() == MAX_COOKIES {
                    self.cookies.remove(0);
                }
                self.cookies.push(cookie);
                Change::Cookies
            }
        }
    }
}

impl Cookie {
    /// RFC 6265bis §5.1.3, and a host-only cookie only for its own host.
    fn domain_matches(&self, host: &str) -> bool {
        if self.host_only {
            return *self.domain == *host;
        }
        host == &*self.domain
            || (host.len() > self.domain.len()
                && host.ends_with(&*self.domain)
                && host.as_bytes()[host.len() - self.domain.len() - 1] == b'.'
                && host.parse::<IpAddr>().is_err())
    }

    fn expired(&self, now: Option<i64>) -> bool {
        matches!((self.expires, now), (Some(expires), Some(now)) if expires <= now)
    }
}

/// Parses one `Set-Cookie` sent in answer to `request`; `None` when a browser would ignore it.
fn parse(request: &CookieRequest<'_>, set_cookie: &str, created: u64) -> Option<Cookie> {
    let mut parts = set_cookie.split(';');
    let (name, value) = parts.next()?.split_once('=')?;
    let (name, value) = (name.trim(), value.trim());
    // Control characters (a tab aside) make a browser ignore the cookie (RFC 6265bis §5.7).
    let control = |text: &str| text.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f);
    if name.is_empty() || name.len() + value.len() > 4096 || control(name) || control(value) {
        return None;
    }
    let mut domain: Option<String> = None;
    let mut path: Option<String> = None;
    let mut secure = false;
    let mut same_site = None;
    let mut max_age: Option<i64> = None;
    let mut expires: Option<i64> = None;
    for attribute in parts {
        let (key, argument) = attribute.split_once('=').unwrap_or((attribute, ""));
        let (key, argument) = (key.trim(), argument.trim());
        if key.eq_ignore_ascii_case("secure") {
            secure = true;
        } else if key.eq_ignore_ascii_case("max-age") {
            // A malformed Max-Age is ignored; a later one wins.
            if let Ok(seconds) = argument.parse::<i64>() {
                max_age = Some(seconds);
            }
        } else if key.eq_ignore_ascii_case("expires") {
            if let Some(when) = cookie_date(argument) {
                expires = Some(when);
            }
        } else if key.eq_ignore_ascii_case("domain") {
            let text = argument.trim_start_matches('.').to_ascii_lowercase();
            domain = (!text.is_empty()).then_some(text);
        } else if key.eq_ignore_ascii_case("path") {
            path = argument.starts_with('/').then(|| argument.to_owned());
        } else if key.eq_ignore_ascii_case("samesite") {
            same_site = if argument.eq_ignore_ascii_case("strict") {
                Some(SameSite::Strict)
            } else if argument.eq_ignore_ascii_case("lax") {
                Some(SameSite::Lax)
            } else if argument.eq_ignore_ascii_case("none") {
                Some(SameSite::None)
            } else {
                None
            };
        }
    }
    // A Secure cookie can be set only over HTTPS.
    if secure && !request.https {
        return None;
    }
    let lax_by_default = same_site.is_none();
    let same_site = same_site.unwrap_or(SameSite::Lax);
    if same_site == SameSite::None && !secure {
        return None;
    }
    let (domain, host_only) = match domain {
        None => (request.host.to_owned(), true),
        Some(domain) if domain == request.host => (domain, false),
        Some(domain) => {
            // Not for an IP address, not for a public suffix, and only for a parent of the
            // request's host.
            let parent = request.host.ends_with(&format!(".{domain}"));
            let public = psl::suffix_str(&domain).is_some_and(|suffix| suffix == domain);
            if request.host.parse::<IpAddr>().is_ok() || public || !parent {
                return None;
            }
            (domain, false)
        }
    };
    let path = path.unwrap_or_else(|| default_path(path_only(request.path)));
    if name.starts_with("__Secure-") && !secure {
        return None;
    }
    if name.starts_with("__Host-") && !(secure && host_only && path == "/") {
        return None;
    }
    let expires = match max_age {
        Some(seconds) => Some(now_millis().saturating_add(seconds.saturating_mul(1000))),
        None => expires,
    };
    Some(Cookie {
        name: name.into(),
        value: value.into(),
        domain: domain.into(),
        host_only,
        path: path.into(),
        secure,
        same_site,
        lax_by_default,
        // Only a cookie without SameSite is judged by its age.
        set_at: if lax_by_default { now_millis() } else { 0 },
        expires,
        created,
    })
}

/// A cookie's `Expires` date, read as browsers read it (RFC 6265 §5.1.1: tokens between
/// delimiters, the first time `hh:mm:ss`, day of month, month name and year found in any
/// order, two-digit years in 1970–2069), in Unix milliseconds; `None` for what is no date.
fn cookie_date(text: &str) -> Option<i64> {
    let delimiter =
        |c: char| matches!(c, '\t' | ' '..='/' | ';'..='@' | '['..='`' | '{'..='~') && c != ':';
    let (mut time, mut day, mut month, mut year) = (None, None, None, None);
    for token in text.split(delimiter).filter(|token| !token.is_empty()) {
        let digits = |part: &str| {
            let count = part.bytes().take_while(u8::is_ascii_digit).count();
            (1..=2)
                .contains(&count)
                .then(|| part[..count].parse::<u8>().ok())
                .flatten()
        };
        if time.is_none() {
            let mut parts = token.splitn(3, ':');
            if let (Some(h), Some(m), Some(s)) = (parts.next(), parts.next(), parts.next())
                && let (Some(h), Some(m), Some(s)) = (digits(h), digits(m), digits(s))
            {
                time = Some((h, m, s));
                continue;
            }
        }
        let leading = token.bytes().take_while(u8::is_ascii_digit).count();
        if day.is_none() && (1..=2).contains(&leading) {
            day = token[..leading].parse::<u8>().ok();
            continue;
        }
        if month.is_none() && token.len() >= 3 {
            let name = token[..3].to_ascii_lowercase();
            let months = [
                "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
            ];
            if let Some(index) = months.iter().position(|known| *known == name) {
                month = Some(index as i8 + 1);
                continue;
            }
        }
        if year.is_none() && (2..=4).contains(&leading) {
            year = token[..leading].parse::<i16>().ok();
        }
    }
    let (hour, minute, second) = time?;
    let year = match year? {
        70..=99 => year? + 1900,
        0..=69 => year? + 2000,
        other => other,
    };
    if year < 1601 || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let date = jiff::civil::Date::new(year, month?, i8::try_from(day?).ok()?).ok()?;
    let when = date
        .at(
            i8::try_from(hour).ok()?,
            i8::try_from(minute).ok()?,
            i8::try_from(second).ok()?,
            0,
        )
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()?;
    Some(when.timestamp().as_millisecond())
}

/// A request target's path without its query.
fn path_only(target: &[u8]) -> &str {
    let end = memchr::memchr2(b'?', b'#', target).unwrap_or(target.len());
    std::str::from_utf8(&target[..end]).unwrap_or("/")
}

/// RFC 6265bis §5.1.4's default-path: the request path up to its last `/`, or `/`.
fn default_path(path: &str) -> String {
    match path.rfind('/') {
        Some(0) | None => "/".to_owned(),
        Some(last) => path[..last].to_owned(),
    }
}

/// RFC 6265bis §5.1.4's path-match.
fn path_matches(cookie_path: &str, request_path: &str) -> bool {
    request_path == cookie_path
        || (request_path.starts_with(cookie_path)
            && (cookie_path.ends_with('/')
                || request_path.as_bytes().get(cookie_path.len()) == Some(&b'/')))
}

fn now_millis() -> i64 {
    jiff::Timestamp::now().as_millisecond()
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

    /// A same-site GET of `path` at `host`.
    fn at<'a>(host: &'a str, path: &'a str) -> CookieRequest<'a> {
        CookieRequest {
            host,
            path: path.as_bytes(),
            https: false,
            same_site: true,
            safe_method: true,
        }
    }

    /// The header for `request`, from a cache slot of its host's own (a run has one per site).
    fn header(jar: &mut CookieJar, request: &CookieRequest<'_>) -> Option<String> {
        let slot = ["store.example.com", "example.org", "127.0.0.2"]
            .iter()
            .position(|host| *host == request.host)
            .map_or(0, |index| index + 1);
        if jar.cache.len() <= slot {
            jar.cache.resize(slot + 1, Default::default());
        }
        jar.header(slot, request)
            .map(|value| value.to_str().expect("ascii").to_owned())
    }

    #[test]
    fn cookies_are_kept_per_host_not_port_and_sent_together() {
        let mut jar = CookieJar::new(2);
        jar.update(
            &at("127.0.0.1", "/"),
            &answer(&[
                "a=1; Path=/; HttpOnly; SameSite=Lax",
                "b=two; Path=/; HttpOnly",
            ]),
        );
        jar.update(&at("127.0.0.2", "/"), &answer(&["c=3; Path=/"]));
        assert_eq!(
            header(&mut jar, &at("127.0.0.1", "/x")).as_deref(),
            Some("a=1; b=two")
        );
        assert_eq!(
            jar.header(1, &at("127.0.0.2", "/"))
                .as_ref()
                .map(|h| h.to_str().expect("ascii")),
            Some("c=3")
        );
        assert_eq!(jar.get("127.0.0.1", false, "b"), Some("two"));
        assert_eq!(jar.get("127.0.0.2", false, "a"), None);
    }

    #[test]
    fn a_later_cookie_replaces_and_max_age_zero_or_a_past_date_removes() {
        let mut jar = CookieJar::new(1);
        let request = at("idp.example.com", "/");
        jar.update(&request, &answer(&["s=old; Path=/", "p=1; Path=/"]));
        jar.update(&request, &answer(&["s=new; Path=/"]));
        assert_eq!(header(&mut jar, &request).as_deref(), Some("s=new; p=1"));
        jar.update(&request, &answer(&["s=; Path=/; Max-Age=0; HttpOnly"]));
        assert_eq!(header(&mut jar, &request).as_deref(), Some("p=1"));
        jar.update(
            &request,
            &answer(&["p=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT"]),
        );
        assert_eq!(header(&mut jar, &request), None);
        jar.update(&request, &answer(&["t=1; Max-Age=3600"]));
        assert_eq!(header(&mut jar, &request).as_deref(), Some("t=1"));
    }

    #[test]
    fn paths_match_as_browsers_match_them_longest_first() {
        let mut jar = CookieJar::new(1);
        // oidc-provider scopes its interaction cookies to the interaction's path.
        jar.update(
            &at("op.test", "/auth"),
            &answer(&[
                "_session=s; Path=/; HttpOnly",
                "_interaction=i; Path=/interaction/abc; HttpOnly",
                "_resume=r; Path=/auth/abc",
            ]),
        );
        assert_eq!(
            header(&mut jar, &at("op.test", "/interaction/abc")).as_deref(),
            Some("_interaction=i; _session=s")
        );
        assert_eq!(
            header(&mut jar, &at("op.test", "/interaction/abc/login?x=1")).as_deref(),
            Some("_interaction=i; _session=s")
        );
        assert_eq!(
            header(&mut jar, &at("op.test", "/interaction/abcd")).as_deref(),
            Some("_session=s"),
            "a path is matched by whole segments"
        );
        assert_eq!(
            header(&mut jar, &at("op.test", "/auth/abc")).as_deref(),
            Some("_resume=r; _session=s")
        );
        // Without a Path, a cookie takes its request's directory.
        jar.update(&at("op.test", "/a/b/page?q"), &answer(&["d=1"]));
        assert_eq!(
            header(&mut jar, &at("op.test", "/a/b/other")).as_deref(),
            Some("d=1; _session=s")
        );
        assert_eq!(
            header(&mut jar, &at("op.test", "/a/x")).as_deref(),
            Some("_session=s")
        );
    }

    #[test]
    fn domain_cookies_reach_subdomains_and_bad_domains_are_refused() {
        let mut jar = CookieJar::new(1);
        jar.update(
            &at("login.example.com", "/"),
            &answer(&[
                "shared=1; Domain=.Example.com; Path=/",
                "own=2; Path=/",
                "foreign=3; Domain=other.com",
                "suffix=4; Domain=com",
            ]),
        );
        assert_eq!(
            header(&mut jar, &at("login.example.com", "/")).as_deref(),
            Some("shared=1; own=2")
        );
        assert_eq!(
            header(&mut jar, &at("store.example.com", "/")).as_deref(),
            Some("shared=1")
        );
        assert_eq!(header(&mut jar, &at("example.org", "/")), None);
        // An IP host takes no Domain but its own.
        jar.update(&at("127.0.0.2", "/"), &answer(&["ip=1; Domain=0.0.2"]));
        assert_eq!(jar.get("127.0.0.2", false, "ip"), None);
    }

    #[test]
    fn secure_cookies_need_https_both_ways_and_prefixes_hold_their_rules() {
        let mut jar = CookieJar::new(1);
        let plain = at("idp.test", "/");
        let tls = CookieRequest {
            https: true,
            ..plain
        };
        jar.update(&plain, &answer(&["s=1; Secure", "k=v"]));
        assert_eq!(
            header(&mut jar, &plain).as_deref(),
            Some("k=v"),
            "set over http"
        );
        jar.update(
            &tls,
            &answer(&[
                "s=1; Secure; Path=/",
                "__Host-a=1; Secure; Path=/",
                "__Host-b=1; Secure; Path=/x",
                "__Secure-c=1",
            ]),
        );
        assert_eq!(
            header(&mut jar, &tls).as_deref(),
            Some("k=v; s=1; __Host-a=1")
        );
        assert_eq!(
            header(&mut jar, &plain).as_deref(),
            Some("k=v"),
            "a Secure cookie never goes over http"
        );
    }

    #[test]
    fn same_site_rules_follow_the_navigation() {
        let mut jar = CookieJar::new(1);
        let tls = CookieRequest {
            https: true,
            ..at("idp.test", "/")
        };
        jar.update(
            &tls,
            &answer(&[
                "strict=1; SameSite=Strict; Secure",
                "lax=1; SameSite=Lax; Secure",
                "unset=1; Secure",
                "none=1; SameSite=None; Secure",
                "insecure_none=1; SameSite=None",
            ]),
        );
        assert_eq!(
            header(&mut jar, &tls).as_deref(),
            Some("strict=1; lax=1; unset=1; none=1")
        );
        let cross_get = CookieRequest {
            same_site: false,
            ..tls
        };
        assert_eq!(
            header(&mut jar, &cross_get).as_deref(),
            Some("lax=1; unset=1; none=1"),
            "a cross-site navigation carries no Strict cookie"
        );
        let cross_post = CookieRequest {
            safe_method: false,
            ..cross_get
        };
        assert_eq!(
            header(&mut jar, &cross_post).as_deref(),
            Some("unset=1; none=1"),
            "a cross-site POST (a form_post page) carries None cookies, and Lax ones only \
             while they are new and were set without SameSite"
        );
    }

    #[test]
    fn the_cached_header_follows_every_change_and_clear_empties_the_jar() {
        let mut jar = CookieJar::new(1);
        let request = at("127.0.0.2", "/shopping-cart");
        jar.update(&request, &answer(&["s=1; Path=/"]));
        let first = jar.header(0, &request).expect("cookie");
        let again = jar.header(0, &request).expect("cookie");
        assert_eq!(first, again);
        jar.update(&request, &answer(&["s=2; Path=/"]));
        assert_eq!(header(&mut jar, &request).as_deref(), Some("s=2"));
        jar.clear();
        assert_eq!(header(&mut jar, &request), None);
        assert!(jar.is_empty());
    }

    #[test]
    fn dates_are_read_in_every_form_browsers_take() {
        let epoch = Some(0);
        for date in [
            "Thu, 01 Jan 1970 00:00:00 GMT",
            "Thu, 01-Jan-1970 00:00:00 GMT",
            "Thursday, 01-Jan-70 00:00:00 GMT",
            "Thu Jan  1 00:00:00 1970",
        ] {
            assert_eq!(cookie_date(date), epoch, "{date}");
        }
        assert_eq!(
            cookie_date("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(1_445_412_480_000)
        );
        for date in [
            "soon",
            "Thu, 32 Jan 1970 00:00:00 GMT",
            "01 Jan 1970",
            "25:00:00 1 Jan 2020",
        ] {
            assert_eq!(cookie_date(date), None, "{date}");
        }
        // An Expires-only deletion in the dashed form removes the cookie.
        let mut jar = CookieJar::new(1);
        let request = at("app.test", "/");
        jar.update(&request, &answer(&["s=1; Path=/"]));
        jar.update(
            &request,
            &answer(&["s=; Path=/; Expires=Thu, 01-Jan-1970 00:00:00 GMT"]),
        );
        assert!(jar.is_empty());
    }

    #[test]
    fn the_cache_follows_expiry_and_a_cookie_set_again_keeps_it() {
        let mut jar = CookieJar::new(1);
        let request = at("app.test", "/");
        jar.update(
            &request,
            &answer(&["s=1; Path=/; Max-Age=3600", "t=2; Path=/"]),
        );
        let first = jar.header(0, &request).expect("cookies");
        let generation = jar.generation;
        // The same cookie again with a later expiry: the cached header stays.
        jar.update(&request, &answer(&["s=1; Path=/; Max-Age=7200"]));
        assert_eq!(jar.generation, generation);
        assert_eq!(jar.header(0, &request), Some(first));
        // A cookie whose time has come leaves the header at the next request.
        jar.cookies[0].expires = Some(now_millis() - 1);
        jar.next_expiry = Some(now_millis() - 1);
        assert_eq!(header(&mut jar, &request).as_deref(), Some("t=2"));
    }

    #[test]
    fn control_characters_are_refused_and_other_bytes_kept() {
        let mut jar = CookieJar::new(1);
        let request = at("app.test", "/");
        jar.update(&request, &answer(&["bad=a\x01b", "ok=caf\u{e9}"]));
        assert_eq!(jar.len(), 1);
        let header = jar.header(0, &request).expect("a header");
        assert_eq!(header.as_bytes(), "ok=caf\u{e9}".as_bytes());
    }

    #[test]
    fn a_fresh_cookie_without_same_site_goes_along_a_cross_site_post() {
        let mut jar = CookieJar::new(1);
        let request = at("app.test", "/");
        jar.update(
            &request,
            &answer(&["young=1", "strict_lax=1; SameSite=Lax"]),
        );
        let cross_post = CookieRequest {
            same_site: false,
            safe_method: false,
            ..request
        };
        assert_eq!(header(&mut jar, &cross_post).as_deref(), Some("young=1"));
        jar.cookies[0].set_at -= LAX_ALLOWING_UNSAFE_MS;
        assert_eq!(
            header(&mut jar, &cross_post),
            None,
            "two minutes on, it stays home"
        );
    }

    #[test]
    fn a_jar_holds_a_bounded_number_of_cookies() {
        let mut jar = CookieJar::new(1);
        let request = at("127.0.0.1", "/");
        for n in 0..100 {
            jar.update(&request, &answer(&[&format!("c{n}={n}")]));
        }
        assert_eq!(
            jar.get("127.0.0.1", false, "c0"),
            None,
            "the oldest went first"
        );
        assert_eq!(jar.get("127.0.0.1", false, "c99"), Some("99"));
        assert_eq!(jar.len(), MAX_COOKIES);
        jar.update(&request, &answer(&["=x", "garbage"]));
        assert_eq!(jar.len(), MAX_COOKIES);
    }
}
