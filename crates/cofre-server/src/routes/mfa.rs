//! TOTP enrolment (confirmed by a code before it takes effect), disabling (needs a
//! current code), status, and one-time recovery codes. Every change revokes the
//! account's other sessions.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use cofre_api::SecretString;
use cofre_api::mfa::{CodeRequest, EnrollResponse, MfaStatus, RecoveryCodes};
use cofre_core::format::SealedBox;
use cofre_core::primitives::rand;
use cofre_core::totp::TotpSecret;

use super::auth::{open_totp, recovery_code_tag, totp_context};
use crate::auth::EnrollingSession;
use crate::auth::extract::AuthSession;
use crate::error::{ApiError, ApiJson};
use crate::state::AppState;

/// How many recovery codes an account gets.
pub const RECOVERY_CODES: usize = 10;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/mfa", get(status))
        .route("/mfa/totp/enroll", post(enroll))
        .route("/mfa/totp/confirm", post(confirm))
        .route("/mfa/totp/disable", post(disable))
        .route("/mfa/recovery-codes", post(regenerate_codes))
}

#[utoipa::path(
    get,
    path = "/api/v1/mfa",
    tag = "mfa",
    summary = "MFA status",
    responses((status = 200, description = "OK", body = MfaStatus), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn status(
    State(app): State<AppState>,
    EnrollingSession(s): EnrollingSession,
) -> Result<Json<MfaStatus>, ApiError> {
    let totp = app.store.totp(&s.user.id).await?;
    let left = app.store.recovery_codes_left(&s.user.id).await?;
    Ok(Json(MfaStatus {
        enabled: totp.as_ref().is_some_and(|t| t.enabled),
        pending: totp.as_ref().is_some_and(|t| !t.enabled),
        recovery_codes_left: u32::try_from(left).unwrap_or(0),
    }))
}

#[utoipa::path(
    post,
    path = "/api/v1/mfa/totp/enroll",
    tag = "mfa",
    summary = "Start TOTP enrolment",
    responses((status = 200, description = "OK", body = EnrollResponse), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn enroll(
    State(app): State<AppState>,
    EnrollingSession(s): EnrollingSession,
) -> Result<Json<EnrollResponse>, ApiError> {
    let secret = TotpSecret::generate().map_err(ApiError::internal)?;
    let sealed = SealedBox::seal(
        &app.keys.at_rest,
        &totp_context(&s.user.id),
        secret.expose_bytes(),
    )
    .map_err(ApiError::internal)?;
    let now = crate::clock::now();
    if !app
        .store
        .put_pending_totp(&s.user.id, &sealed.to_text(), now)
        .await?
    {
        return Err(ApiError::MfaAlreadyEnabled);
    }
    let uri = secret
        .otpauth_uri(&app.config.issuer, &s.user.username)
        .map_err(ApiError::internal)?;
    Ok(Json(EnrollResponse {
        otpauth_uri: SecretString::new(uri),
        secret_base32: SecretString::new(data_encoding::BASE32_NOPAD.encode(secret.expose_bytes())),
    }))
}

/// Checks a current code against the stored secret (pending or enabled) and records
/// its step, so it cannot be used again. Each check is paid for in advance from the
/// session's guessing budget (given back for a right code), so a stolen session cannot
/// guess codes faster than a login could.
async fn check_code(
    app: &AppState,
    user_id: &str,
    session_id: &str,
    code: &str,
    want_enabled: bool,
) -> Result<(), ApiError> {
    let reservation = app
        .throttle
        .reserve(&app.store, app.throttle.session(session_id))
        .await??;
    let totp = app
        .store
        .totp(user_id)
        .await?
        .filter(|t| t.enabled == want_enabled)
        .ok_or(ApiError::MfaNotEnabled)?;
    let secret = open_totp(app, user_id, &totp.secret_sealed)?;
    let now = u64::try_from(crate::clock::now()).unwrap_or(0);
    let step = secret.verify(code, now).map_err(ApiError::internal)?;
    match step.and_then(|s| i64::try_from(s).ok()) {
        Some(step) if app.store.use_totp_step(user_id, step).await? => {
            app.throttle.refund(&app.store, reservation).await?;
            Ok(())
        }
        _ => Err(ApiError::InvalidMfaCode),
    }
}

/// New codes: 10 groups of 4+4 base32 characters (40 bits each), stored as tags.
fn new_codes(app: &AppState, user_id: &str) -> Result<(Vec<SecretString>, Vec<String>), ApiError> {
    let mut shown = Vec::with_capacity(RECOVERY_CODES);
    let mut tags = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let raw = rand::array::<5>().map_err(ApiError::internal)?;
        let text = data_encoding::BASE32_NOPAD
            .encode(&raw)
            .to_ascii_lowercase();
        let (a, b) = text.split_at(4);
        let code = format!("{a}-{b}");
        tags.push(recovery_code_tag(app, user_id, &code));
        shown.push(SecretString::new(code));
    }
    Ok((shown, tags))
}

#[utoipa::path(
    post,
    path = "/api/v1/mfa/totp/confirm",
    tag = "mfa",
    summary = "Confirm enrolment with a code; returns recovery codes",
    request_body = CodeRequest,
    responses((status = 200, description = "OK", body = RecoveryCodes), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn confirm(
    State(app): State<AppState>,
    EnrollingSession(s): EnrollingSession,
    ApiJson(req): ApiJson<CodeRequest>,
) -> Result<Json<RecoveryCodes>, ApiError> {
    check_code(&app, &s.user.id, &s.session_id, req.code.expose(), false).await?;
    let (codes, tags) = new_codes(&app, &s.user.id)?;
    app.store.enable_totp(&s.user.id, &tags).await?;
    app.store
        .revoke_user_sessions(
            &s.user.id,
            Some(&s.session_id),
            "mfa_change",
            crate::clock::now(),
        )
        .await?;
    app.audit_self(&s, "mfa.enable", "ok").await;
    Ok(Json(RecoveryCodes { codes }))
}

#[utoipa::path(
    post,
    path = "/api/v1/mfa/totp/disable",
    tag = "mfa",
    summary = "Turn TOTP off",
    request_body = CodeRequest,
    responses((status = 204, description = "Done"), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn disable(
    State(app): State<AppState>,
    s: AuthSession,
    ApiJson(req): ApiJson<CodeRequest>,
) -> Result<StatusCode, ApiError> {
    check_code(&app, &s.user.id, &s.session_id, req.code.expose(), true).await?;
    app.store.disable_totp(&s.user.id).await?;
    app.store
        .revoke_user_sessions(
            &s.user.id,
            Some(&s.session_id),
            "mfa_change",
            crate::clock::now(),
        )
        .await?;
    app.audit_self(&s, "mfa.disable", "ok").await;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/v1/mfa/recovery-codes",
    tag = "mfa",
    summary = "Replace the recovery codes",
    request_body = CodeRequest,
    responses((status = 200, description = "OK", body = RecoveryCodes), (status = "4XX", description = "Error", body = cofre_api::ErrorBody)),
    security(("bearer" = [])),
)]
pub(crate) async fn regenerate_codes(
    State(app): State<AppState>,
    s: AuthSession,
    ApiJson(req): ApiJson<CodeRequest>,
) -> Result<Json<RecoveryCodes>, ApiError> {
    check_code(&app, &s.user.id, &s.session_id, req.code.expose(), true).await?;
    let (codes, tags) = new_codes(&app, &s.user.id)?;
    app.store.replace_recovery_codes(&s.user.id, &tags).await?;
    app.audit_self(&s, "mfa.recovery_codes", "ok").await;
    Ok(Json(RecoveryCodes { codes }))
}
