//! The recovery key: 32 random bytes shown once at registration, which also protect the
//! user key so that a forgotten password does not lose the data. Without the password
//! and without the recovery key, nobody can recover an account's data.

use zeroize::Zeroizing;

use super::{AuthKey, LABEL_RECOVERY, LABEL_RECOVERY_AUTH};
use crate::primitives::hkdf;
use crate::secret::{SecretBytes, SymmetricKey};
use crate::{Error, Result};

/// A recovery key. Display form: 52 base32 characters in 13 groups of 4.
pub struct RecoveryKey(SecretBytes<32>);

impl RecoveryKey {
    /// A fresh random recovery key.
    pub fn generate() -> Result<Self> {
        Ok(Self(SecretBytes::random()?))
    }

    #[cfg(test)]
    pub(crate) fn from_bytes(bytes: &[u8; 32]) -> Self {
        let mut s = SecretBytes::zero();
        s.expose_mut().copy_from_slice(bytes);
        Self(s)
    }

    /// The form shown to the user once, e.g. `ABCD-EFGH-…` (RFC 4648 base32, no padding,
    /// groups of 4 joined by `-`).
    pub fn to_display(&self) -> Zeroizing<String> {
        let raw = Zeroizing::new(data_encoding::BASE32_NOPAD.encode(self.0.expose()));
        let groups: Vec<&str> = raw
            .as_bytes()
            .chunks(4)
            .filter_map(|c| std::str::from_utf8(c).ok())
            .collect();
        Zeroizing::new(groups.join("-"))
    }

    /// Parses what a user typed: case, spaces and dashes are ignored.
    pub fn parse(text: &str) -> Result<Self> {
        let cleaned: Zeroizing<String> = Zeroizing::new(
            text.chars()
                .filter(|c| !c.is_whitespace() && *c != '-')
                .map(|c| c.to_ascii_uppercase())
                .collect(),
        );
        let bytes = Zeroizing::new(
            data_encoding::BASE32_NOPAD
                .decode(cleaned.as_bytes())
                .map_err(|_| Error::InvalidKey("recovery key is not valid base32"))?,
        );
        SecretBytes::from_slice(&bytes)
            .map(Self)
            .map_err(|_| Error::InvalidKey("recovery key must be 52 characters"))
    }

    /// HKDF-SHA256(recovery key, salt = empty, info = "cofre/v1/recovery", L = 64).
    pub(crate) fn wrapping_key(&self) -> Result<SymmetricKey> {
        let mut out = SecretBytes::<64>::zero();
        hkdf::derive(self.0.expose(), &[], &[LABEL_RECOVERY], out.expose_mut())?;
        SymmetricKey::from_slice(out.expose())
    }
}

impl RecoveryKey {
    /// The recovery auth key: HKDF-SHA256(recovery key, salt = empty,
    /// info = "cofre/v1/recovery-auth", L = 32). The server stores bcrypt of it, so a
    /// client can prove it holds the recovery key without revealing it.
    pub fn auth_key(&self) -> Result<AuthKey> {
        let mut out = SecretBytes::<32>::zero();
        hkdf::derive(
            self.0.expose(),
            &[],
            &[LABEL_RECOVERY_AUTH],
            out.expose_mut(),
        )?;
        Ok(AuthKey::from_secret(out))
    }
}

impl std::fmt::Debug for RecoveryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse() {
        let k = RecoveryKey::generate().unwrap();
        let shown = k.to_display();
        assert_eq!(shown.len(), 52 + 12);
        let typed = shown.to_lowercase().replace('-', " ");
        let back = RecoveryKey::parse(&typed).unwrap();
        assert_eq!(back.0.expose(), k.0.expose());
        assert!(RecoveryKey::parse("AAAA").is_err());
        assert!(RecoveryKey::parse(&shown.replace('A', "1")).is_err() || !shown.contains('A'));
    }
}
