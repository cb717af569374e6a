//! The server's own secret (not part of any user's key hierarchy): it derives the
//! deterministic fake KDF salt and the choice of fake KDF parameters that prelogin
//! answers for unknown usernames, and keys the tags under which MFA recovery codes are
//! stored and the tags of device tokens.

use super::KdfSalt;
use crate::Result;
use crate::primitives::hmac::HmacKey;
use crate::secret::SecretBytes;

/// HMAC label for fake prelogin salts.
pub const LABEL_FAKE_SALT: &[u8] = b"cofre/v1/server/fake-salt";
/// HMAC label for the choice of fake prelogin KDF parameters.
pub const LABEL_FAKE_KDF: &[u8] = b"cofre/v1/server/fake-kdf";
/// HMAC label for MFA recovery-code tags.
pub const LABEL_RECOVERY_CODE: &[u8] = b"cofre/v1/server/mfa-recovery-code";
/// HMAC label for device tokens.
pub const LABEL_DEVICE_TOKEN: &[u8] = b"cofre/v1/server/device-token";

/// A 32-byte server secret. Zeroized on drop, never printed.
pub struct ServerSecret(SecretBytes<32>);

impl ServerSecret {
    /// A fresh secret.
    pub fn generate() -> Result<Self> {
        Ok(Self(SecretBytes::random()?))
    }

    /// A secret from its stored bytes (exactly 32).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Ok(Self(SecretBytes::from_slice(bytes)?))
    }

    /// The raw bytes, to store them (owner-only file).
    pub fn expose_bytes(&self) -> &[u8; 32] {
        self.0.expose()
    }

    /// The salt prelogin returns for a username that has no account: the first 16 bytes
    /// of HMAC-SHA256(secret, label || 0x00 || username). Deterministic, so repeated
    /// queries give the same answer, and unpredictable without the secret.
    pub fn fake_salt(&self, normalized_username: &str) -> KdfSalt {
        let tag = HmacKey::new(self.0.expose()).sign(&[
            LABEL_FAKE_SALT,
            &[0],
            normalized_username.as_bytes(),
        ]);
        let (salt, _) = tag
            .split_first_chunk::<{ super::kdf::SALT_LEN }>()
            .unwrap_or((&[0; 16], &[]));
        KdfSalt(*salt)
    }

    /// A number that picks the KDF parameters prelogin returns for a username that has
    /// no account: the first 8 bytes (big-endian) of HMAC-SHA256(secret, label || 0x00
    /// || username). Deterministic, unpredictable without the secret, and independent of
    /// [`ServerSecret::fake_salt`] (another label), so the salt says nothing of it.
    pub fn fake_kdf_choice(&self, normalized_username: &str) -> u64 {
        let tag = HmacKey::new(self.0.expose()).sign(&[
            LABEL_FAKE_KDF,
            &[0],
            normalized_username.as_bytes(),
        ]);
        let (head, _) = tag.split_first_chunk::<8>().unwrap_or((&[0; 8], &[]));
        u64::from_be_bytes(*head)
    }

    /// The tag under which a recovery code is stored: HMAC-SHA256(secret, label || 0x00
    /// || user id || 0x00 || code). A stolen database without the secret does not let
    /// anyone test guesses offline.
    pub fn recovery_code_tag(&self, user_id: &str, code: &str) -> [u8; 32] {
        HmacKey::new(self.0.expose()).sign(&[
            LABEL_RECOVERY_CODE,
            &[0],
            user_id.as_bytes(),
            &[0],
            code.as_bytes(),
        ])
    }
}

impl ServerSecret {
    /// The tag of a device token: HMAC-SHA256(secret, label || 0x00 || user id || 0x00
    /// || device id). It binds a device id to one account.
    pub fn device_token_tag(&self, user_id: &str, device_id: &[u8]) -> [u8; 32] {
        HmacKey::new(self.0.expose()).sign(&[
            LABEL_DEVICE_TOKEN,
            &[0],
            user_id.as_bytes(),
            &[0],
            device_id,
        ])
    }

    /// Whether `tag` is the device-token tag of `device_id` for `user_id` (constant
    /// time).
    pub fn device_token_valid(&self, user_id: &str, device_id: &[u8], tag: &[u8]) -> bool {
        HmacKey::new(self.0.expose())
            .verify(
                &[
                    LABEL_DEVICE_TOKEN,
                    &[0],
                    user_id.as_bytes(),
                    &[0],
                    device_id,
                ],
                tag,
            )
            .is_ok()
    }
}

impl std::fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerSecret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_token_tags_bind_the_account_and_the_secret() {
        let a = ServerSecret::generate().unwrap();
        let b = ServerSecret::generate().unwrap();
        let tag = a.device_token_tag("u1", b"dev");
        assert!(a.device_token_valid("u1", b"dev", &tag));
        assert!(!a.device_token_valid("u2", b"dev", &tag));
        assert!(!a.device_token_valid("u1", b"dew", &tag));
        assert!(!b.device_token_valid("u1", b"dev", &tag));
        assert!(!a.device_token_valid("u1", b"dev", &tag[..31]));
    }

    #[test]
    fn fake_salt_is_deterministic_per_user_and_secret() {
        let a = ServerSecret::generate().unwrap();
        let b = ServerSecret::generate().unwrap();
        assert_eq!(a.fake_salt("alice"), a.fake_salt("alice"));
        assert_ne!(a.fake_salt("alice"), a.fake_salt("bob"));
        assert_ne!(a.fake_salt("alice"), b.fake_salt("alice"));
        let again = ServerSecret::from_bytes(a.expose_bytes()).unwrap();
        assert_eq!(again.fake_salt("alice"), a.fake_salt("alice"));
        assert_eq!(a.fake_kdf_choice("alice"), again.fake_kdf_choice("alice"));
        assert_ne!(a.fake_kdf_choice("alice"), a.fake_kdf_choice("bob"));
        assert_ne!(a.fake_kdf_choice("alice"), b.fake_kdf_choice("alice"));
    }

    #[test]
    fn recovery_code_tags_bind_the_user() {
        let s = ServerSecret::generate().unwrap();
        assert_eq!(
            s.recovery_code_tag("u1", "abc"),
            s.recovery_code_tag("u1", "abc")
        );
        assert_ne!(
            s.recovery_code_tag("u1", "abc"),
            s.recovery_code_tag("u2", "abc")
        );
    }
}
