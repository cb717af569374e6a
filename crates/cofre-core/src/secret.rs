//! Secret byte containers: zeroized on drop, never printed.
//!
//! Key types of the hierarchy wrap these. None of them implements `Debug` with its
//! contents or `Display`; raw access is `pub(crate)` unless a caller must export the
//! secret (and then the method name says so).

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::{Error, Result, primitives::rand};

/// A fixed-size secret, heap-allocated so moves do not leave copies on the stack.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretBytes<const N: usize>(Box<[u8; N]>);

impl<const N: usize> SecretBytes<N> {
    /// A fresh secret from the system's secure random generator.
    pub fn random() -> Result<Self> {
        let mut s = Self::zero();
        rand::fill(s.0.as_mut())?;
        Ok(s)
    }

    /// A secret copied from `bytes`, which must be exactly `N` bytes long.
    pub(crate) fn from_slice(bytes: &[u8]) -> Result<Self> {
        let mut s = Self::zero();
        if bytes.len() != N {
            return Err(Error::InvalidKey("wrong key length"));
        }
        s.0.copy_from_slice(bytes);
        Ok(s)
    }

    pub(crate) fn zero() -> Self {
        Self(Box::new([0u8; N]))
    }

    /// The secret bytes. Crate-internal: callers get typed operations instead.
    pub(crate) fn expose(&self) -> &[u8; N] {
        &self.0
    }

    pub(crate) fn expose_mut(&mut self) -> &mut [u8; N] {
        &mut self.0
    }
}

impl<const N: usize> std::fmt::Debug for SecretBytes<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretBytes<{N}>(<redacted>)")
    }
}

/// A variable-length secret (decrypted plaintext, a PKCS#8 private key): zeroized on
/// drop, redacted in `Debug`. Dereferences to its bytes.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretVec(Zeroizing<Vec<u8>>);

impl SecretVec {
    pub(crate) fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    pub(crate) fn truncate(&mut self, len: usize) {
        self.0.truncate(len);
    }

    /// The secret bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    pub(crate) fn expose_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }
}

impl std::ops::Deref for SecretVec {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for SecretVec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretVec({} bytes, <redacted>)", self.0.len())
    }
}

/// A 64-byte symmetric key for AES-256-CBC + HMAC-SHA256: bytes 0..32 are the
/// encryption key, bytes 32..64 the MAC key (docs/FORMAT.md, "Symmetric keys").
///
/// User keys, item keys, stretched keys and recovery wrapping keys all have this shape.
#[derive(Clone)]
pub struct SymmetricKey(SecretBytes<64>);

impl SymmetricKey {
    /// Length in bytes.
    pub const LEN: usize = 64;

    /// A fresh random key.
    pub fn generate() -> Result<Self> {
        Ok(Self(SecretBytes::random()?))
    }

    /// A key from its 64 raw bytes.
    pub(crate) fn from_slice(bytes: &[u8]) -> Result<Self> {
        Ok(Self(SecretBytes::from_slice(bytes)?))
    }

    /// The AES-256 encryption half.
    pub(crate) fn enc_key(&self) -> &[u8] {
        self.0.expose().get(..32).unwrap_or_default()
    }

    /// The HMAC-SHA256 half.
    pub(crate) fn mac_key(&self) -> &[u8] {
        self.0.expose().get(32..).unwrap_or_default()
    }

    /// All 64 bytes (for wrapping the key itself).
    pub(crate) fn expose(&self) -> &[u8; 64] {
        self.0.expose()
    }

    /// All 64 bytes, for a caller that must move the key to another process (for
    /// example a local agent holding unlocked keys). Never log or store them.
    pub fn expose_secret_bytes(&self) -> &[u8; 64] {
        self.0.expose()
    }

    /// Rebuilds a key exported with [`SymmetricKey::expose_secret_bytes`].
    pub fn from_secret_bytes(bytes: &[u8; 64]) -> Self {
        let mut s = SecretBytes::zero();
        s.expose_mut().copy_from_slice(bytes);
        Self(s)
    }
}

impl std::fmt::Debug for SymmetricKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SymmetricKey(<redacted>)")
    }
}

/// A user's password. Normalised to Unicode NFC before any use, zeroized on drop.
pub struct Password(Zeroizing<String>);

impl Password {
    /// Wraps a password as typed by the user. The string is NFC-normalised, so the
    /// same password typed on systems that compose characters differently derives
    /// the same keys.
    pub fn new(password: impl Into<String>) -> Self {
        use unicode_normalization::UnicodeNormalization;
        let raw = Zeroizing::new(password.into());
        Self(Zeroizing::new(raw.nfc().collect()))
    }

    /// The normalised password as UTF-8 bytes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Length in Unicode scalar values, for policy checks by callers.
    pub fn char_count(&self) -> usize {
        self.0.chars().count()
    }

    /// The normalised password, for a strength estimator. Handle with care: do not
    /// log or store it.
    pub fn expose_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_secret() {
        let s = SecretBytes::<4>::from_slice(&[0xAB, 0xCD, 0xEF, 0x01]).unwrap();
        let dbg = format!("{s:?}");
        assert!(!dbg.to_lowercase().contains("ab"), "{dbg}");
        let p = Password::new("hunter2-correct-horse");
        assert!(!format!("{p:?}").contains("hunter2"));
    }

    #[test]
    fn password_is_nfc_normalised() {
        // "é" precomposed vs "e" + combining acute accent.
        let a = Password::new("caf\u{e9}");
        let b = Password::new("cafe\u{301}");
        assert_eq!(a.as_bytes(), b.as_bytes());
    }

    #[test]
    fn wrong_length_rejected() {
        assert!(SecretBytes::<32>::from_slice(&[0; 31]).is_err());
    }
}
