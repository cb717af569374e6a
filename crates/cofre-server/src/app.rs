//! The router, and running it until a shutdown signal.

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;

use crate::config::{ConfigError, ServerConfig};
use crate::error::ApiError;
use crate::routes;

/// The whole HTTP API.
pub fn router() -> Router {
    Router::new()
        .merge(routes::health::router())
        .fallback(|| async { ApiError::NotFound })
}

/// Binds the listener after preparing the data directory. Separate from [`serve`] so a
/// caller can learn the bound address (port 0 picks a free one).
pub async fn bind(config: &ServerConfig) -> Result<TcpListener, ConfigError> {
    if config.prepare_data_dir()? {
        tracing::info!(data_dir = %config.data_dir.display(), "created data directory");
    }
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| ConfigError::Bind {
            addr: config.listen,
            source,
        })?;
    if config.is_exposed() {
        tracing::warn!(
            listen = %config.listen,
            "listening on a non-loopback address over plain HTTP: put TLS in front of it"
        );
    }
    Ok(listener)
}

/// Serves the API on `listener` until `shutdown` completes, then finishes in-flight
/// requests and returns.
pub async fn serve(
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr: SocketAddr = listener.local_addr()?;
    tracing::info!(%addr, "cofre server listening");
    axum::serve(listener, router())
        .with_graceful_shutdown(shutdown)
        .await?;
    tracing::info!("cofre server stopped");
    Ok(())
}
