//! What every handler shares: settings, the store, keys, the bcrypt pool, the audit log.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::audit::{AuditLog, Event};
use crate::auth::jwt::TokenKeys;
use crate::auth::password::Hasher;
use crate::auth::throttle::Throttle;
use crate::blobs::BlobStore;
use crate::config::ServerConfig;
use crate::secrets::ServerKeys;
use crate::store::Store;

/// Shared state (cheap to clone).
#[derive(Clone, Debug)]
pub struct AppState {
    /// Settings.
    pub config: Arc<ServerConfig>,
    /// The database.
    pub store: Store,
    /// The server's keys.
    pub keys: Arc<ServerKeys>,
    /// Access tokens.
    pub tokens: Arc<TokenKeys>,
    /// bcrypt.
    pub hasher: Hasher,
    /// Guessing defence.
    pub throttle: Throttle,
    /// Audit log.
    pub audit: Arc<AuditLog>,
    /// Item bodies.
    pub blobs: Arc<dyn BlobStore>,
    /// Backups run by the server.
    pub backups: Arc<crate::backup::schedule::Backups>,
    /// Uploads with a part being written right now by this process (across servers,
    /// a database lease per upload keeps one writer).
    pub uploads_busy: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
    /// This server's id as a lease holder: stable across restarts on the same data
    /// directory (see [`crate::lease::Instance`]).
    pub instance: Arc<str>,
    /// The instance slot this server holds locked while it runs.
    pub instance_slot: Arc<crate::lease::Instance>,
    /// This server's metrics (`GET /metrics`).
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Per-address limits of registration and prelogin (this process's buckets).
    pub anonymous_limits: Arc<AnonymousLimits>,
    /// The KDF parameters prelogin shows for unknown usernames.
    pub kdf_mix: Arc<crate::auth::fake_kdf::KdfMix>,
}

/// The per-address rate limits of the anonymous routes.
#[derive(Debug)]
pub struct AnonymousLimits {
    /// `POST /auth/register`.
    pub registration: crate::auth::rate_limit::RateLimiter,
    /// `POST /auth/prelogin`.
    pub prelogin: crate::auth::rate_limit::RateLimiter,
}

impl AnonymousLimits {
    /// From the settings.
    pub fn new(c: &ServerConfig) -> Self {
        use crate::auth::rate_limit::RateLimiter;
        use std::time::Duration;
        Self {
            registration: RateLimiter::new(
                c.registration_burst,
                Duration::from_secs(c.registration_refill_secs),
            ),
            prelogin: RateLimiter::new(
                c.prelogin_burst,
                Duration::from_secs(c.prelogin_refill_secs),
            ),
        }
    }
}

impl AppState {
    /// Records an audit event; a failure to record is logged, not fatal to the request.
    pub async fn audit(&self, e: Event<'_>) {
        self.metrics.audit(e.event, e.outcome);
        if let Err(err) = self
            .audit
            .record(&self.store, &e, crate::clock::now())
            .await
        {
            tracing::error!(error = %err, event = e.event, "could not write the audit log");
        }
    }
}

impl AppState {
    /// Records an event an account did to itself (actor and subject are the caller).
    pub async fn audit_self(&self, s: &crate::auth::AuthSession, event: &str, outcome: &str) {
        self.audit(Event {
            event,
            actor: Some(&s.user.id),
            subject: Some(&s.user.id),
            address: Some(&s.address),
            outcome,
        })
        .await;
    }
}

/// The client's address as text (for throttling and the audit log): the peer's
/// address, or, when the peer is a trusted proxy, the right-most address of
/// `X-Forwarded-For` that is not a trusted proxy. "unknown" without connection info.
pub fn client_address(parts: &axum::http::request::Parts, config: &ServerConfig) -> String {
    let Some(peer) = parts
        .extensions
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|ci| ci.0.ip())
    else {
        return "unknown".to_owned();
    };
    forwarded_client(
        peer,
        parts.headers.get_all("x-forwarded-for").iter(),
        config,
    )
    .to_string()
}

/// The client behind a chain of proxies. Walks `X-Forwarded-For` from the right (the
/// hop nearest to us) while the hops are trusted proxies; the first one that is not is
/// the client. A value that does not parse stops the walk at the last trusted hop, so
/// a client cannot pick its own address unless every proxy in front of it is trusted.
fn forwarded_client<'a>(
    peer: std::net::IpAddr,
    headers: impl DoubleEndedIterator<Item = &'a axum::http::HeaderValue>,
    config: &ServerConfig,
) -> std::net::IpAddr {
    let trusted = |ip: std::net::IpAddr| config.trusted_proxies.iter().any(|n| n.contains(ip));
    if !trusted(peer) {
        return peer;
    }
    let mut client = peer;
    for value in headers.rev() {
        let Ok(value) = value.to_str() else {
            return client;
        };
        for hop in value.rsplit(',') {
            let Ok(ip) = hop.trim().parse::<std::net::IpAddr>() else {
                return client;
            };
            client = ip;
            if !trusted(ip) {
                return ip;
            }
        }
    }
    client
}

/// The client's address, as an extractor (see [`client_address`]).
#[derive(Clone, Debug)]
pub struct ClientAddr(pub String);

impl axum::extract::FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(client_address(parts, &state.config)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(proxies: &[&str]) -> ServerConfig {
        let mut c = ServerConfig::new("/nonexistent".into(), "127.0.0.1:0".parse().unwrap());
        c.trusted_proxies = proxies.iter().map(|p| p.parse().unwrap()).collect();
        c
    }

    fn client(peer: &str, xff: &[&str], proxies: &[&str]) -> String {
        let values: Vec<axum::http::HeaderValue> = xff
            .iter()
            .map(|v| axum::http::HeaderValue::from_str(v).unwrap())
            .collect();
        forwarded_client(peer.parse().unwrap(), values.iter(), &config(proxies)).to_string()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        // No trusted proxy: the header is ignored (a client cannot spoof its address).
        assert_eq!(client("203.0.113.9", &["198.51.100.1"], &[]), "203.0.113.9");
        // From an untrusted peer, likewise.
        assert_eq!(
            client("203.0.113.9", &["198.51.100.1"], &["10.0.0.0/8"]),
            "203.0.113.9"
        );
        // From the trusted load balancer: the address it saw.
        assert_eq!(
            client("10.1.2.3", &["198.51.100.1"], &["10.0.0.0/8"]),
            "198.51.100.1"
        );
        // A client prepending a fake hop gets the address the proxy saw, not the fake.
        assert_eq!(
            client("10.1.2.3", &["6.6.6.6, 198.51.100.1"], &["10.0.0.0/8"]),
            "198.51.100.1"
        );
        // Two trusted hops, in one header or in two.
        assert_eq!(
            client("10.1.2.3", &["198.51.100.1, 10.9.9.9"], &["10.0.0.0/8"]),
            "198.51.100.1"
        );
        assert_eq!(
            client("10.1.2.3", &["198.51.100.1", "10.9.9.9"], &["10.0.0.0/8"]),
            "198.51.100.1"
        );
        // Garbage stops at the last trusted hop; no header leaves the proxy's address.
        assert_eq!(
            client("10.1.2.3", &["198.51.100.1, not-an-ip"], &["10.0.0.0/8"]),
            "10.1.2.3"
        );
        assert_eq!(client("10.1.2.3", &[], &["10.0.0.0/8"]), "10.1.2.3");
        // IPv6 networks and IPv4-mapped peers.
        assert_eq!(
            client("fd00::1", &["2001:db8::7"], &["fd00::/8"]),
            "2001:db8::7"
        );
        assert_eq!(
            client("::ffff:10.0.0.1", &["198.51.100.1"], &["10.0.0.0/8"]),
            "198.51.100.1"
        );
    }

    #[test]
    fn networks_parse_and_match() {
        let n: crate::config::IpNet = "192.168.0.0/16".parse().unwrap();
        assert!(n.contains("192.168.44.1".parse().unwrap()));
        assert!(!n.contains("192.169.0.1".parse().unwrap()));
        let all: crate::config::IpNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        let host: crate::config::IpNet = "10.0.0.5".parse().unwrap();
        assert!(host.contains("10.0.0.5".parse().unwrap()));
        assert!(!host.contains("10.0.0.6".parse().unwrap()));
        for bad in ["10.0.0.0/33", "fd00::/129", "nope", "10.0.0.0/x", ""] {
            assert!(bad.parse::<crate::config::IpNet>().is_err(), "{bad}");
        }
    }
}
