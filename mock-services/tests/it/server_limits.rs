//! What every service's connections are held to, over raw sockets: a header read timeout that
//! cuts off a slow client without touching others, a cap on concurrent connections (over it, a
//! 503 naming the cap, counted), and exactly
//! one `Host` per HTTP/1.1 request.

use crate::stack_support::Stack;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// The `host:port` of a base URL.
fn address(base: &str) -> String {
    base.trim_start_matches("http://").to_owned()
}

/// Sends `request` on a new connection and returns the whole answer (until the server closes
/// or 2 s pass).
async fn exchange(base: &str, request: &str) -> String {
    let mut stream = TcpStream::connect(address(base)).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_sending_half_a_request_is_cut_off_and_others_are_served() {
    let stack = Stack::start("dashmap", |c| {
        c.server.header_read_timeout = Duration::from_millis(400);
    })
    .await;
    let mut slow = TcpStream::connect(address(stack.store()))
        .await
        .expect("connect");
    slow.write_all(b"GET / HTTP/1.1\r\nHost: store\r\n")
        .await
        .expect("write");
    let started = Instant::now();
    // Meanwhile another client is served at once.
    let home = reqwest::get(format!("{}/", stack.store()))
        .await
        .expect("get");
    assert_eq!(home.status(), 200);
    // The slow one is closed once the timeout passes: its read ends (with whatever the server
    // said before closing, if anything).
    let mut rest = Vec::new();
    let ended = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut rest)).await;
    assert!(ended.is_ok(), "the slow connection was never closed");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_secs(3),
        "closed after {waited:?}"
    );
    assert!(!String::from_utf8_lossy(&rest).contains("200 OK"));
    stack.running.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_cap_are_answered_503_naming_it_and_counted() {
    let stack = Stack::start("dashmap", |c| c.server.max_connections = 2).await;
    let store = address(stack.store());
    let held_a = TcpStream::connect(&store).await.expect("connect");
    let held_b = TcpStream::connect(&store).await.expect("connect");
    // Both slots are taken: a third client is answered at once, and told why.
    let answer = exchange(
        stack.store(),
        "GET / HTTP/1.1\r\nHost: store\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("Retry-After: 1"), "{answer}");
    assert!(
        answer.contains(&format!(
            "id=\"{}\"",
            mock_services::web::routes::markers::OVER_CAPACITY
        )),
        "{answer}"
    );
    let counted = |service: vocabulary::Service| {
        stack
            .running
            .refused_over_cap()
            .into_iter()
            .find_map(|(s, count)| (s == service).then_some(count))
    };
    assert_eq!(counted(vocabulary::Service::Store), Some(1));
    assert_eq!(counted(vocabulary::Service::Idp), Some(0));
    let open = |service: vocabulary::Service| {
        stack
            .running
            .connections()
            .into_iter()
            .find_map(|(s, connections)| (s == service).then(|| connections.open()))
    };
    assert_eq!(open(vocabulary::Service::Store), Some(2), "the two held");
    assert_eq!(open(vocabulary::Service::Forums), Some(0));
    drop(held_a);
    // A freed slot serves the next client (the server notices the close first).
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let url = format!("{}/", stack.store());
    let mut status = 0;
    for _ in 0..50 {
        status = client
            .get(&url)
            .send()
            .await
            .expect("answered")
            .status()
            .as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, 200, "served once a slot is free");
    drop(held_b);
    drop(client);
    // Every connection closed is counted out.
    for _ in 0..100 {
        if open(vocabulary::Service::Store) == Some(0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(open(vocabulary::Service::Store), Some(0));
    stack.running.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_1_1_request_needs_exactly_one_host() {
    let stack = Stack::start("dashmap", |_| {}).await;
    let store = stack.store();
    let check = |answer: String, status: &str| {
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{answer}"
        );
    };
    check(
        exchange(store, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n").await,
        "400",
    );
    check(
        exchange(
            store,
            "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n",
        )
        .await,
        "400",
    );
    check(
        exchange(
            store,
            "GET / HTTP/1.1\r\nHost: store\r\nConnection: close\r\n\r\n",
        )
        .await,
        "200",
    );
    // HTTP/1.0 has no Host requirement.
    let answer = exchange(store, "GET / HTTP/1.0\r\n\r\n").await;
    assert!(answer.contains(" 200 OK"), "{answer}");
    stack.running.shutdown().await.expect("shutdown");
}
