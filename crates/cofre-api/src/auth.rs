//! Registration, prelogin, login, refresh and logout.

use cofre_core::keys::{AccountKeys, KdfParams, KdfSalt};
use serde::{Deserialize, Serialize};

use crate::{Role, SecretString};

/// `POST /api/v1/auth/prelogin`: which KDF to run before logging in.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreloginRequest {
    /// The username as typed (normalized by the server).
    pub username: String,
}

/// The KDF salt and parameters. For a username without an account these are
/// deterministic fakes, indistinguishable from real ones.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PreloginResponse {
    /// KDF and parameters.
    #[schema(value_type = crate::schema::KdfParamsSchema)]
    pub kdf: KdfParams,
    /// KDF salt.
    #[schema(value_type = String)]
    pub salt: KdfSalt,
}

/// `POST /api/v1/auth/register`.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// The wanted username (see [`crate::username`]).
    pub username: String,
    /// The auth key (text form), never the password.
    pub auth_key: SecretString,
    /// The recovery auth key (text form), derived from the recovery key.
    pub recovery_auth_key: SecretString,
    /// Public keys and ciphertext only.
    #[schema(value_type = crate::schema::AccountKeysSchema)]
    pub keys: AccountKeys,
    /// An invite token, when registration is by invitation.
    #[serde(default)]
    pub invite: Option<SecretString>,
}

/// The new account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RegisterResponse {
    /// Its id.
    pub user_id: String,
    /// The normalized username.
    pub username: String,
    /// Its role (the first account is an admin).
    pub role: Role,
}

/// `POST /api/v1/auth/login`.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The username as typed.
    pub username: String,
    /// The auth key (text form).
    pub auth_key: SecretString,
    /// The current TOTP code, when the account uses MFA.
    #[serde(default)]
    pub totp: Option<SecretString>,
    /// Or one of the account's one-time MFA recovery codes.
    #[serde(default)]
    pub mfa_recovery_code: Option<SecretString>,
    /// The device token an earlier login of this account returned: the attempt then
    /// spends from that device's own guessing budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_token: Option<SecretString>,
}

/// A new session (login) or its next tokens (refresh).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SessionTokens {
    /// The access token (a JWT), sent as `Authorization: Bearer ...`.
    pub access_token: SecretString,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The opaque refresh token: single use, rotated on every refresh.
    pub refresh_token: SecretString,
    /// The session id (the access token's `sid`).
    pub session_id: String,
}

/// What a login returns: the session, who is logged in, and their key material.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LoginResponse {
    /// Tokens.
    #[serde(flatten)]
    pub tokens: SessionTokens,
    /// The account.
    pub user: UserInfo,
    /// The account's keys (ciphertext and public keys), to unlock on the client.
    #[schema(value_type = crate::schema::AccountKeysSchema)]
    pub keys: AccountKeys,
    /// A device token for this account (the one presented, if it was valid): keep it
    /// secret and present it on later logins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_token: Option<SecretString>,
}

/// `POST /api/v1/auth/refresh` and `POST /api/v1/auth/logout`.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh.
    pub refresh_token: SecretString,
}

/// An account as its owner (or an admin) sees it: no keys, no secrets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserInfo {
    /// Account id.
    pub user_id: String,
    /// Normalized username.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Whether TOTP is enabled.
    pub mfa_enabled: bool,
}

/// `GET /api/v1/auth/whoami`: the account and the current session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WhoAmI {
    /// The account.
    #[serde(flatten)]
    pub user: UserInfo,
    /// The current session's id.
    pub session_id: String,
}

/// `GET /api/v1/policy`: what the server requires; the client enforces the password
/// rules before it derives anything.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Policy {
    /// Minimum password length, in characters.
    pub password_min_length: usize,
    /// Minimum zxcvbn score (0 to 4).
    pub password_min_score: u8,
    /// Whether anyone may register (otherwise an invite is needed).
    pub open_registration: bool,
    /// Whether every account must use MFA.
    pub mfa_required: bool,
    /// Whether a registration without an invite would be refused now: registration is
    /// by invitation and the server has its first account. Clients check it before
    /// the expensive key derivation; servers before this field leave it out (`false`).
    #[serde(default)]
    pub invite_required: bool,
    /// The KDF parameters new accounts get.
    #[schema(value_type = crate::schema::KdfParamsSchema)]
    pub kdf: KdfParams,
}

/// One key of the JWKS document (`GET /api/v1/auth/jwks`): an Ed25519 public key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Jwk {
    /// `OKP`.
    pub kty: String,
    /// `Ed25519`.
    pub crv: String,
    /// The public key, base64url.
    pub x: String,
    /// The key id tokens name in their `kid` header.
    pub kid: String,
    /// `EdDSA`.
    pub alg: String,
    /// `sig`.
    #[serde(rename = "use")]
    pub use_: String,
}

/// The JWKS document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JwkSet {
    /// Every key that may have signed a still-valid token.
    pub keys: Vec<Jwk>,
}
