//! The error body every failing request gets, and its stable machine codes.

use serde::{Deserialize, Serialize};

/// `{ "error": { "code": "...", "message": "..." } }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The code (stable, for programs) and the message (for people).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine code.
    pub code: ErrorCode,
    /// Human-readable explanation.
    pub message: String,
}

/// Every error code the API answers with. The wire form is the snake_case name; codes
/// are never renamed or reused. A client meeting a code it does not know gets
/// [`ErrorCode::Unknown`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// No such route or resource.
    NotFound,
    /// The route exists but not with this method.
    MethodNotAllowed,
    /// The body is not valid JSON for this request, or a field is invalid.
    BadRequest,
    /// The body is larger than the server accepts.
    PayloadTooLarge,
    /// The request must be `application/json`.
    UnsupportedMediaType,
    /// The username breaks the username rules.
    InvalidUsername,
    /// The username is already registered.
    UsernameTaken,
    /// Registration is by invitation only and no valid invite was given.
    RegistrationClosed,
    /// Wrong username, auth key, one-time code or recovery code (always the same answer).
    InvalidCredentials,
    /// The password was right; a one-time code (or recovery code) is needed too.
    MfaRequired,
    /// The server requires every account to use MFA, and this one must enrol first.
    MfaEnrollmentRequired,
    /// A one-time code was wrong or already used (MFA management, not login).
    InvalidMfaCode,
    /// MFA is not enrolled (or not pending confirmation) for this account.
    MfaNotEnabled,
    /// MFA is already enabled.
    MfaAlreadyEnabled,
    /// Too many failures: wait `Retry-After` seconds.
    TooManyRequests,
    /// The account was locked by an administrator.
    AccountLocked,
    /// Missing, invalid, expired or revoked access token.
    Unauthorized,
    /// Missing, invalid, expired, reused or revoked refresh token.
    InvalidRefreshToken,
    /// Authenticated, but not allowed (for example a non-admin on an admin route).
    Forbidden,
    /// The request conflicts with the current state.
    Conflict,
    /// Something failed on the server; the details are in its log, not here.
    Internal,
    /// The server is not ready (for example the database is unreachable).
    Unavailable,
    /// The upload would take the account over its storage quota.
    QuotaExceeded,
    /// The item is larger than the server accepts for one item.
    ItemTooLarge,
    /// A body part was sent at an offset past what the server has received: ask
    /// `GET /items/{id}/upload` and resume from there.
    UploadOffsetMismatch,
    /// The upload is not complete (commit before every byte arrived).
    UploadIncomplete,
    /// Backups are not configured on this server.
    BackupsNotConfigured,
    /// A backup is already running.
    BackupRunning,
    /// The server's storage (its database or its blob folder) is full: the write was not
    /// done. Reads still work; writes work again once the operator frees space.
    InsufficientStorage,
    /// The client sent the request (its headers or body) too slowly: no bytes arrived
    /// within the server's timeout.
    RequestTimeout,
    /// A code this client does not know.
    #[serde(other)]
    Unknown,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_snake_case_and_unknown_codes_parse() {
        let body = ErrorBody {
            error: ErrorDetail {
                code: ErrorCode::InvalidCredentials,
                message: "m".into(),
            },
        };
        let json = serde_json::to_string(&body).unwrap();
        assert_eq!(
            json,
            r#"{"error":{"code":"invalid_credentials","message":"m"}}"#
        );
        let other: ErrorBody =
            serde_json::from_str(r#"{"error":{"code":"from_the_future","message":"x"}}"#).unwrap();
        assert_eq!(other.error.code, ErrorCode::Unknown);
    }
}
