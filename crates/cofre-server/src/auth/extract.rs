//! Extractors for protected routes: a valid access token for a live session of an
//! unlocked account, checked against the database on every request.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use cofre_api::Role;

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::users::User;

/// A caller with a valid session. On a server whose policy requires MFA, accounts
/// without MFA are refused here (`mfa_enrollment_required`); see [`EnrollingSession`].
#[derive(Debug)]
pub struct AuthSession {
    /// The account (read now, not from the token).
    pub user: User,
    /// The session id.
    pub session_id: String,
    /// The client address.
    pub address: String,
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
    let session = state
        .store
        .session(&claims.sid)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    if session.user_id != claims.sub || session.revoked_at.is_some() || session.expires_at <= now {
        return Err(ApiError::Unauthorized);
    }
    let user = state
        .store
        .user_by_id(&claims.sub)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    if user.locked {
        return Err(ApiError::AccountLocked);
    }
    let address = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ci| crate::state::address(&ci.0))
        .unwrap_or_default();
    Ok(AuthSession {
        user,
        session_id: session.id,
        address,
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
        if state.store.mfa_required().await? {
            let enabled = state
                .store
                .totp(&s.user.id)
                .await?
                .is_some_and(|t| t.enabled);
            if !enabled {
                return Err(ApiError::MfaEnrollmentRequired);
            }
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
