//! The accept loop: serves the router over plain TCP or TLS with the timeouts and
//! connection caps that keep slow or stalled clients (slowloris) from holding the
//! server, and shuts down gracefully.
//!
//! - A connection's first request must start (TLS handshake and headers included)
//!   within [`ConnectionLimits::header_timeout_secs`] of the accept, and every
//!   request's headers must arrive within that time once the server waits for them
//!   (HTTP/1.1, which also bounds how long a keep-alive connection waits for its next
//!   request).
//! - A request body that delivers no bytes for
//!   [`ConnectionLimits::body_idle_timeout_secs`] is answered `408 request_timeout`
//!   and the connection closed (the `body_idle` module).
//! - A connection with no request in progress and no bytes moving either way for
//!   [`ConnectionLimits::idle_timeout_secs`] is closed (the `activity` module).
//! - At most [`ConnectionLimits::max_connections`] connections are held, at most
//!   [`ConnectionLimits::max_connections_per_address`] from one direct TCP peer
//!   (trusted proxies excepted); over a cap a new connection is closed at once
//!   (the `caps` module).

mod activity;
pub(crate) mod body_idle;
mod caps;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use crate::config::IpNet;
use activity::{Activity, Tracked};
use caps::Caps;

/// How long a graceful shutdown waits for in-flight requests before it stops anyway.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Timeouts and connection caps (settings; [`Default`] gives the defaults).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Seconds a client has to send a request's headers (and, on a new connection,
    /// to finish the TLS handshake first). On HTTP/1.1 this also bounds how long a
    /// keep-alive connection waits for its next request. Default 30.
    pub header_timeout_secs: u64,
    /// Seconds a request body may deliver no bytes before the request is answered
    /// `408 request_timeout`. Default 30.
    pub body_idle_timeout_secs: u64,
    /// Seconds a connection with no request in progress may stay silent before it
    /// is closed. Default 60.
    pub idle_timeout_secs: u64,
    /// Connections held at once, in all. Default 1024.
    pub max_connections: usize,
    /// Connections held at once from one direct TCP peer address (trusted proxies
    /// excepted). Default 64.
    pub max_connections_per_address: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_timeout_secs: 30,
            body_idle_timeout_secs: 30,
            idle_timeout_secs: 60,
            max_connections: 1024,
            max_connections_per_address: 64,
        }
    }
}

impl ConnectionLimits {
    /// Checks the bounds; the message says which setting is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.header_timeout_secs == 0
            || self.body_idle_timeout_secs == 0
            || self.idle_timeout_secs == 0
        {
            return Err("the header, body-idle and idle timeouts must be at least 1 second".into());
        }
        if self.max_connections == 0 || self.max_connections_per_address == 0 {
            return Err("the connection caps must be at least 1".into());
        }
        if self.max_connections_per_address > self.max_connections {
            return Err("the per-address connection cap cannot exceed the global cap".into());
        }
        Ok(())
    }

    fn header(&self) -> Duration {
        Duration::from_secs(self.header_timeout_secs)
    }

    fn idle(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs)
    }

    /// The body-idle timeout.
    pub(crate) fn body_idle(&self) -> Duration {
        Duration::from_secs(self.body_idle_timeout_secs)
    }
}

/// Everything one connection task needs.
#[derive(Clone)]
struct Shared {
    app: Router,
    builder: Builder<TokioExecutor>,
    tls: Option<TlsAcceptor>,
    first: Duration,
    idle: Duration,
}

/// Serves `app` on `listener` (over TLS when `tls` is given) until `shutdown`
/// completes; then stops accepting, lets in-flight requests finish (at most
/// [`SHUTDOWN_GRACE`]) and returns. `trusted_proxies` are exempt from the
/// per-address cap.
pub(crate) async fn run(
    listener: TcpListener,
    app: Router,
    limits: &ConnectionLimits,
    trusted_proxies: Vec<IpNet>,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let caps = Caps::new(
        limits.max_connections,
        limits.max_connections_per_address,
        trusted_proxies,
    );
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header());
    builder.http2().timer(TokioTimer::new());
    let shared = Shared {
        app,
        builder,
        tls,
        first: limits.header(),
        idle: limits.idle(),
    };
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, say: wait a little rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let permit = match caps.admit(peer.ip()) {
            Ok(p) => p,
            Err(why) => {
                tracing::debug!(%peer, ?why, "connection refused: over the cap");
                drop(tcp);
                continue;
            }
        };
        // Without TCP_NODELAY a streamed body's first write waits for the client's
        // delayed ACK of the headers (about 40 ms per small download).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "could not set TCP_NODELAY");
        }
        let shared = shared.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _permit = permit;
            connection(tcp, peer, shared, watcher).await;
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("in-flight requests still running after the shutdown grace period");
        }
    }
    Ok(())
}

/// Serves one accepted connection until it ends, times out or the server stops.
async fn connection(tcp: TcpStream, peer: SocketAddr, shared: Shared, watcher: Watcher) {
    let activity = Activity::new();
    let io = Tracked::new(tcp, Arc::clone(&activity));
    match shared.tls.clone() {
        None => serve_io(io, peer, shared, watcher, activity).await,
        Some(acceptor) => match tokio::time::timeout(shared.first, acceptor.accept(io)).await {
            Ok(Ok(tls)) => serve_io(tls, peer, shared, watcher, activity).await,
            Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
            Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
        },
    }
}

async fn serve_io<I>(
    io: I,
    peer: SocketAddr,
    shared: Shared,
    watcher: Watcher,
    activity: Arc<Activity>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let app = shared.app;
    let busy_on = Arc::clone(&activity);
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        let busy = busy_on.request_started();
        let mut app = app.clone();
        async move {
            let resp = tower_service::Service::call(&mut app, req.map(axum::body::Body::new)).await;
            drop(busy);
            resp
        }
    });
    let conn = shared
        .builder
        .serve_connection(TokioIo::new(io), service)
        .into_owned();
    let conn = watcher.watch(conn);
    tokio::select! {
        r = conn => {
            if let Err(e) = r {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        }
        () = activity.idle(shared.first, shared.idle) => {
            tracing::debug!(%peer, "closing an idle connection");
        }
    }
}
