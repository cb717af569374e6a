//! The loopback file server the browser tests use: real HTTP over 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;

use cofre_web::serve::{Asset, StaticServer, content_type};

fn request(server: &StaticServer, raw: &str) -> String {
    let mut s = TcpStream::connect(server.addr()).unwrap();
    s.write_all(raw.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn server() -> StaticServer {
    let mut assets = HashMap::new();
    assets.insert(
        "/index.html".to_owned(),
        Asset {
            content_type: content_type("index.html"),
            body: b"<p>hi</p>".to_vec(),
        },
    );
    assets.insert(
        "/app.js".to_owned(),
        Asset {
            content_type: content_type("app.js"),
            body: b"void 0;".to_vec(),
        },
    );
    StaticServer::start(assets).unwrap()
}

#[test]
fn serves_its_files_and_nothing_else() {
    let s = server();
    assert!(s.addr().ip().is_loopback());
    let ok = request(&s, "GET /app.js?x=1 HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
    assert!(ok.contains("Content-Type: text/javascript; charset=utf-8\r\n"));
    assert!(ok.contains("Content-Length: 7\r\n"));
    assert!(ok.ends_with("\r\n\r\nvoid 0;"));
    let root = request(&s, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(root.ends_with("<p>hi</p>"), "{root}");
    let head = request(&s, "HEAD /index.html HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(
        head.starts_with("HTTP/1.1 200 OK") && head.ends_with("\r\n\r\n"),
        "{head}"
    );
    for path in [
        "/missing.js",
        "/../Cargo.toml",
        "/index.html/",
        "//etc/passwd",
    ] {
        let r = request(&s, &format!("GET {path} HTTP/1.1\r\nHost: a\r\n\r\n"));
        assert!(r.starts_with("HTTP/1.1 404 Not Found"), "{path}: {r}");
    }
    let post = request(
        &s,
        "POST /index.html HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
    );
    assert!(post.starts_with("HTTP/1.1 405"), "{post}");
}

#[test]
fn content_types() {
    assert_eq!(content_type("a.html"), "text/html; charset=utf-8");
    assert_eq!(content_type("a.mjs"), "text/javascript; charset=utf-8");
    assert_eq!(content_type("sealed_box.json"), "application/json");
    assert_eq!(content_type("SHA256SUMS"), "application/octet-stream");
}

#[test]
fn stops_when_dropped() {
    let s = server();
    let addr = s.addr();
    drop(s);
    // Nothing answers on that port any more.
    let answered = TcpStream::connect(addr).ok().and_then(|mut c| {
        c.write_all(b"GET / HTTP/1.1\r\n\r\n").ok()?;
        let mut out = String::new();
        c.read_to_string(&mut out).ok()?;
        (!out.is_empty()).then_some(out)
    });
    assert!(answered.is_none(), "{answered:?}");
}
