//! TOTP enrolment, confirmation, disabling and recovery codes.

use serde::{Deserialize, Serialize};

use crate::SecretString;

/// `GET /api/v1/mfa`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MfaStatus {
    /// TOTP is enabled.
    pub enabled: bool,
    /// An enrolment waits for confirmation.
    pub pending: bool,
    /// Unused recovery codes left.
    pub recovery_codes_left: u32,
}

/// `POST /api/v1/mfa/totp/enroll`: a new secret, not active until confirmed.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EnrollResponse {
    /// `otpauth://totp/...`, for an authenticator app (usually as a QR code).
    pub otpauth_uri: SecretString,
    /// The secret in base32, for typing it in by hand.
    pub secret_base32: SecretString,
}

/// A current TOTP code (confirm, disable, regenerate recovery codes).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// Six digits.
    pub code: SecretString,
}

/// Fresh one-time recovery codes: shown once, stored only as keyed hashes.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecoveryCodes {
    /// The codes.
    pub codes: Vec<SecretString>,
}
