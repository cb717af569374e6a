//! Extractors for protected routes: a valid access token for a live session of an
//! unlocked account, checked against the database on every request (one query reads
//! the session, the account, its TOTP state and the MFA policy; nothing of it is
//! cached, so a revocation, lock, role or policy change applies to the next request,
//! whichever server process made it).

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use cofre_api::Role;

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::sessions::SessionUser;
use crate::store::users::User;

/// A caller with a valid session. On a server whose policy requires MFA, accounts
/// without MFA are refused here (`mfa_enrollment_required`); see [`EnrollingSession`].
#[derive(Debug)]
pub struct AuthSession {
    /// The account: id, username, role (read now, not from the token). Routes that
    /// need its key material or hashes read the full row with [`Self::account`].
    pub user: SessionUser,
    /// The session id.
    pub session_id: String,
    /// The client address.
    pub address: String,
    /// Whether the account has TOTP enabled (read with the session).
    pub mfa_enabled: bool,
    /// Whether the server's policy requires MFA (read with the session).
    mfa_required: bool,
}

impl AuthSession {
    /// The caller's full account row (key material, hashes), read now. An account
    /// deleted since the session was checked is `unauthorized`.
    pub async fn account(&self, state: &AppState) -> Result<User, ApiError> {
        state
            .store
            .user_by_id(&self.user.id)
            .await?
            .ok_or(ApiError::Unauthorized)
    }
}

/// Like [`AuthSession`] but also admits an account that still has to enrol in MFA
/// (for the MFA, whoami and logout routes).
#[derive(Debug)]
pub struct EnrollingSession(pub AuthSession);

/// An [`AuthSession`] of an admin; anyone else gets 403.
#[derive(Debug)]
pub struct AdminSession(pub AuthSession);

async fn authenticate(parts: &mut Parts, state: &AppState) -> Result<AuthSession, ApiError> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::Unauthorized)?;
    let (scheme, token) = header.split_once(' ').ok_or(ApiError::Unauthorized)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::Unauthorized);
    }
    let claims = state.tokens.verify(token.trim()).map_err(|e| {
        tracing::debug!(error = %e, "access token refused");
        ApiError::Unauthorized
    })?;
    let now = crate::clock::now();
    let auth = state
        .store
        .session_auth(&claims.sid)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let session = auth.session;
    if session.user_id != claims.sub || session.revoked_at.is_some() || session.expires_at <= now {
        return Err(ApiError::Unauthorized);
    }
    if auth.user.locked {
        return Err(ApiError::AccountLocked);
    }
    let address = crate::state::client_address(parts, &state.config);
    Ok(AuthSession {
        user: auth.user,
        session_id: session.id,
        address,
        mfa_enabled: auth.mfa_enabled,
        mfa_required: auth.mfa_required,
    })
}

impl FromRequestParts<AppState> for EnrollingSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        authenticate(parts, state).await.map(Self)
    }
}

impl FromRequestParts<AppState> for AuthSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let s = authenticate(parts, state).await?;
        if s.mfa_required && !s.mfa_enabled {
            return Err(ApiError::MfaEnrollmentRequired);
        }
        Ok(s)
    }
}

impl FromRequestParts<AppState> for AdminSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let s = AuthSession::from_request_parts(parts, state).await?;
        if s.user.role != Role::Admin {
            return Err(ApiError::Forbidden);
        }
        Ok(Self(s))
    }
}
