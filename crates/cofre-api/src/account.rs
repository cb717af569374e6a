//! Password change and account recovery.

use cofre_core::format::SealedBox;
use cofre_core::keys::{AccountKeys, KdfParams, KdfSalt};
use serde::{Deserialize, Serialize};

use crate::SecretString;

/// The new password's material: the user key re-wrapped, the new auth key.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPassword {
    /// New auth key (text form).
    pub auth_key: SecretString,
    /// KDF parameters for the new password.
    #[schema(value_type = crate::schema::KdfParamsSchema)]
    pub kdf: KdfParams,
    /// Fresh salt.
    #[schema(value_type = String)]
    pub salt: KdfSalt,
    /// The user key sealed under the new stretched key.
    #[schema(value_type = String)]
    pub protected_user_key: SealedBox,
}

/// `POST /api/v1/account/password` (authenticated).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    /// The current auth key, proving the current password.
    pub current_auth_key: SecretString,
    /// The new password's material.
    pub new: NewPassword,
}

/// `POST /api/v1/account/recover/keys`: proves the recovery key, gets the account keys.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoveryKeysRequest {
    /// Username as typed.
    pub username: String,
    /// The recovery auth key (text form).
    pub recovery_auth_key: SecretString,
}

/// The account's keys, to open the recovery-wrapped user key on the client.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecoveryKeysResponse {
    /// The keys.
    #[schema(value_type = crate::schema::AccountKeysSchema)]
    pub keys: AccountKeys,
}

/// `POST /api/v1/account/recover`: sets a new password with the recovery key. Every
/// session is revoked; MFA stays as it was.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoverRequest {
    /// Username as typed.
    pub username: String,
    /// The recovery auth key (text form).
    pub recovery_auth_key: SecretString,
    /// The new password's material.
    pub new: NewPassword,
}
