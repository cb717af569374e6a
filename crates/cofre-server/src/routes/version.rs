//! `GET /api/v1/version`: the API version, the format version and the capabilities
//! this server offers, so a client can tell what it may use (docs/API.md).

use axum::routing::get;
use axum::{Json, Router};
use cofre_api::version::{API_VERSION, CAPABILITIES, FORMAT_VERSION, VersionInfo};

use crate::state::AppState;

/// The route.
pub fn router() -> Router<AppState> {
    Router::new().route("/version", get(version))
}

#[utoipa::path(
    get,
    path = "/api/v1/version",
    tag = "meta",
    summary = "The API version, format version and capabilities of this server (no login needed)",
    responses((status = 200, description = "OK", body = VersionInfo)),
)]
pub(crate) async fn version() -> Json<VersionInfo> {
    Json(VersionInfo {
        api: API_VERSION.to_owned(),
        server: env!("CARGO_PKG_VERSION").to_owned(),
        format: FORMAT_VERSION,
        capabilities: CAPABILITIES.iter().map(|c| (*c).to_owned()).collect(),
    })
}
