//! HTTP/1.1 on the wire, apart from any connection: a request written as bytes (`encode`), an
//! answer's head parsed with `httparse` into its status, framing and the headers the users
//! read (`parse_head`), `Retry-After` values, and chunked bodies taken apart (`dechunk`).
//! `client` moves these bytes over its connections.

use super::origin::Origin;
use bytes::{Buf as _, Bytes, BytesMut};
use http::HeaderValue;
use std::io::Write as _;
use std::time::Duration;

/// A request's method: the scenarios GET pages and POST forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// What to send: cheap to clone (shared bytes), so a request can be sent again.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub method: Method,
    /// Origin-form: `/path?query`.
    pub path: Bytes,
    pub cookie: Option<HeaderValue>,
    /// A urlencoded form (POST's body).
    pub form: Option<Bytes>,
    /// The `Origin` a browser names on a form post: the origin of the page the form was on.
    pub page_origin: Option<PageOrigin>,
}

impl Outgoing {
    /// A plain GET of `path`, no cookie: how the runner asks a service something outside the
    /// load (its counts, its gauges, a discovery document).
    pub fn get(path: &'static str) -> Outgoing {
        Outgoing {
            method: Method::Get,
            path: Bytes::from_static(path.as_bytes()),
            cookie: None,
            form: None,
            page_origin: None,
        }
    }
}

/// The origin of the page a form was posted from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageOrigin {
    /// A page of the site the form posts to: its origin is the one the request goes to (a
    /// site's instances sit behind one name, whichever of them served the page).
    Target,
    /// A page of another site.
    Other(HeaderValue),
}

/// The longest `Retry-After` a user honours: a server asking for more is waited on this long.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Headers an answer may carry; an answer with more is malformed (`HttpError::Protocol`).
const MAX_HEADERS: usize = 64;
/// An answer's head may not exceed this.
pub(super) const MAX_HEAD: usize = 64 * 1024;
/// An answer's body may not exceed this (login pages of real providers are tens of kilobytes).
pub(super) const MAX_BODY: usize = 16 * 1024 * 1024;
/// Writes the request: request line, `Host`, `User-Agent`, the cookies, and a form with the
/// `Origin` of the page it was posted from.
pub(super) fn encode(output: &mut Vec<u8>, origin: &Origin, outgoing: &Outgoing) {
    output.clear();
    output.extend_from_slice(match outgoing.method {
        Method::Get => b"GET ",
        Method::Post => b"POST ",
    });
    output.extend_from_slice(&outgoing.path);
    output.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    output.extend_from_slice(origin.authority.as_bytes());
    output.extend_from_slice(b"\r\nUser-Agent: ssobench\r\n");
    if let Some(cookie) = &outgoing.cookie {
        output.extend_from_slice(b"Cookie: ");
        output.extend_from_slice(cookie.as_bytes());
        output.extend_from_slice(b"\r\n");
    }
    if let Some(form) = &outgoing.form {
        match &outgoing.page_origin {
            Some(PageOrigin::Target) => {
                output.extend_from_slice(b"Origin: ");
                output.extend_from_slice(origin.base.as_bytes());
                output.extend_from_slice(b"\r\n");
            }
            Some(PageOrigin::Other(page_origin)) => {
                output.extend_from_slice(b"Origin: ");
                output.extend_from_slice(page_origin.as_bytes());
                output.extend_from_slice(b"\r\n");
            }
            None => {}
        }
        output.extend_from_slice(
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ",
        );
        // Writing into a Vec cannot fail.
        let _ = write!(output, "{}\r\n\r\n", form.len());
        output.extend_from_slice(form);
    } else {
        output.extend_from_slice(b"\r\n");
    }
}

/// How an answer's body is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    Empty,
    Length(usize),
    Chunked,
    UntilClose,
}

/// A parsed head, its header values as positions in the head's bytes.
#[derive(Debug)]
pub(super) struct ParsedHead {
    pub(super) status: u16,
    pub(super) framing: Framing,
    pub(super) keep_alive: bool,
    pub(super) location: Option<(usize, usize)>,
    pub(super) set_cookies: Vec<(usize, usize)>,
    pub(super) retry_after: Option<Duration>,
}

/// A parsed head with its header values as shared bytes.
#[derive(Debug)]
pub(super) struct Head {
    pub(super) status: u16,
    pub(super) framing: Framing,
    pub(super) keep_alive: bool,
    pub(super) location: Option<Bytes>,
    pub(super) set_cookies: Vec<Bytes>,
    pub(super) retry_after: Option<Duration>,
}

impl ParsedHead {
    pub(super) fn resolve(self, head: &Bytes) -> Head {
        let slice = |(start, end): (usize, usize)| head.slice(start..end);
        Head {
            status: self.status,
            framing: self.framing,
            keep_alive: self.keep_alive,
            location: self.location.map(slice),
            set_cookies: self.set_cookies.into_iter().map(slice).collect(),
            retry_after: self.retry_after,
        }
    }
}

/// Parses an answer's head: `Ok(None)` until it is complete, `Err` when it is malformed.
pub(super) fn parse_head(input: &[u8]) -> Result<Option<(usize, ParsedHead)>, ()> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let length = match response.parse(input) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(()),
    };
    let status = response.code.ok_or(())?;
    let base = input.as_ptr() as usize;
    let position = |value: &[u8]| {
        let start = value.as_ptr() as usize - base;
        (start, start + value.len())
    };
    // HTTP/1.1 keeps the connection unless told otherwise; HTTP/1.0 closes it.
    let mut keep_alive = response.version == Some(1);
    let mut content_length = None;
    let mut chunked = false;
    let mut location = None;
    let mut set_cookies = Vec::new();
    let mut retry_after = None;
    for header in response.headers.iter() {
        let name = header.name;
        if name.eq_ignore_ascii_case("content-length") {
            let parsed: usize = std::str::from_utf8(header.value)
                .ok()
                .and_then(|text| text.trim().parse().ok())
                .ok_or(())?;
            if content_length.is_some_and(|earlier| earlier != parsed) {
                return Err(());
            }
            content_length = Some(parsed);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = header
                .value
                .rsplit(|&b| b == b',')
                .next()
                .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if name.eq_ignore_ascii_case("connection") {
            for option in header.value.split(|&b| b == b',') {
                let option = option.trim_ascii();
                if option.eq_ignore_ascii_case(b"close") {
                    keep_alive = false;
                } else if option.eq_ignore_ascii_case(b"keep-alive") {
                    keep_alive = true;
                }
            }
        } else if name.eq_ignore_ascii_case("location") {
            location = Some(position(header.value));
        } else if name.eq_ignore_ascii_case("set-cookie") {
            set_cookies.push(position(header.value));
        } else if name.eq_ignore_ascii_case("retry-after") {
            retry_after = std::str::from_utf8(header.value)
                .ok()
                .and_then(|text| retry_after_value(text.trim()))
                .map(|wait| wait.min(MAX_RETRY_AFTER));
        }
    }
    let framing = if (100..200).contains(&status) || status == 204 || status == 304 {
        Framing::Empty
    } else if chunked {
        Framing::Chunked
    } else if let Some(length) = content_length {
        if length == 0 {
            Framing::Empty
        } else {
            Framing::Length(length)
        }
    } else {
        Framing::UntilClose
    };
    Ok(Some((
        length,
        ParsedHead {
            status,
            framing,
            keep_alive,
            location,
            set_cookies,
            retry_after,
        },
    )))
}

/// A `Retry-After` value (RFC 9110 §10.2.3): seconds, or an HTTP date (a date already past is
/// no wait).
pub(super) fn retry_after_value(text: &str) -> Option<Duration> {
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(text)
        .ok()?;
    let wait = when.duration_since(jiff::Timestamp::now());
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

/// Moves complete chunks from `input` to `body`; `Ok(true)` once the last chunk and the
/// trailers are consumed. A chunk that would take the body past [`MAX_BODY`], a size line or
/// trailers longer than [`MAX_HEAD`], or a size that is not hexadecimal is an error, found
/// before anything of it is buffered.
pub(super) fn dechunk(input: &mut BytesMut, body: &mut BytesMut) -> Result<bool, ()> {
    loop {
        let Some(line_end) = input.windows(2).position(|pair| pair == b"\r\n") else {
            return if input.len() > MAX_HEAD {
                Err(())
            } else {
                Ok(false)
            };
        };
        let size_text = &input[..line_end];
        let size_text = size_text
            .split(|&b| b == b';')
            .next()
            .unwrap_or_default()
            .trim_ascii();
        let size = usize::from_str_radix(std::str::from_utf8(size_text).map_err(|_| ())?, 16)
            .map_err(|_| ())?;
        if size == 0 {
            // Trailers end with an empty line.
            let rest = &input[line_end + 2..];
            if rest.starts_with(b"\r\n") {
                input.advance(line_end + 4);
                return Ok(true);
            }
            let Some(end) = rest.windows(4).position(|w| w == b"\r\n\r\n") else {
                return if rest.len() > MAX_HEAD {
                    Err(())
                } else {
                    Ok(false)
                };
            };
            input.advance(line_end + 2 + end + 4);
            return Ok(true);
        }
        if size > MAX_BODY.saturating_sub(body.len()) {
            return Err(());
        }
        let needed = line_end + 2 + size + 2;
        if input.len() < needed {
            return Ok(false);
        }
        if &input[needed - 2..needed] != b"\r\n" {
            return Err(());
        }
        body.extend_from_slice(&input[line_end + 2..line_end + 2 + size]);
        input.advance(needed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_written_as_http_1_1_with_host_cookie_and_form() {
        let origin = Origin::parse("http://127.0.0.2:9011").expect("origin");
        let mut output = Vec::new();
        encode(
            &mut output,
            &origin,
            &Outgoing {
                method: Method::Post,
                path: Bytes::from_static(b"/shopping-cart/items"),
                cookie: Some(HeaderValue::from_static("s=abc")),
                form: Some(Bytes::from_static(b"sku=a&quantity=1")),
                page_origin: Some(PageOrigin::Target),
            },
        );
        assert_eq!(
            String::from_utf8(output).expect("ascii"),
            "POST /shopping-cart/items HTTP/1.1\r\nHost: 127.0.0.2:9011\r\nUser-Agent: ssobench\r\n\
             Cookie: s=abc\r\nOrigin: http://127.0.0.2:9011\r\n\
             Content-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: 16\r\n\r\nsku=a&quantity=1"
        );
    }

    #[test]
    fn malformed_answers_are_refused() {
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n").is_err());
        assert!(
            parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
                .is_err()
        );
        assert!(parse_head(b"garbage\r\n\r\n").is_err());
        assert!(matches!(
            parse_head(b"HTTP/1.1 200 OK\r\nContent-"),
            Ok(None)
        ));
        let mut input = BytesMut::from(&b"zz\r\n"[..]);
        assert!(dechunk(&mut input, &mut BytesMut::new()).is_err());
        // A size that overflows, or one past the body's limit, is refused before anything is
        // buffered; so is a size line that never ends.
        for size in [&b"fffffffffffffffe\r\nab\r\n"[..], b"40000000\r\n"] {
            let mut input = BytesMut::from(size);
            assert!(dechunk(&mut input, &mut BytesMut::new()).is_err());
        }
        let mut input = BytesMut::from(&vec![b'1'; MAX_HEAD + 1][..]);
        assert!(dechunk(&mut input, &mut BytesMut::new()).is_err());
    }

    #[test]
    fn retry_after_is_read_in_seconds_and_capped() {
        let retry = |head: &[u8]| {
            parse_head(head)
                .expect("parses")
                .expect("complete")
                .1
                .retry_after
        };
        assert_eq!(
            retry(b"HTTP/1.1 503 Busy\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n"),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            retry(b"HTTP/1.1 503 Busy\r\nretry-after: 86400\r\n\r\n"),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(
            retry(b"HTTP/1.1 429 Slow down\r\nRetry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n\r\n"),
            Some(Duration::ZERO),
            "a date past is no wait"
        );
        let later = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(30);
        let head = format!(
            "HTTP/1.1 429 Slow down\r\nRetry-After: {}\r\n\r\n",
            jiff::fmt::rfc2822::DateTimePrinter::new()
                .timestamp_to_rfc9110_string(&later)
                .expect("date")
        );
        let wait = retry(head.as_bytes()).expect("a date ahead is a wait");
        assert!(
            (Duration::from_secs(28)..=Duration::from_secs(30)).contains(&wait),
            "{wait:?}"
        );
        assert_eq!(
            retry(b"HTTP/1.1 429 Slow down\r\nRetry-After: soon\r\n\r\n"),
            None
        );
        assert_eq!(retry(b"HTTP/1.1 200 OK\r\n\r\n"), None);
    }
}
