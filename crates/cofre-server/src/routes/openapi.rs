//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of this API, generated from the
//! handlers' annotations and the `cofre-api` types, so it cannot drift from the code.

use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{account, admin, auth, items, mfa, rotation, shares, version};
use crate::state::AppState;

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "cofre API",
        description = "The HTTP API of cofre, an end-to-end encrypted vault. Errors are \
            `{\"error\":{\"code\",\"message\"}}` with the codes listed in docs/ACCOUNTS.md."
    ),
    paths(
        auth::policy, auth::jwks, auth::prelogin, auth::register, auth::login, auth::refresh,
        auth::logout, auth::logout_all, auth::whoami,
        account::account_keys, account::change_password, account::recovery_keys, account::recover,
        mfa::status, mfa::enroll, mfa::confirm, mfa::disable, mfa::regenerate_codes,
        admin::users, admin::lock, admin::unlock, admin::force_logout, admin::delete_user,
        admin::reset_mfa,
        admin::invite, admin::policy, admin::audit, admin::backups, admin::start_backup,
        items::create, items::upload_status, items::upload_part, items::commit, items::list,
        items::usage, items::pending_uploads, items::replace, items::cancel_upload, items::get_item, items::download, items::set_metadata, items::set_owner_metadata, items::delete_item,
        shares::share, shares::list_shares, shares::unshare, shares::shared_with_me,
        shares::hide, shares::public_key,
        rotation::status, rotation::start, rotation::outgoing, rotation::rewrap, rotation::finish,
        version::version,
    ),
    modifiers(&BearerAuth, &EmptyPartAllowed),
    tags(
        (name = "auth", description = "Registration, login, tokens"),
        (name = "account", description = "Password change and recovery"),
        (name = "mfa", description = "Two-factor authentication (TOTP)"),
        (name = "admin", description = "Administration (admin role)"),
        (name = "items", description = "The vault: notes and files, ciphertext only"),
        (name = "sharing", description = "Sharing items with other accounts"),
        (name = "meta", description = "What this server speaks: API version, formats, capabilities"),
    )
)]
pub struct ApiDoc;

/// Declares the `bearer` security scheme (access-token JWTs).
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// A part of an upload may be empty (`PUT /items/{id}/body` with no bytes is a no-op
/// that answers the upload's status), so its body is not required.
struct EmptyPartAllowed;

impl Modify for EmptyPartAllowed {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(utoipa::openapi::RefOr::T(body)) = openapi
            .paths
            .paths
            .get_mut("/api/v1/items/{id}/body")
            .and_then(|p| p.put.as_mut())
            .and_then(|op| op.request_body.as_mut())
        {
            body.required = Some(utoipa::openapi::Required::False);
        }
    }
}

/// The route serving the document.
pub fn router() -> Router<AppState> {
    Router::new().route("/openapi.json", get(document))
}

async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
