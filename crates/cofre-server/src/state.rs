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
    /// Uploads with a part being written right now (one writer per upload).
    pub uploads_busy: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
}

impl AppState {
    /// Records an audit event; a failure to record is logged, not fatal to the request.
    pub async fn audit(&self, e: Event<'_>) {
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

/// The client's address as text (for throttling and the audit log).
pub fn address(peer: &SocketAddr) -> String {
    peer.ip().to_string()
}

/// The client's address, as an extractor ("unknown" when the server was started
/// without connection info).
#[derive(Clone, Debug)]
pub struct ClientAddr(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<SocketAddr>>()
                .map_or_else(|| "unknown".to_owned(), |ci| address(&ci.0)),
        ))
    }
}
