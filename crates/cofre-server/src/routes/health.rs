//! Liveness and readiness probes for load balancers and orchestrators.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::state::AppState;

/// The probes' body.
#[derive(Debug, Serialize)]
pub struct Health {
    /// `"ok"` when the probe passes, `"unavailable"` otherwise.
    pub status: &'static str,
    /// The server version.
    pub version: &'static str,
}

/// `GET /healthz` (the process is up) and `GET /readyz` (the database answers).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(live))
        .route("/readyz", get(ready))
}

async fn live() -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

async fn ready(State(app): State<AppState>) -> (StatusCode, Json<Health>) {
    if app.store.ping().await {
        (StatusCode::OK, live().await)
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health {
                status: "unavailable",
                version: env!("CARGO_PKG_VERSION"),
            }),
        )
    }
}
