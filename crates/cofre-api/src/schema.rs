//! OpenAPI descriptions of values whose Rust types live in `cofre-core` (which has no
//! OpenAPI dependency) or are raw bytes. These types are never built: they only tell
//! the OpenAPI document the exact JSON shape the core's serde implementation writes
//! and reads, so no request or response in the document is an untyped object.

use utoipa::ToSchema;

/// The password KDF and its parameters (docs/FORMAT.md 9.2), tagged by `alg`.
#[derive(serde::Serialize, ToSchema)]
#[schema(
    as = KdfParams,
    example = json!({"alg": "argon2id", "memory_kib": 262144, "iterations": 3, "parallelism": 4})
)]
#[serde(tag = "alg", rename_all = "snake_case")]
pub enum KdfParamsSchema {
    /// Argon2id v1.3 with a 32-byte output.
    Argon2id {
        /// Memory in KiB (m).
        memory_kib: u32,
        /// Passes (t).
        iterations: u32,
        /// Lanes (p).
        parallelism: u32,
    },
    /// PBKDF2-HMAC-SHA256 with a 32-byte output.
    Pbkdf2Sha256 {
        /// Iteration count.
        iterations: u32,
    },
}

/// An account's key material as the server stores it: public values and ciphertext
/// only (docs/FORMAT.md 9.6). Every binary member is in the text form of section 10.
#[derive(serde::Serialize, ToSchema)]
#[schema(as = AccountKeys)]
pub struct AccountKeysSchema {
    /// The password KDF and its parameters.
    kdf: KdfParamsSchema,
    /// The 16-byte KDF salt.
    salt: String,
    /// The user key sealed under the stretched password key (sealed box, section 5).
    protected_user_key: String,
    /// The user key sealed under the recovery key's wrapping key.
    recovery_user_key: String,
    /// The RSA-3072 public key, SubjectPublicKeyInfo DER.
    public_key: String,
    /// The PKCS#8 private key sealed under the user key.
    protected_private_key: String,
}

/// A raw binary body (`application/octet-stream`): an item's encrypted body (a stream,
/// docs/FORMAT.md 8) or a backup archive.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct BinaryBody(Vec<u8>);
