//! One simulated browser's connections: HTTP/1.1 keep-alive over TCP or TLS (rustls), one per
//! instance of each site, written and read by the user's own task — the request as one `write`
//! of the bytes `codec` prepared from a pre-parsed path, the answer read into a reused buffer
//! and its head parsed by `codec`. A request that opens a connection has its connect and TLS
//! handshake timed apart from its answer.
//!
//! Why not hyper's client connection: it was the first version of this path, and on the cart
//! hot path it spent about twice the generator CPU per request of this one (the hand-off
//! between its sender and its connection future, header maps built for every request and
//! answer, the body's channel); with it the generator reached 0.51× wrk's requests/s per core
//! and a cart p50 1.63× wrk's, short of the 1.5× it had to meet. ARCHITECTURE.md keeps the
//! figures.

use super::codec::{
    Framing, Head, MAX_BODY, MAX_HEAD, Method, Outgoing, dechunk, encode, parse_head,
};
use super::origin::{Origin, OriginId, Origins, Scheme};
use super::tls::server_name;
use bytes::{Buf as _, Bytes, BytesMut};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::TcpStream;

/// How long each part of an exchange took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timing {
    /// TCP connect, when this request opened a connection.
    pub connect: Option<Duration>,
    /// The TLS handshake, when this request opened a TLS connection.
    pub handshake: Option<Handshake>,
    /// From the request's first byte written to the answer's first byte read.
    pub first_byte: Duration,
}

/// One TLS handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handshake {
    pub elapsed: Duration,
    /// An abbreviated handshake resuming an earlier session (a ticket or session ID).
    pub resumed: bool,
    /// TLS 1.3 (else 1.2).
    pub tls13: bool,
}

/// An answer, with the time from the start of the exchange (connecting, when it had to) to
/// its complete head.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub location: Option<Bytes>,
    /// Every `Set-Cookie` value, in order.
    pub set_cookies: Vec<Bytes>,
    /// `Retry-After` (seconds, or an HTTP date from now), at most [`MAX_RETRY_AFTER`].
    pub retry_after: Option<Duration>,
    pub body: Bytes,
    /// Connect, handshake and the request to the answer's complete head: the hop's time.
    pub elapsed: Duration,
    pub timing: Timing,
}

/// Why a request got no answer. Stable kinds, so failures can be counted by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, thiserror::Error)]
pub enum HttpError {
    #[error("connection refused or failed")]
    Connect,
    #[error("TLS handshake failed")]
    Tls,
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
    /// Connections this side closed after they sat idle past `--keep-alive-idle`.
    pub closed_idle: u64,
    /// Requests sent again on a new connection because the server had closed the idle one.
    pub resent: u64,
    /// TLS handshakes, full and resumed, and how many of all were TLS 1.3.
    pub handshakes_full: u64,
    pub handshakes_resumed: u64,
    pub handshakes_tls13: u64,
}

impl ClientStats {
    pub fn add(&mut self, other: &ClientStats) {
        self.connections_opened += other.connections_opened;
        self.closed_idle += other.closed_idle;
        self.resent += other.resent;
        self.handshakes_full += other.handshakes_full;
        self.handshakes_resumed += other.handshakes_resumed;
        self.handshakes_tls13 += other.handshakes_tls13;
    }
}

/// A connection unused for this long is checked for a close by the server before it is used.
const IDLE_CHECK: Duration = Duration::from_millis(50);
const READ_CHUNK: usize = 16 * 1024;

/// A connection's byte stream: plain TCP, or TLS over it.
#[derive(Debug)]
enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(stream) => Pin::new(stream).poll_read(context, buffer),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_read(context, buffer),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(stream) => Pin::new(stream).poll_write(context, bytes),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_write(context, bytes),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(stream) => Pin::new(stream).poll_flush(context),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(context),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(stream) => Pin::new(stream).poll_shutdown(context),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_shutdown(context),
        }
    }
}

/// One keep-alive connection.
#[derive(Debug)]
struct Connection {
    stream: Stream,
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
    /// Connects to `addr` and, for an HTTPS origin, makes the TLS handshake; times both.
    async fn open(
        origin: &Origin,
        addr: std::net::SocketAddr,
        source: Option<std::net::IpAddr>,
        tls: Option<&super::tls::BrowserTls>,
    ) -> Result<(Connection, Timing), HttpError> {
        let started = Instant::now();
        let tcp = super::source::connect(addr, source)
            .await
            .map_err(|_| HttpError::Connect)?;
        // Requests are small and answered at once: Nagle would hold them back.
        let _ = tcp.set_nodelay(true);
        let connect = started.elapsed();
        let mut timing = Timing {
            connect: Some(connect),
            ..Timing::default()
        };
        let stream = match (origin.scheme, tls) {
            (Scheme::Http, _) => Stream::Plain(tcp),
            (Scheme::Https, None) => return Err(HttpError::Tls),
            (Scheme::Https, Some(connector)) => {
                let name = server_name(&origin.host).ok_or(HttpError::Tls)?;
                let shaking = Instant::now();
                let stream = connector
                    .connect(name, tcp)
                    .await
                    .map_err(|_| HttpError::Tls)?;
                let session = stream.get_ref().1;
                timing.handshake = Some(Handshake {
                    elapsed: shaking.elapsed(),
                    resumed: matches!(
                        session.handshake_kind(),
                        Some(rustls::HandshakeKind::Resumed)
                    ),
                    tls13: session.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_3),
                });
                Stream::Tls(Box::new(stream))
            }
        };
        let connection = Connection {
            stream,
            input: BytesMut::with_capacity(READ_CHUNK),
            output: Vec::with_capacity(1024),
            last_used: Instant::now(),
            reusable: true,
        };
        Ok((connection, timing))
    }

    /// Drops the read and write buffers when nothing is left in them.
    fn release_buffers(&mut self) {
        if self.input.is_empty() {
            self.input = BytesMut::new();
        }
        self.output = Vec::new();
    }

    /// Whether a connection idle for a while was closed by the server meanwhile: one read
    /// attempt that must not wait. Through TLS, what arrived meanwhile is read by the TLS
    /// layer first, so a session ticket is taken in and leaves the connection usable, while a
    /// `close_notify` or the end of the stream shows as closed; any data unasked for, or an
    /// error, makes the connection unusable too.
    fn closed_while_idle(&mut self) -> bool {
        if self.last_used.elapsed() < IDLE_CHECK {
            return false;
        }
        let mut probe = [0u8; 1];
        let mut buffer = ReadBuf::new(&mut probe);
        let mut context = Context::from_waker(std::task::Waker::noop());
        !matches!(
            Pin::new(&mut self.stream).poll_read(&mut context, &mut buffer),
            Poll::Pending
        )
    }

    /// Writes the request and reads its answer; `timing` arrives with what opening the
    /// connection took (nothing for a reused one).
    async fn exchange(
        &mut self,
        origin: &Origin,
        outgoing: &Outgoing,
        mut timing: Timing,
        started: Instant,
    ) -> Result<Reply, Failure> {
        encode(&mut self.output, origin, outgoing);
        let written = Instant::now();
        self.stream
            .write_all(&self.output)
            .await
            .map_err(|_| Failure::NotSent)?;
        let (head, first_byte) = self.read_head(written).await?;
        let elapsed = started.elapsed();
        timing.first_byte = first_byte;
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
            timing,
        })
    }

    /// Reads more into `input`; `Ok(false)` at the end of the stream.
    async fn fill(&mut self) -> std::io::Result<bool> {
        if self.input.capacity() - self.input.len() < READ_CHUNK / 4 {
            self.input.reserve(READ_CHUNK);
        }
        Ok(self.stream.read_buf(&mut self.input).await? > 0)
    }

    /// Reads the answer's head, and how long after `written` its first byte came.
    async fn read_head(&mut self, written: Instant) -> Result<(Head, Duration), Failure> {
        let mut first_byte = None;
        loop {
            if !self.input.is_empty() {
                let first = *first_byte.get_or_insert_with(|| written.elapsed());
                match parse_head(&self.input) {
                    // An interim answer (`100 Continue`, `103 Early Hints`) comes before the
                    // real one: it is read past, never taken for it (101 switches protocols,
                    // which no request of ours asks for: it is the answer, and ends the
                    // connection's use).
                    Ok(Some((length, head)))
                        if (100..200).contains(&head.status) && head.status != 101 =>
                    {
                        self.input.advance(length);
                        continue;
                    }
                    Ok(Some((length, head))) => {
                        let head_bytes = self.input.split_to(length).freeze();
                        return Ok((head.resolve(&head_bytes), first));
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

/// A browser's connections, one per instance of each site, and the timeout every request gets.
#[derive(Debug)]
pub struct HttpClient {
    connections: Vec<Option<Connection>>,
    /// Each site's next turn: a site of several instances takes them in turn, request by
    /// request, as a round-robin balancer would.
    turns: Vec<u32>,
    /// Each instance's next address (by slot): a name of several addresses has them taken in
    /// turn by new connections.
    address_turns: Vec<u32>,
    /// Requests sent to each instance (by slot), answered or not.
    requests: Vec<u64>,
    timeout: Duration,
    /// This browser's TLS configuration (its own resumption cache, or the run's), for runs
    /// with an HTTPS origin.
    tls: Option<super::tls::BrowserTls>,
    /// The address this browser's connections come from (`--source-addrs`), or the kernel's
    /// choice.
    source: Option<std::net::IpAddr>,
    pub stats: ClientStats,
}

impl HttpClient {
    /// A client for `origins`, its round robin starting at `first_turn` (users start at
    /// different instances, so the first requests of a run spread too).
    pub fn new(
        origins: &Origins,
        first_turn: u32,
        timeout: Duration,
        tls: Option<super::tls::BrowserTls>,
    ) -> Self {
        HttpClient {
            connections: (0..origins.slots()).map(|_| None).collect(),
            turns: vec![first_turn; origins.len()],
            address_turns: vec![first_turn; origins.slots()],
            requests: vec![0; origins.slots()],
            timeout,
            tls,
            source: None,
            stats: ClientStats::default(),
        }
    }

    /// This client with its connections bound to `source` before they connect.
    #[must_use]
    pub fn from_source(mut self, source: Option<std::net::IpAddr>) -> Self {
        self.source = source;
        self
    }

    /// Requests sent to each instance, by slot (see [`Origins::instance`]).
    pub fn requests(&self) -> &[u64] {
        &self.requests
    }

    /// Starts its counts (requests per instance, connection stats) afresh; its connections
    /// and turns stay as they are (the end of a warm-up).
    pub fn restart_counts(&mut self) {
        self.requests.fill(0);
        self.stats = ClientStats::default();
    }

    /// Gives back the buffers of idle connections (a user about to think): a connection keeps
    /// its socket open but no longer its 16 KiB read buffer, which its next request allocates
    /// again. At 100,000 users this is most of what an idle user would otherwise hold.
    pub fn release_buffers(&mut self) {
        for connection in self.connections.iter_mut().flatten() {
            connection.release_buffers();
        }
    }

    /// Closes every connection unused for `limit` or longer (a browser's idle timeout); the
    /// next request to its instance opens a new one.
    pub fn close_idle(&mut self, limit: Duration) {
        for slot in &mut self.connections {
            if slot
                .as_ref()
                .is_some_and(|connection| connection.last_used.elapsed() >= limit)
            {
                *slot = None;
                self.stats.closed_idle += 1;
            }
        }
    }

    /// Closes every connection (a browser that quits).
    pub fn disconnect(&mut self) {
        for connection in &mut self.connections {
            *connection = None;
        }
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

    /// Opens a connection to the instance in `slot`: its addresses in turn, the next one tried
    /// when one refuses.
    async fn open(
        &mut self,
        origin: &Origin,
        slot: usize,
    ) -> Result<(Connection, Timing), HttpError> {
        let count = origin.addrs.len();
        let first = self.address_turns[slot] as usize;
        self.address_turns[slot] = self.address_turns[slot].wrapping_add(1);
        let mut last_error = HttpError::Connect;
        for attempt in 0..count {
            let addr = origin.addrs[(first + attempt) % count];
            match Connection::open(origin, addr, self.source, self.tls.as_ref()).await {
                Ok((connection, timing)) => {
                    self.stats.connections_opened += 1;
                    if let Some(handshake) = timing.handshake {
                        if handshake.resumed {
                            self.stats.handshakes_resumed += 1;
                        } else {
                            self.stats.handshakes_full += 1;
                        }
                        self.stats.handshakes_tls13 += u64::from(handshake.tls13);
                    }
                    return Ok((connection, timing));
                }
                // A refused address: the next may answer. A failed handshake is the server's
                // answer, not the address's.
                Err(HttpError::Connect) => last_error = HttpError::Connect,
                Err(error) => return Err(error),
            }
        }
        Err(last_error)
    }

    async fn exchange(
        &mut self,
        origin: &Origin,
        slot: usize,
        outgoing: &Outgoing,
    ) -> Result<Reply, HttpError> {
        let mut resent = false;
        loop {
            let started = Instant::now();
            let kept = self.connections[slot]
                .take()
                .filter(|_| !resent)
                .and_then(|mut connection| (!connection.closed_while_idle()).then_some(connection));
            let reused = kept.is_some();
            let (mut connection, timing) = match kept {
                Some(connection) => (connection, Timing::default()),
                None => self.open(origin, slot).await?,
            };
            match connection.exchange(origin, outgoing, timing, started).await {
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
    use http::HeaderValue;
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
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(answer_requests(socket, mode, answer));
            }
        });
        url
    }

    /// A loopback HTTPS server (a certificate of `dir`'s new CA) answering `answer` to every
    /// request; returns its base URL and the CA's file.
    async fn serve_tls(
        dir: &std::path::Path,
        mode: Server,
        answer: &'static [u8],
    ) -> (String, std::path::PathBuf) {
        let files = mock_services::dev_cert::write(dir, &["127.0.0.1".to_owned()]).expect("cert");
        let acceptor = mock_services::web::tls::TlsFiles {
            cert: files.cert.clone(),
            key: files.key.clone(),
        }
        .acceptor()
        .expect("acceptor");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("https://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(stream) = acceptor.accept(socket).await {
                        answer_requests(stream, mode, answer).await;
                    }
                });
            }
        });
        (url, files.ca)
    }

    /// Reads requests from `socket` and answers each as `mode` says; a closing server ends
    /// the connection cleanly (a TLS server with its close_notify).
    async fn answer_requests<S>(mut socket: S, mode: Server, answer: &'static [u8])
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
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
                        let _ = socket.shutdown().await;
                        return;
                    }
                }
            }
        }
    }

    /// A browser's TLS configuration trusting `ca`.
    fn browser_tls(
        ca: &std::path::Path,
        resumption: super::super::ResumptionMode,
    ) -> super::super::TlsConnector {
        super::super::TlsConnector::new(&super::super::TlsOptions {
            ca_cert: Some(ca.to_owned()),
            insecure: false,
            resumption,
        })
        .expect("TLS configuration")
    }

    #[tokio::test]
    async fn tls_connections_are_timed_kept_alive_and_survive_a_session_ticket_while_idle() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (url, ca) = serve_tls(dir.path(), Server::KeepAlive, OK).await;
        let mut origins = Origins::default();
        let id = origins.add(Origin::parse(&url).expect("origin"));
        let tls = browser_tls(&ca, super::super::ResumptionMode::PerUser);
        let mut client = HttpClient::new(
            &origins,
            0,
            Duration::from_secs(5),
            Some(tls.for_browser(1)),
        );
        let first = client.send(&origins, id, &get("/x")).await.expect("reply");
        assert_eq!(first.status, 200);
        let handshake = first
            .timing
            .handshake
            .expect("the first request made the handshake");
        assert!(!handshake.resumed);
        assert!(first.timing.connect.is_some());
        assert!(first.elapsed >= handshake.elapsed + first.timing.first_byte);
        // TLS 1.3 servers send their session tickets after the handshake: waiting past the idle
        // check, those must not look like a closed connection.
        tokio::time::sleep(IDLE_CHECK * 3).await;
        let second = client.send(&origins, id, &get("/x")).await.expect("reply");
        assert_eq!(
            second.timing,
            Timing {
                first_byte: second.timing.first_byte,
                ..Timing::default()
            }
        );
        assert_eq!(client.stats.connections_opened, 1);
        assert_eq!(client.stats.handshakes_full, 1);
        assert_eq!(client.stats.handshakes_tls13, 1);
    }

    #[tokio::test]
    async fn a_reconnecting_browser_resumes_its_own_session_as_the_mode_says() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (url, ca) = serve_tls(dir.path(), Server::CloseAfterOne, OK).await;
        let mut origins = Origins::default();
        let id = origins.add(Origin::parse(&url).expect("origin"));
        let stats = |tls: super::super::tls::BrowserTls| {
            let origins = origins.clone();
            async move {
                let mut client = HttpClient::new(&origins, 0, Duration::from_secs(5), Some(tls));
                for _ in 0..4 {
                    // The server closed the last connection (with close_notify): each request
                    // makes a new one, without sending anything twice.
                    tokio::time::sleep(IDLE_CHECK * 2).await;
                    let reply = client.send(&origins, id, &get("/x")).await.expect("reply");
                    assert_eq!(reply.status, 200);
                }
                assert_eq!(client.stats.resent, 0);
                client.stats
            }
        };
        use super::super::ResumptionMode::{Off, PerUser, Shared};
        let own = stats(browser_tls(&ca, PerUser).for_browser(1)).await;
        assert_eq!(
            (own.handshakes_full, own.handshakes_resumed),
            (1, 3),
            "{own:?}"
        );
        let none = stats(browser_tls(&ca, Off).for_browser(1)).await;
        assert_eq!(
            (none.handshakes_full, none.handshakes_resumed),
            (4, 0),
            "{none:?}"
        );
        // Per user, a second browser starts with a cache of its own; shared, it resumes what
        // the first began.
        let per_user = browser_tls(&ca, PerUser);
        let _ = stats(per_user.for_browser(1)).await;
        let second = stats(per_user.for_browser(1)).await;
        assert_eq!(second.handshakes_full, 1, "{second:?}");
        let shared = browser_tls(&ca, Shared);
        let _ = stats(shared.for_browser(1)).await;
        let second = stats(shared.for_browser(1)).await;
        assert_eq!(
            (second.handshakes_full, second.handshakes_resumed),
            (0, 4),
            "{second:?}"
        );
    }

    #[tokio::test]
    async fn an_untrusted_certificate_fails_the_handshake_unless_insecure() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (url, _) = serve_tls(dir.path(), Server::KeepAlive, OK).await;
        let mut origins = Origins::default();
        let id = origins.add(Origin::parse(&url).expect("origin"));
        let other = tempfile::tempdir().expect("temp dir");
        let stranger = mock_services::dev_cert::write(other.path(), &["127.0.0.1".to_owned()])
            .expect("another CA");
        let untrusting = browser_tls(&stranger.ca, super::super::ResumptionMode::PerUser);
        let mut client = HttpClient::new(
            &origins,
            0,
            Duration::from_secs(5),
            Some(untrusting.for_browser(1)),
        );
        assert_eq!(
            client.send(&origins, id, &get("/x")).await.err(),
            Some(HttpError::Tls)
        );
        let error = super::super::tls::check(origins.site(id).first(), &untrusting)
            .await
            .expect_err("refused before the run");
        assert!(error.to_string().contains("--ca-cert"), "{error}");
        let insecure = super::super::TlsConnector::new(&super::super::TlsOptions {
            ca_cert: None,
            insecure: true,
            resumption: super::super::ResumptionMode::PerUser,
        })
        .expect("TLS configuration");
        let mut client = HttpClient::new(
            &origins,
            0,
            Duration::from_secs(5),
            Some(insecure.for_browser(1)),
        );
        assert_eq!(
            client
                .send(&origins, id, &get("/x"))
                .await
                .expect("reply")
                .status,
            200
        );
        // Plain HTTP spoken to a TLS port gets no answer it can read.
        let plain = url.replacen("https://", "http://", 1);
        let mut origins = Origins::default();
        let id = origins.add(Origin::parse(&plain).expect("origin"));
        let mut client = HttpClient::new(&origins, 0, Duration::from_secs(2), None);
        assert!(client.send(&origins, id, &get("/x")).await.is_err());
    }

    fn get(path: &'static str) -> Outgoing {
        Outgoing {
            method: Method::Get,
            path: Bytes::from_static(path.as_bytes()),
            cookie: Some(HeaderValue::from_static("a=1")),
            form: None,
            page_origin: None,
        }
    }

    const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nSet-Cookie: s=1; Path=/\r\nSet-Cookie: t=2\r\n\r\nok";

    #[tokio::test]
    async fn one_connection_serves_many_requests() {
        let (origins, id) = serve(Server::KeepAlive, OK).await;
        let mut client = HttpClient::new(&origins, 0, Duration::from_secs(5), None);
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
        let mut client = HttpClient::new(&origins, 1, Duration::from_secs(5), None);
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
        let mut client = HttpClient::new(&origins, 0, Duration::from_secs(5), None);
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
        let mut client = HttpClient::new(&origins, 0, Duration::from_millis(200), None);
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
    async fn a_name_of_several_addresses_has_them_taken_in_turn_by_new_connections() {
        const A: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na";
        const B: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb";
        let address = |url: String| -> std::net::SocketAddr {
            url.trim_start_matches("http://").parse().expect("address")
        };
        let first = address(serve_url(Server::CloseAfterOne, A).await);
        let second = address(serve_url(Server::CloseAfterOne, B).await);
        let mut origins = Origins::default();
        let id = origins
            .add(Origin::with_addrs("http://service.test", vec![first, second]).expect("origin"));
        let mut client = HttpClient::new(&origins, 0, Duration::from_secs(5), None);
        let mut bodies = String::new();
        for _ in 0..4 {
            // Each server closes after its answer: every request opens a connection.
            tokio::time::sleep(IDLE_CHECK * 2).await;
            let reply = client.send(&origins, id, &get("/")).await.expect("reply");
            bodies.push_str(&String::from_utf8_lossy(&reply.body));
        }
        assert_eq!(bodies, "abab");
        // An address that refuses is passed over for the next.
        let refused = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("address");
        let mut origins = Origins::default();
        let id = origins
            .add(Origin::with_addrs("http://service.test", vec![refused, second]).expect("origin"));
        let mut client = HttpClient::new(&origins, 0, Duration::from_secs(5), None);
        let reply = client.send(&origins, id, &get("/")).await.expect("reply");
        assert_eq!(&reply.body[..], b"b");
        assert_eq!(
            client.stats.connections_opened, 1,
            "only the one that answered"
        );
    }

    #[tokio::test]
    async fn interim_answers_are_read_past_not_taken_for_the_answer() {
        const EARLY: &[u8] = b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n\
            HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        let (origins, id) = serve(Server::KeepAlive, EARLY).await;
        let mut client = HttpClient::new(&origins, 0, Duration::from_secs(5), None);
        for _ in 0..3 {
            let reply = client.send(&origins, id, &get("/")).await.expect("reply");
            assert_eq!((reply.status, &reply.body[..]), (200, &b"ok"[..]));
        }
        assert_eq!(client.stats.connections_opened, 1);
    }

    #[tokio::test]
    async fn chunked_and_close_delimited_bodies_are_read_whole() {
        let chunked: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5;x=y\r\npedia\r\n0\r\nTrailer: t\r\n\r\n";
        let (origins, id) = serve(Server::KeepAlive, chunked).await;
        let mut client = HttpClient::new(&origins, 0, Duration::from_secs(5), None);
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
        let mut client = HttpClient::new(&origins, 0, Duration::from_secs(5), None);
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
}
