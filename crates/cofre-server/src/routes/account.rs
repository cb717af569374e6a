//! Password change (client re-wraps the user key; the server swaps the hash) and
//! account recovery with the recovery key.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use cofre_api::account::{
    ChangePasswordRequest, NewPassword, RecoverRequest, RecoveryKeysRequest, RecoveryKeysResponse,
};
use cofre_core::keys::{AccountKeys, AuthKey};

use crate::audit::Event;
use crate::auth::AuthSession;
use crate::auth::password::Priority;
use crate::error::{ApiError, ApiJson};
use crate::state::{AppState, ClientAddr};
use crate::store::users::User;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account/keys", get(account_keys))
        .route("/account/password", post(change_password))
        .route("/account/recover/keys", post(recovery_keys))
        .route("/account/recover", post(recover))
}

/// The caller's own key material (ciphertext and public key), to unlock on the client.
#[utoipa::path(
    get,
    path = "/api/v1/account/keys",
    tag = "account",
    summary = "The account's key material (public key and ciphertext)",
    responses((status = 200, description = "OK", body = cofre_api::schema::AccountKeysSchema), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn account_keys(
    State(app): State<AppState>,
    s: AuthSession,
) -> Result<Json<AccountKeys>, ApiError> {
    Ok(Json(s.account(&app).await?.keys))
}

/// The account keys with the new password's material swapped in.
fn with_new_password(keys: &AccountKeys, new: &NewPassword) -> Result<AccountKeys, ApiError> {
    AuthKey::from_text(new.auth_key.expose())
        .map_err(|_| ApiError::BadRequest("new auth_key is not a valid auth key".into()))?;
    new.kdf
        .validate()
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let mut k = keys.clone();
    k.kdf = new.kdf.clone();
    k.salt = new.salt;
    k.protected_user_key = new.protected_user_key.clone();
    Ok(k)
}

#[utoipa::path(
    post,
    path = "/api/v1/account/password",
    tag = "account",
    summary = "Change the password",
    request_body = ChangePasswordRequest,
    responses((status = 204, description = "Done"), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn change_password(
    State(app): State<AppState>,
    s: AuthSession,
    ApiJson(req): ApiJson<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    let now = crate::clock::now();
    let reservation = app
        .throttle
        .reserve(&app.store, app.throttle.session(&s.session_id))
        .await??;
    let account = s.account(&app).await?;
    if !app
        .hasher
        .verify(
            req.current_auth_key.expose(),
            Some(&account.auth_hash),
            Priority::Trusted,
        )
        .await?
    {
        app.audit_self(&s, "password.change", "failed").await;
        return Err(ApiError::InvalidCredentials);
    }
    app.throttle.refund(&app.store, reservation).await?;
    let new_keys = with_new_password(&account.keys, &req.new)?;
    let hash = app
        .hasher
        .hash(req.new.auth_key.expose(), Priority::Trusted)
        .await?;
    app.store
        .set_password(&s.user.id, &hash, &new_keys, now)
        .await?;
    app.store
        .revoke_user_sessions(&s.user.id, Some(&s.session_id), "password_change", now)
        .await?;
    app.audit_self(&s, "password.change", "ok").await;
    Ok(StatusCode::NO_CONTENT)
}

/// Checks a recovery auth key like a login: paid for in advance from the address's
/// budget (not the account's, so guesses elsewhere cannot block the owner's recovery),
/// same answer for unknown users, and for an admin-locked account the same answer
/// whether the key was right or not.
async fn check_recovery(
    app: &AppState,
    username: &str,
    key: &str,
    addr: &str,
) -> Result<User, ApiError> {
    let name = super::auth::login_name(username);
    let reservation = app
        .throttle
        .reserve(&app.store, app.throttle.recovery(addr))
        .await??;
    let user = app.store.user_by_name(&name).await?;
    let well_formed = AuthKey::from_text(key).is_ok();
    let hash = user
        .as_ref()
        .filter(|_| well_formed)
        .map(|u| u.recovery_hash.as_str());
    let ok = app.hasher.verify(key, hash, Priority::Login).await?;
    match (ok, user) {
        (_, Some(u)) if u.locked => Err(ApiError::AccountLocked),
        (true, Some(u)) => {
            app.throttle.refund(&app.store, reservation).await?;
            Ok(u)
        }
        _ => {
            app.audit(Event {
                event: "recovery",
                subject: Some(&name),
                address: Some(addr),
                outcome: "failed",
                ..Event::default()
            })
            .await;
            Err(ApiError::InvalidCredentials)
        }
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/account/recover/keys",
    tag = "account",
    summary = "Key material for recovery, with the recovery auth key",
    request_body = RecoveryKeysRequest,
    responses((status = 200, description = "OK", body = RecoveryKeysResponse), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
)]
pub(crate) async fn recovery_keys(
    State(app): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<RecoveryKeysRequest>,
) -> Result<Json<RecoveryKeysResponse>, ApiError> {
    let user = check_recovery(&app, &req.username, req.recovery_auth_key.expose(), &addr).await?;
    Ok(Json(RecoveryKeysResponse { keys: user.keys }))
}

#[utoipa::path(
    post,
    path = "/api/v1/account/recover",
    tag = "account",
    summary = "Set a new password with the recovery key",
    request_body = RecoverRequest,
    responses((status = 204, description = "Done"), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
)]
pub(crate) async fn recover(
    State(app): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<RecoverRequest>,
) -> Result<StatusCode, ApiError> {
    let user = check_recovery(&app, &req.username, req.recovery_auth_key.expose(), &addr).await?;
    let now = crate::clock::now();
    let new_keys = with_new_password(&user.keys, &req.new)?;
    let hash = app
        .hasher
        .hash(req.new.auth_key.expose(), Priority::Login)
        .await?;
    app.store
        .set_password(&user.id, &hash, &new_keys, now)
        .await?;
    app.store
        .revoke_user_sessions(&user.id, None, "account_recovery", now)
        .await?;
    app.audit(Event {
        event: "recovery",
        actor: Some(&user.id),
        subject: Some(&user.id),
        address: Some(&addr),
        outcome: "ok",
    })
    .await;
    Ok(StatusCode::NO_CONTENT)
}
