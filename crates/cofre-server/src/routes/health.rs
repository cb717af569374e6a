//! Liveness and readiness probes for load balancers and orchestrators.

use axum::Json;
use axum::Router;
use axum::routing::get;
use serde::Serialize;

/// The probes' body.
#[derive(Debug, Serialize)]
pub struct Health {
    /// `"ok"` when the probe passes.
    pub status: &'static str,
    /// The server version.
    pub version: &'static str,
}

/// `GET /healthz` (the process is up) and `GET /readyz` (it can serve requests).
pub fn router() -> Router {
    Router::new()
        .route("/healthz", get(ok))
        .route("/readyz", get(ok))
}

async fn ok() -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}
