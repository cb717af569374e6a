//! Slow and stalled clients (slowloris): headers that never end, bodies that stall,
//! silent connections and floods of them are cut after the configured timeouts or
//! refused over the connection caps, and other clients keep being answered at their
//! normal latency. Raw TCP on loopback, from several 127.0.0.N source addresses.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use cofre_server::ServerConfig;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};

use crate::support::*;

fn addr_of(s: &TestServer) -> SocketAddr {
    s.base.trim_start_matches("http://").parse().unwrap()
}

/// A connection to the server from `from` (any 127.0.0.N).
async fn connect_from(s: &TestServer, from: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(from.parse::<IpAddr>().unwrap(), 0))
        .unwrap();
    socket.connect(addr_of(s)).await.unwrap()
}

/// Reads until the server closes the connection, an error, or `within` passes.
/// Returns what was read and whether the connection ended (closed or reset).
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (String, bool) {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let mut buf = [0u8; 4096];
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), false),
            Ok(Ok(0) | Err(_)) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// Reads one whole response (headers and a `Content-Length` body).
async fn read_response(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    loop {
        let mut buf = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("no response")
            .unwrap();
        assert!(n > 0, "closed before a whole response");
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            if got.len() >= end + 4 + length {
                return text;
            }
        }
    }
}

fn quick(c: &mut ServerConfig) {
    c.connections.header_timeout_secs = 1;
    c.connections.body_idle_timeout_secs = 1;
    c.connections.idle_timeout_secs = 2;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_headers_and_silent_connections_are_cut_after_the_timeouts() {
    let s = start(quick).await;

    // Headers that never end.
    let mut c = connect_from(&s, "127.0.0.1").await;
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: cofre\r\nX-Slow: ")
        .await
        .unwrap();
    let t = Instant::now();
    let (_, closed) = read_until_closed(&mut c, Duration::from_secs(5)).await;
    assert!(closed, "a stalled header was held for 5 s");
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());

    // A connection that never sends a byte.
    let mut c = connect_from(&s, "127.0.0.1").await;
    let t = Instant::now();
    let (_, closed) = read_until_closed(&mut c, Duration::from_secs(5)).await;
    assert!(closed, "a silent connection was held for 5 s");
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());

    // A keep-alive connection, answered, then silent.
    let mut c = connect_from(&s, "127.0.0.1").await;
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: cofre\r\n\r\n")
        .await
        .unwrap();
    let answer = read_response(&mut c).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let t = Instant::now();
    let (_, closed) = read_until_closed(&mut c, Duration::from_secs(6)).await;
    assert!(closed, "an idle keep-alive connection was held for 6 s");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_is_answered_408_within_the_body_idle_timeout() {
    let s = start(quick).await;

    // Under the body limit: a JSON 408 `request_timeout`, and the connection closes.
    let mut c = connect_from(&s, "127.0.0.1").await;
    c.write_all(
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: cofre\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"user",
    )
    .await
    .unwrap();
    let t = Instant::now();
    let (answer, closed) = read_until_closed(&mut c, Duration::from_secs(5)).await;
    assert!(
        closed,
        "the connection of a stalled body stayed open: {answer}"
    );
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/json"), "{answer}");
    assert!(answer.contains("\"request_timeout\""), "{answer}");

    // The case: 50 MiB declared, 7 bytes sent. Answered (or let go) quickly.
    let mut c = connect_from(&s, "127.0.0.1").await;
    c.write_all(
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: cofre\r\nContent-Type: application/json\r\nContent-Length: 52428800\r\n\r\n{\"user",
    )
    .await
    .unwrap();
    let t = Instant::now();
    let (answer, closed) = read_until_closed(&mut c, Duration::from_secs(5)).await;
    assert!(
        closed,
        "a stalled 50 MiB body held its connection: {answer}"
    );
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    if !answer.is_empty() {
        assert!(answer.contains("application/json"), "{answer}");
        assert!(
            answer.starts_with("HTTP/1.1 408") || answer.starts_with("HTTP/1.1 413"),
            "{answer}"
        );
    }

    // A streamed upload part that stalls (here to an item that does not exist) does
    // not hold its connection either.
    register(&s, "alice").await;
    let l = login(&s, "alice").await;
    let mut c = connect_from(&s, "127.0.0.1").await;
    let head = format!(
        "PUT /api/v1/items/abc/body HTTP/1.1\r\nHost: cofre\r\nAuthorization: Bearer {}\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\nabcdefg",
        l.tokens.access_token.expose()
    );
    c.write_all(head.as_bytes()).await.unwrap();
    let t = Instant::now();
    let (answer, closed) = read_until_closed(&mut c, Duration::from_secs(5)).await;
    assert!(closed, "a stalled upload held its connection: {answer}");
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_connections_up_to_the_caps_do_not_slow_other_clients() {
    let per_address = 4;
    let s = start(|c| {
        // Long timeouts: the stalled connections stay for the whole test.
        c.connections.header_timeout_secs = 60;
        c.connections.body_idle_timeout_secs = 60;
        c.connections.max_connections_per_address = per_address;
        c.connections.max_connections = 64;
    })
    .await;
    register(&s, "alice").await;

    let mut stalled = Vec::new();
    for n in 2..=6 {
        let from = format!("127.0.0.{n}");
        for i in 0..per_address {
            let mut c = connect_from(&s, &from).await;
            if i % 2 == 0 {
                c.write_all(b"GET /healthz HTTP/1.1\r\nHost: cofre\r\nX-Slow: ")
                    .await
                    .unwrap();
            } else {
                c.write_all(
                    b"POST /api/v1/auth/login HTTP/1.1\r\nHost: cofre\r\nContent-Type: application/json\r\nContent-Length: 52428800\r\n\r\n{\"user",
                )
                .await
                .unwrap();
            }
            stalled.push(c);
        }
        // Over the cap: refused at once.
        let mut extra = connect_from(&s, &from).await;
        let _ = extra
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: cofre\r\n\r\n")
            .await;
        let t = Instant::now();
        let (answer, closed) = read_until_closed(&mut extra, Duration::from_secs(3)).await;
        assert!(closed, "a connection over the per-address cap was held");
        assert!(answer.is_empty(), "over the cap yet answered: {answer}");
        assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    }
    // The stalled ones are still held (not a side effect of a restart or a close).
    for c in &mut stalled[..2] {
        let (_, closed) = read_until_closed(c, Duration::from_millis(200)).await;
        assert!(!closed);
    }

    // Another client (from 127.0.0.1) is served at its normal latency.
    let t = Instant::now();
    let r = s
        .http
        .get(format!("{}/healthz", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    let t = Instant::now();
    login(&s, "alice").await;
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    drop(stalled);
}
