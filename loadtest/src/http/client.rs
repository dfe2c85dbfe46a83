//! One simulated browser's connections: HTTP/1.1 keep-alive, one per origin, written and read
//! by the user's own task — the request as one `write` of bytes prepared from a pre-parsed path,
//! the answer read into a reused buffer and its head parsed with `httparse` (hyper's own
//! parser).
//!
//! Why not hyper's client connection: it was the first version of this path, and on the cart
//! hot path it spent about twice the generator CPU per request of this one (the hand-off
//! between its sender and its connection future, header maps built for every request and
//! answer, the body's channel); with it the generator reached 0.51× wrk's requests/s per core
//! and a cart p50 1.63× wrk's, short of the 1.5× it had to meet. ARCHITECTURE.md keeps the
//! figures.

use super::origin::{Origin, OriginId, Origins};
use bytes::{Buf as _, Bytes, BytesMut};
use http::HeaderValue;
use std::io::{ErrorKind, Write as _};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// A request's method: the scenarios only GET pages and POST forms.
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
}

/// An answer, with the time from sending to its complete head (as goose times requests).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub location: Option<Bytes>,
    /// Every `Set-Cookie` value, in order.
    pub set_cookies: Vec<Bytes>,
    /// `Retry-After` in seconds (the HTTP-date form is not read), at most [`MAX_RETRY_AFTER`].
    pub retry_after: Option<Duration>,
    pub body: Bytes,
    pub elapsed: Duration,
}

/// The longest `Retry-After` a user honours: a server asking for more is waited on this long.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Why a request got no answer. Stable kinds, so failures can be counted by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, thiserror::Error)]
pub enum HttpError {
    #[error("connection refused or failed")]
    Connect,
    #[error("timed out")]
    Timeout,
    #[error("connection closed before an answer")]
    Closed,
    #[error("malformed answer")]
    Protocol,
}

/// Counts of what the connections did, merged into the run's results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    pub connections_opened: u64,
    /// Requests sent again on a new connection because the server had closed the idle one.
    pub resent: u64,
}

/// Headers an answer may carry that the client reads; more are skipped.
const MAX_HEADERS: usize = 48;
/// An answer's head may not exceed this.
const MAX_HEAD: usize = 64 * 1024;
/// An answer's body may not exceed this (the services' pages are a few kilobytes).
const MAX_BODY: usize = 16 * 1024 * 1024;
/// A connection unused for this long is checked for a close by the server before it is used.
const IDLE_CHECK: Duration = Duration::from_millis(50);
const READ_CHUNK: usize = 16 * 1024;

/// One keep-alive connection.
#[derive(Debug)]
struct Connection {
    stream: TcpStream,
    /// What was read and not yet consumed.
    input: BytesMut,
    /// The request being written (reused).
    output: Vec<u8>,
    last_used: Instant,
    /// The last answer left the connection open for another request.
    reusable: bool,
}

/// How an exchange failed.
#[derive(Debug)]
enum Failure {
    /// The request could not be written: the connection was already closed.
    NotSent,
    /// The request was written, and the connection closed without a byte of answer.
    ClosedUnanswered,
    Error(HttpError),
}

impl Connection {
    async fn open(origin: &Origin) -> Result<Connection, HttpError> {
        let stream = TcpStream::connect(origin.addr)
            .await
            .map_err(|_| HttpError::Connect)?;
        // Requests are small and answered at once: Nagle would hold them back.
        let _ = stream.set_nodelay(true);
        Ok(Connection {
            stream,
            input: BytesMut::with_capacity(READ_CHUNK),
            output: Vec::with_capacity(1024),
            last_used: Instant::now(),
            reusable: true,
        })
    }

    /// Whether a connection idle for a while was closed by the server meanwhile (one
    /// non-blocking read: end of stream, or anything unasked for, means it cannot be used).
    fn closed_while_idle(&mut self) -> bool {
        if self.last_used.elapsed() < IDLE_CHECK {
            return false;
        }
        let mut probe = [0u8; 1];
        !matches!(self.stream.try_read(&mut probe), Err(error) if error.kind() == ErrorKind::WouldBlock)
    }

    async fn exchange(&mut self, origin: &Origin, outgoing: &Outgoing) -> Result<Reply, Failure> {
        encode(&mut self.output, origin, outgoing);
        let started = Instant::now();
        self.stream
            .write_all(&self.output)
            .await
            .map_err(|_| Failure::NotSent)?;
        let head = self.read_head().await?;
        let elapsed = started.elapsed();
        let body = self.read_body(&head).await.map_err(Failure::Error)?;
        self.last_used = Instant::now();
        self.reusable =
            head.keep_alive && head.framing != Framing::UntilClose && self.input.is_empty();
        Ok(Reply {
            status: head.status,
            location: head.location,
            set_cookies: head.set_cookies,
            retry_after: head.retry_after,
            body,
            elapsed,
        })
    }

    /// Reads more into `input`; `Ok(false)` at the end of the stream.
    async fn fill(&mut self) -> std::io::Result<bool> {
        if self.input.capacity() - self.input.len() < READ_CHUNK / 4 {
            self.input.reserve(READ_CHUNK);
        }
        Ok(self.stream.read_buf(&mut self.input).await? > 0)
    }

    async fn read_head(&mut self) -> Result<Head, Failure> {
        loop {
            if !self.input.is_empty() {
                match parse_head(&self.input) {
                    Ok(Some((length, head))) => {
                        let head_bytes = self.input.split_to(length).freeze();
                        return Ok(head.resolve(&head_bytes));
                    }
                    Ok(None) if self.input.len() > MAX_HEAD => {
                        return Err(Failure::Error(HttpError::Protocol));
                    }
                    Ok(None) => {}
                    Err(()) => return Err(Failure::Error(HttpError::Protocol)),
                }
            }
            let nothing_yet = self.input.is_empty();
            match self.fill().await {
                Ok(true) => {}
                Ok(false) | Err(_) if nothing_yet => return Err(Failure::ClosedUnanswered),
                Ok(false) | Err(_) => return Err(Failure::Error(HttpError::Closed)),
            }
        }
    }

    async fn read_body(&mut self, head: &Head) -> Result<Bytes, HttpError> {
        match head.framing {
            Framing::Empty => Ok(Bytes::new()),
            Framing::Length(length) => {
                if length > MAX_BODY {
                    return Err(HttpError::Protocol);
                }
                while self.input.len() < length {
                    if !self.fill().await.map_err(|_| HttpError::Closed)? {
                        return Err(HttpError::Closed);
                    }
                }
                Ok(self.input.split_to(length).freeze())
            }
            Framing::Chunked => {
                let mut body = BytesMut::new();
                loop {
                    match dechunk(&mut self.input, &mut body) {
                        Ok(true) => return Ok(body.freeze()),
                        Ok(false) if body.len() > MAX_BODY => return Err(HttpError::Protocol),
                        Ok(false) => {}
                        Err(()) => return Err(HttpError::Protocol),
                    }
                    if !self.fill().await.map_err(|_| HttpError::Closed)? {
                        return Err(HttpError::Closed);
                    }
                }
            }
            Framing::UntilClose => {
                while self.fill().await.map_err(|_| HttpError::Closed)? {
                    if self.input.len() > MAX_BODY {
                        return Err(HttpError::Protocol);
                    }
                }
                Ok(self.input.split().freeze())
            }
        }
    }
}

/// Writes the request: request line, `Host`, `User-Agent`, the cookies, and a form.
fn encode(output: &mut Vec<u8>, origin: &Origin, outgoing: &Outgoing) {
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
enum Framing {
    Empty,
    Length(usize),
    Chunked,
    UntilClose,
}

/// A parsed head, its header values as positions in the head's bytes.
#[derive(Debug)]
struct ParsedHead {
    status: u16,
    framing: Framing,
    keep_alive: bool,
    location: Option<(usize, usize)>,
    set_cookies: Vec<(usize, usize)>,
    retry_after: Option<Duration>,
}

/// A parsed head with its header values as shared bytes.
#[derive(Debug)]
struct Head {
    status: u16,
    framing: Framing,
    keep_alive: bool,
    location: Option<Bytes>,
    set_cookies: Vec<Bytes>,
    retry_after: Option<Duration>,
}

impl ParsedHead {
    fn resolve(self, head: &Bytes) -> Head {
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
fn parse_head(input: &[u8]) -> Result<Option<(usize, ParsedHead)>, ()> {
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
                .and_then(|text| text.trim().parse::<u64>().ok())
                .map(|seconds| Duration::from_secs(seconds).min(MAX_RETRY_AFTER));
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

/// Moves complete chunks from `input` to `body`; `Ok(true)` once the last chunk and the
/// trailers are consumed.
fn dechunk(input: &mut BytesMut, body: &mut BytesMut) -> Result<bool, ()> {
    loop {
        let Some(line_end) = input.windows(2).position(|pair| pair == b"\r\n") else {
            return Ok(false);
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
                return Ok(false);
            };
            input.advance(line_end + 2 + end + 4);
            return Ok(true);
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

/// A browser's connections, one per instance of each site, and the timeout every request gets.
#[derive(Debug)]
pub struct HttpClient {
    connections: Vec<Option<Connection>>,
    /// Each site's next turn: a site of several instances takes them in turn, request by
    /// request, as a round-robin balancer would.
    turns: Vec<u32>,
    /// Requests sent to each instance (by slot), answered or not.
    requests: Vec<u64>,
    timeout: Duration,
    pub stats: ClientStats,
}

impl HttpClient {
    /// A client for `origins`, its round robin starting at `first_turn` (users start at
    /// different instances, so the first requests of a run spread too).
    pub fn new(origins: &Origins, first_turn: u32, timeout: Duration) -> Self {
        HttpClient {
            connections: (0..origins.slots()).map(|_| None).collect(),
            turns: vec![first_turn; origins.len()],
            requests: vec![0; origins.slots()],
            timeout,
            stats: ClientStats::default(),
        }
    }

    /// Requests sent to each instance, by slot (see [`Origins::instance`]).
    pub fn requests(&self) -> &[u64] {
        &self.requests
    }

    /// Sends one request to `site` (to its next instance in turn), within the timeout. A
    /// keep-alive connection the server closed while idle is replaced, and the request sent
    /// again once on the new one.
    pub async fn send(
        &mut self,
        origins: &Origins,
        site: OriginId,
        outgoing: &Outgoing,
    ) -> Result<Reply, HttpError> {
        let turn = &mut self.turns[usize::from(site.0)];
        let (slot, origin) = origins.instance(site, *turn);
        *turn = turn.wrapping_add(1);
        self.requests[slot] += 1;
        let deadline = tokio::time::Instant::now() + self.timeout;
        match tokio::time::timeout_at(deadline, self.exchange(origin, slot, outgoing)).await {
            Ok(result) => result,
            Err(_) => {
                // A connection with a request in flight cannot be reused.
                self.connections[slot] = None;
                Err(HttpError::Timeout)
            }
        }
    }

    async fn exchange(
        &mut self,
        origin: &Origin,
        slot: usize,
        outgoing: &Outgoing,
    ) -> Result<Reply, HttpError> {
        let mut resent = false;
        loop {
            let kept = self.connections[slot]
                .take()
                .filter(|_| !resent)
                .and_then(|mut connection| (!connection.closed_while_idle()).then_some(connection));
            let reused = kept.is_some();
            let mut connection = match kept {
                Some(connection) => connection,
                None => {
                    self.stats.connections_opened += 1;
                    Connection::open(origin).await?
                }
            };
            match connection.exchange(origin, outgoing).await {
                Ok(reply) => {
                    if connection.reusable {
                        self.connections[slot] = Some(connection);
                    }
                    return Ok(reply);
                }
                // A reused connection the server had closed (the race a keep-alive timeout
                // leaves): the request never reached the application, so it is sent once more
                // on a new connection — always when it could not be written, and for a GET
                // also when it was written but not a byte of answer came back.
                Err(Failure::NotSent) if reused && !resent => {
                    resent = true;
                    self.stats.resent += 1;
                }
                Err(Failure::ClosedUnanswered)
                    if reused && !resent && outgoing.method == Method::Get =>
                {
                    resent = true;
                    self.stats.resent += 1;
                }
                Err(Failure::NotSent | Failure::ClosedUnanswered) => return Err(HttpError::Closed),
                Err(Failure::Error(error)) => return Err(error),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// How the test server treats each connection.
    #[derive(Debug, Clone, Copy)]
    enum Server {
        /// Answers every request on the connection, keeping it open.
        KeepAlive,
        /// Answers one request, then closes without saying so (as an idle timeout does).
        CloseAfterOne,
        /// Reads requests and never answers.
        Silent,
    }

    /// A loopback server answering `answer` to every request; returns its origin.
    async fn serve(mode: Server, answer: &'static [u8]) -> (Origins, OriginId) {
        let url = serve_url(mode, answer).await;
        let mut origins = Origins::default();
        let id = origins.add(Origin::parse(&url).expect("origin"));
        (origins, id)
    }

    /// A loopback server answering `answer` to every request; returns its base URL.
    async fn serve_url(mode: Server, answer: &'static [u8]) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut seen = Vec::new();
                    let mut buffer = [0u8; 4096];
                    loop {
                        let Ok(read) = socket.read(&mut buffer).await else {
                            return;
                        };
                        if read == 0 {
                            return;
                        }
                        seen.extend_from_slice(&buffer[..read]);
                        // Requests without a body end at the blank line; forms carry 7 bytes.
                        while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&seen[..end]).to_string();
                            let body = if head.contains("Content-Length: 7") {
                                7
                            } else {
                                0
                            };
                            if seen.len() < end + 4 + body {
                                break;
                            }
                            seen.drain(..end + 4 + body);
                            match mode {
                                Server::Silent => {}
                                Server::KeepAlive => {
                                    let _ = socket.write_all(answer).await;
                                }
                                Server::CloseAfterOne => {
                                    let _ = socket.write_all(answer).await;
                                    return;
                                }
                            }
                        }
                    }
                });
            }
        });
        url
    }

    fn get(path: &'static str) -> Outgoing {
        Outgoing {
            method: Method::Get,
            path: Bytes::from_static(path.as_bytes()),
            cookie: Some(HeaderValue::from_static("a=1")),
            form: None,
        }
    }

    const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nSet-Cookie: s=1; Path=/\r\nSet-Cookie: t=2\r\n\r\nok";

    #[tokio::test]
    async fn one_connection_serves_many_requests() {
        let (origins, id) = serve(Server::KeepAlive, OK).await;
        let mut client = HttpClient::new(&origins, 0, Duration::from_secs(5));
        for _ in 0..5 {
            let reply = client.send(&origins, id, &get("/x")).await.expect("reply");
            assert_eq!(reply.status, 200);
            assert_eq!(&reply.body[..], b"ok");
            assert_eq!(reply.set_cookies.len(), 2);
        }
        assert_eq!(client.stats.connections_opened, 1);
        assert_eq!(client.stats.resent, 0);
    }

    #[tokio::test]
    async fn a_site_of_two_instances_gets_them_in_turn_each_on_its_own_connection() {
        const OTHER: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nk2";
        let first = serve_url(Server::KeepAlive, OK).await;
        let second = serve_url(Server::KeepAlive, OTHER).await;
        let mut origins = Origins::default();
        let site = origins.add_site(vec![
            Origin::parse(&first).expect("first"),
            Origin::parse(&second).expect("second"),
        ]);
        let mut client = HttpClient::new(&origins, 1, Duration::from_secs(5));
        let mut bodies = Vec::new();
        for _ in 0..5 {
            let reply = client
                .send(&origins, site, &get("/x"))
                .await
                .expect("reply");
            bodies.push(String::from_utf8_lossy(&reply.body).into_owned());
        }
        // The first turn was 1: the second instance answered first.
        assert_eq!(bodies, ["k2", "ok", "k2", "ok", "k2"]);
        assert_eq!(client.requests(), [2, 3]);
        assert_eq!(client.stats.connections_opened, 2, "one kept per instance");
    }

    #[tokio::test]
    async fn a_connection_the_server_closed_is_replaced_and_the_request_sent_again() {
        let (origins, id) = serve(Server::CloseAfterOne, OK).await;
        let mut client = HttpClient::new(&origins, 0, Duration::from_secs(5));
        // Back to back: the close races the next request, which is sent again on a new one.
        for _ in 0..3 {
            let reply = client.send(&origins, id, &get("/x")).await.expect("reply");
            assert_eq!(reply.status, 200);
        }
        assert_eq!(client.stats.connections_opened, 3);
        // After an idle gap, the close is seen before sending: a form goes out once, on a new
        // connection.
        tokio::time::sleep(IDLE_CHECK * 2).await;
        let form = Outgoing {
            method: Method::Post,
            form: Some(Bytes::from_static(b"a=1&b=2")),
            ..get("/form")
        };
        let reply = client.send(&origins, id, &form).await.expect("reply");
        assert_eq!(reply.status, 200);
        assert_eq!(client.stats.connections_opened, 4);
    }

    #[tokio::test]
    async fn a_silent_server_times_out_and_a_missing_one_refuses() {
        let (origins, id) = serve(Server::Silent, OK).await;
        let mut client = HttpClient::new(&origins, 0, Duration::from_millis(200));
        let started = Instant::now();
        assert_eq!(
            client.send(&origins, id, &get("/")).await.err(),
            Some(HttpError::Timeout)
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        let mut nowhere = Origins::default();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let id = nowhere.add(Origin::parse(&format!("http://127.0.0.1:{port}")).expect("origin"));
        assert_eq!(
            client.send(&nowhere, id, &get("/")).await.err(),
            Some(HttpError::Connect)
        );
    }

    #[tokio::test]
    async fn chunked_and_close_delimited_bodies_are_read_whole() {
        let chunked: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5;x=y\r\npedia\r\n0\r\nTrailer: t\r\n\r\n";
        let (origins, id) = serve(Server::KeepAlive, chunked).await;
        let mut client = HttpClient::new(&origins, 0, Duration::from_secs(5));
        for _ in 0..2 {
            let reply = client.send(&origins, id, &get("/")).await.expect("reply");
            assert_eq!(&reply.body[..], b"Wikipedia");
        }
        assert_eq!(
            client.stats.connections_opened, 1,
            "chunked keeps the connection"
        );
        let until_close: &[u8] = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it";
        let (origins, id) = serve(Server::CloseAfterOne, until_close).await;
        let mut client = HttpClient::new(&origins, 0, Duration::from_secs(5));
        let reply = client.send(&origins, id, &get("/")).await.expect("reply");
        assert_eq!(&reply.body[..], b"all of it");
        let reply = client.send(&origins, id, &get("/")).await.expect("reply");
        assert_eq!(reply.status, 200);
        assert_eq!(
            client.stats.resent, 0,
            "a closed connection is never reused"
        );
        assert_eq!(client.stats.connections_opened, 2);
    }

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
            },
        );
        assert_eq!(
            String::from_utf8(output).expect("ascii"),
            "POST /shopping-cart/items HTTP/1.1\r\nHost: 127.0.0.2:9011\r\nUser-Agent: ssobench\r\n\
             Cookie: s=abc\r\nContent-Type: application/x-www-form-urlencoded\r\n\
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
            retry(b"HTTP/1.1 503 Busy\r\nRetry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n\r\n"),
            None,
            "the date form is not read"
        );
        assert_eq!(retry(b"HTTP/1.1 200 OK\r\n\r\n"), None);
    }
}
