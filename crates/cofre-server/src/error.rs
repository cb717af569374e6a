//! The API error type: every failure leaves the server as JSON
//! `{"error":{"code":"…","message":"…"}}` with a stable machine code
//! ([`cofre_api::ErrorCode`]). Internal causes are logged, never sent.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cofre_api::ErrorCode;
use cofre_api::error::{ErrorBody, ErrorDetail};

/// An error answered to a client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// No route or resource.
    #[error("no such route or resource")]
    NotFound,
    /// Wrong method for the route.
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    /// Invalid body or field.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Body over the limit.
    #[error("request body too large")]
    PayloadTooLarge,
    /// Not JSON.
    #[error("expected a JSON body (Content-Type: application/json)")]
    UnsupportedMediaType,
    /// Username breaks the rules.
    #[error("invalid username: {0}")]
    InvalidUsername(String),
    /// Username exists.
    #[error("this username is taken")]
    UsernameTaken,
    /// Invitation needed.
    #[error("registration needs a valid invite from an administrator")]
    RegistrationClosed,
    /// Any credential failure (always the same answer).
    #[error("invalid username or credentials")]
    InvalidCredentials,
    /// Password right, second factor needed.
    #[error("a one-time code or an MFA recovery code is required")]
    MfaRequired,
    /// Policy requires MFA and the account has none.
    #[error("this server requires MFA: enrol first (cofre mfa enable)")]
    MfaEnrollmentRequired,
    /// Wrong or replayed code while managing MFA.
    #[error("the one-time code is wrong or was already used")]
    InvalidMfaCode,
    /// No MFA (or no pending enrolment).
    #[error("MFA is not enabled (or no enrolment is pending)")]
    MfaNotEnabled,
    /// Already enabled.
    #[error("MFA is already enabled")]
    MfaAlreadyEnabled,
    /// Throttled.
    #[error("too many failed attempts: try again in {retry_after} seconds")]
    TooManyRequests {
        /// Seconds to wait.
        retry_after: i64,
    },
    /// Over a per-address rate limit of an anonymous route (registration, prelogin).
    #[error("too many requests from this address: try again in {retry_after} seconds")]
    RateLimited {
        /// Seconds to wait.
        retry_after: i64,
    },
    /// Locked by an admin.
    #[error("this account is locked; contact an administrator")]
    AccountLocked,
    /// No valid access token.
    #[error("missing, invalid, expired or revoked access token")]
    Unauthorized,
    /// No valid refresh token.
    #[error("invalid, expired, reused or revoked refresh token; log in again")]
    InvalidRefreshToken,
    /// Not allowed.
    #[error("not allowed")]
    Forbidden,
    /// Conflicts with the current state.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A server-side failure; the cause is logged.
    #[error("internal error")]
    Internal(String),
    /// The request body stalled (no bytes within the body-idle timeout).
    #[error("the request body stalled: no bytes arrived within the server's timeout")]
    RequestTimeout,
    /// Overloaded or not ready.
    #[error("the server is busy or not ready; retry shortly")]
    Unavailable,
    /// Over the storage quota.
    #[error(
        "storage quota exceeded: {used} of {quota} bytes used, this needs {needed} more{}",
        pending_note(*pending)
    )]
    QuotaExceeded {
        /// Bytes used.
        used: u64,
        /// Of those, bytes reserved by unfinished uploads.
        pending: u64,
        /// The quota.
        quota: u64,
        /// Bytes this request needs.
        needed: u64,
    },
    /// One item over the limit.
    #[error("item too large: the limit is {max} bytes")]
    ItemTooLarge {
        /// The limit.
        max: u64,
    },
    /// A part past the received bytes.
    #[error("upload offset {offset} is past the {received} bytes received; resume from {received}")]
    UploadOffsetMismatch {
        /// Requested.
        offset: u64,
        /// Received so far.
        received: u64,
    },
    /// No backup folder or key.
    #[error(
        "backups are not configured on this server (start it with --backup-dir and --backup-key)"
    )]
    BackupsNotConfigured,
    /// A run is in progress.
    #[error("a backup is already running")]
    BackupRunning,
    /// The database or the blob folder is full; the write was not done.
    #[error(
        "the server's storage is full: the write was not done (reads still work; retry once space is freed)"
    )]
    InsufficientStorage(crate::disk_full::Storage),
    /// Commit before the upload is complete.
    #[error("upload incomplete: {received} of {size} bytes received")]
    UploadIncomplete {
        /// Received so far.
        received: u64,
        /// Declared.
        size: u64,
    },
}

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::BadRequest(_) | Self::InvalidUsername(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::UsernameTaken
            | Self::Conflict(_)
            | Self::MfaAlreadyEnabled
            | Self::MfaNotEnabled => StatusCode::CONFLICT,
            Self::RegistrationClosed
            | Self::Forbidden
            | Self::AccountLocked
            | Self::MfaEnrollmentRequired => StatusCode::FORBIDDEN,
            Self::InvalidCredentials
            | Self::MfaRequired
            | Self::Unauthorized
            | Self::InvalidRefreshToken => StatusCode::UNAUTHORIZED,
            Self::InvalidMfaCode => StatusCode::BAD_REQUEST,
            Self::TooManyRequests { .. } | Self::RateLimited { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::QuotaExceeded { .. } | Self::ItemTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UploadOffsetMismatch { .. }
            | Self::UploadIncomplete { .. }
            | Self::BackupsNotConfigured
            | Self::BackupRunning => StatusCode::CONFLICT,
            Self::InsufficientStorage(_) => StatusCode::INSUFFICIENT_STORAGE,
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotFound => ErrorCode::NotFound,
            Self::MethodNotAllowed => ErrorCode::MethodNotAllowed,
            Self::BadRequest(_) => ErrorCode::BadRequest,
            Self::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            Self::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
            Self::InvalidUsername(_) => ErrorCode::InvalidUsername,
            Self::UsernameTaken => ErrorCode::UsernameTaken,
            Self::RegistrationClosed => ErrorCode::RegistrationClosed,
            Self::InvalidCredentials => ErrorCode::InvalidCredentials,
            Self::MfaRequired => ErrorCode::MfaRequired,
            Self::MfaEnrollmentRequired => ErrorCode::MfaEnrollmentRequired,
            Self::InvalidMfaCode => ErrorCode::InvalidMfaCode,
            Self::MfaNotEnabled => ErrorCode::MfaNotEnabled,
            Self::MfaAlreadyEnabled => ErrorCode::MfaAlreadyEnabled,
            Self::TooManyRequests { .. } | Self::RateLimited { .. } => ErrorCode::TooManyRequests,
            Self::AccountLocked => ErrorCode::AccountLocked,
            Self::Unauthorized => ErrorCode::Unauthorized,
            Self::InvalidRefreshToken => ErrorCode::InvalidRefreshToken,
            Self::Forbidden => ErrorCode::Forbidden,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::Internal(_) => ErrorCode::Internal,
            Self::Unavailable => ErrorCode::Unavailable,
            Self::RequestTimeout => ErrorCode::RequestTimeout,
            Self::QuotaExceeded { .. } => ErrorCode::QuotaExceeded,
            Self::ItemTooLarge { .. } => ErrorCode::ItemTooLarge,
            Self::UploadOffsetMismatch { .. } => ErrorCode::UploadOffsetMismatch,
            Self::UploadIncomplete { .. } => ErrorCode::UploadIncomplete,
            Self::BackupsNotConfigured => ErrorCode::BackupsNotConfigured,
            Self::BackupRunning => ErrorCode::BackupRunning,
            Self::InsufficientStorage(_) => ErrorCode::InsufficientStorage,
        }
    }

    /// An internal error with its cause (logged, not sent).
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        if crate::disk_full::is_disk_full(&e) {
            return Self::InsufficientStorage(crate::disk_full::Storage::Database);
        }
        Self::internal(e)
    }
}

impl From<crate::blobs::BlobError> for ApiError {
    fn from(e: crate::blobs::BlobError) -> Self {
        use crate::blobs::BlobError;
        match e {
            BlobError::NotFound => Self::NotFound,
            BlobError::TooLarge => Self::PayloadTooLarge,
            BlobError::Offset { offset, received } => {
                Self::UploadOffsetMismatch { offset, received }
            }
            BlobError::Body(e) => Self::BadRequest(format!("request body: {e}")),
            BlobError::Io(e) if crate::disk_full::is_disk_full(&e) => {
                Self::InsufficientStorage(crate::disk_full::Storage::Blobs)
            }
            e => Self::internal(e),
        }
    }
}

impl From<crate::auth::password::HashError> for ApiError {
    fn from(e: crate::auth::password::HashError) -> Self {
        match e {
            crate::auth::password::HashError::Busy
            | crate::auth::password::HashError::RegistrationsBusy => Self::Unavailable,
            e => Self::internal(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            tracing::error!(%cause, "internal error");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.to_string(),
            },
        };
        let mut resp = (self.status(), Json(body)).into_response();
        // For the metrics (crate::metrics::track): the code, never the message.
        resp.extensions_mut().insert(self.code());
        // For the log line, which names the full part's path (see `disk_full`).
        if let Self::InsufficientStorage(which) = self {
            resp.extensions_mut().insert(which);
        }
        if let Self::TooManyRequests { retry_after } | Self::RateLimited { retry_after } = self
            && let Ok(v) = HeaderValue::from_str(&retry_after.max(1).to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

/// A JSON body whose rejections (bad JSON, wrong type, too large, not JSON) become
/// [`ApiError`]s with stable codes.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Self(v)),
            Err(rejection) => Err(from_rejection(&rejection)),
        }
    }
}

fn from_rejection(r: &JsonRejection) -> ApiError {
    match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
        _ => ApiError::BadRequest(r.body_text()),
    }
}

/// The part of the quota message about unfinished uploads, when there are any.
fn pending_note(pending: u64) -> String {
    if pending == 0 {
        String::new()
    } else {
        format!(
            " ({pending} of the bytes used are unfinished uploads: `cofre uploads` lists them, \
             `cofre uploads cancel` frees them)"
        )
    }
}
