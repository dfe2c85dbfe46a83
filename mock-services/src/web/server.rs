//! Serving a router on a listener, over plain TCP or TLS (rustls), with the limits an exposed
//! service needs: a header read timeout (a client that sends half a request, or idles on a
//! keep-alive connection, is cut off; a TLS handshake gets as long), a cap on concurrent
//! connections, exactly one `Host` per HTTP/1.1 request (RFC 9112 §3.2), and graceful shutdown.
//! `axum::serve` offers neither the timeout nor the cap, so this is an accept loop of its own
//! over hyper's HTTP/1 connection.

use super::pause::PauseGate;
use axum::Router;
use axum::http::{Request, StatusCode, Version, header};
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt as _;

/// What every connection of a service is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// How long a client may take to send a request's head — also how long a keep-alive
    /// connection may idle between requests before the server closes it.
    pub header_read_timeout: Duration,
    /// Connections served at once; more are answered 503 (naming the cap) and closed, and
    /// counted.
    pub max_connections: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            // Above the load generator's idle gaps in its default scenarios (the journey waits
            // out a 2 s store timeout): those never see a close, and longer gaps reconnect.
            header_read_timeout: Duration::from_secs(30),
            // A stack of three services in one process, sharing its raised descriptor limit.
            max_connections: crate::limits::default_max_connections(3),
        }
    }
}

/// A service's connections: those it serves now, and those it answered 503 and closed because
/// it already served `--max-connections` (said once in the log when the first comes).
#[derive(Debug, Clone, Default)]
pub struct Connections {
    open: Arc<AtomicU64>,
    refused: Arc<AtomicU64>,
    service: &'static str,
}

/// One open connection, counted until it is dropped.
struct Held(Arc<AtomicU64>);

impl Drop for Held {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Connections {
    pub fn new(service: &'static str) -> Self {
        Connections {
            open: Arc::default(),
            refused: Arc::default(),
            service,
        }
    }

    fn hold(&self) -> Held {
        self.open.fetch_add(1, Ordering::Relaxed);
        Held(Arc::clone(&self.open))
    }

    fn refuse(&self, cap: usize) {
        if self.refused.fetch_add(1, Ordering::Relaxed) == 0 {
            tracing::warn!(
                service = self.service,
                "over --max-connections ({cap}): new connections are answered 503 and closed"
            );
        }
    }

    /// Connections refused so far.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Connections open now.
    pub fn open(&self) -> u64 {
        self.open.load(Ordering::Relaxed)
    }
}

/// The answer to a connection over the cap: 503 with `Retry-After`, the page naming why, and
/// the connection closed (through TLS when the service speaks it).
async fn refuse(
    stream: tokio::net::TcpStream,
    tls: Option<tokio_rustls::TlsAcceptor>,
    timeout: Duration,
    cap: usize,
) {
    use tokio::io::AsyncWriteExt as _;
    let body = crate::web::html::page(
        "Over capacity",
        crate::web::routes::markers::OVER_CAPACITY,
        &format!("<p>This service already serves its --max-connections ({cap}).</p>"),
    );
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\n\
         Content-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(timeout, async move {
        match tls {
            None => {
                let mut stream = stream;
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.shutdown().await;
            }
            Some(acceptor) => {
                if let Ok(mut stream) = acceptor.accept(stream).await {
                    let _ = stream.write_all(answer.as_bytes()).await;
                    let _ = stream.shutdown().await;
                }
            }
        }
    })
    .await;
}

/// Serves `router` on `listener` (over TLS with `tls`) until `shutdown` turns true, then stops
/// accepting, lets every connection finish its request in flight, and returns once all are
/// closed. Each request passes `gate` first (it waits there while the stack is paused).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    gate: PauseGate,
    tls: Option<tokio_rustls::TlsAcceptor>,
    connections: Connections,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // A connection that failed before we took it, or no file descriptor to spare:
                // wait a moment rather than spin, and go on.
                Err(error) => {
                    tracing::debug!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
            },
            () = stopped(&mut shutdown) => break,
        };
        // Over the cap, the connection is answered and closed rather than left waiting in the
        // listen backlog, where a client could only take it for a slow server.
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            connections.refuse(limits.max_connections);
            let tls = tls.clone();
            let timeout = limits.header_read_timeout;
            tokio::spawn(refuse(stream, tls, timeout, limits.max_connections));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let gate = gate.clone();
        let stop = shutdown.clone();
        let tls = tls.clone();
        let held = connections.hold();
        tokio::spawn(async move {
            let _slot = slot;
            let _held = held;
            match tls {
                None => connection(stream, router, gate, limits, stop).await,
                Some(acceptor) => {
                    // A client that starts no handshake, or never finishes it, is cut off as one
                    // that sends no request head would be.
                    let handshake =
                        tokio::time::timeout(limits.header_read_timeout, acceptor.accept(stream))
                            .await;
                    match handshake {
                        Ok(Ok(stream)) => connection(stream, router, gate, limits, stop).await,
                        Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                }
            }
        });
    }
    // Every connection holds a slot until it closes: having them all back means all are done.
    let all = u32::try_from(limits.max_connections.max(1)).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
    Ok(())
}

/// Serves one connection's requests until it closes, or finishes its request in flight once
/// `stop` turns true.
async fn connection<I>(
    io: I,
    router: Router,
    gate: PauseGate,
    limits: ServerLimits,
    mut stop: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let router = router.clone();
        let gate = gate.clone();
        async move {
            if let Some(refusal) = refuse_host(&request) {
                return Ok::<Response, Infallible>(refusal);
            }
            gate.pass().await;
            router.oneshot(request).await
        }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .serve_connection(TokioIo::new(io), service);
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        () = stopped(&mut stop) => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

/// Resolves once `shutdown` turns true (or its sender is gone).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// An HTTP/1.1 request must carry exactly one `Host` (RFC 9112 §3.2): 400 otherwise.
fn refuse_host(request: &Request<Incoming>) -> Option<Response> {
    let hosts = request.headers().get_all(header::HOST).iter().count();
    (request.version() == Version::HTTP_11 && hosts != 1).then(|| {
        (
            StatusCode::BAD_REQUEST,
            [(header::CONNECTION, "close")],
            "an HTTP/1.1 request needs exactly one Host header\n",
        )
            .into_response()
    })
}
