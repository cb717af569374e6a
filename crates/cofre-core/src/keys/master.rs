//! The master key (from the password) and what is derived from it: the auth key the
//! server sees and the stretched key that protects the user key.

use zeroize::Zeroizing;

use super::{KdfParams, KdfSalt, LABEL_AUTH, LABEL_ENC, LABEL_MAC};
use crate::primitives::hkdf;
use crate::secret::{Password, SecretBytes, SymmetricKey};
use crate::{Error, Result};

/// The 32-byte master key: KDF(password, salt). Never leaves the client.
pub struct MasterKey(SecretBytes<32>);

impl MasterKey {
    /// Runs the password KDF (after checking `params` against the accepted bounds).
    pub fn derive(password: &Password, salt: &KdfSalt, params: &KdfParams) -> Result<Self> {
        Ok(Self(params.derive(password, salt)?))
    }

    /// HKDF-SHA256(master key, salt = empty, info = `label`, L = `N`).
    fn expand<const N: usize>(&self, label: &[u8]) -> Result<SecretBytes<N>> {
        let mut out = SecretBytes::<N>::zero();
        hkdf::derive(self.0.expose(), &[], &[label], out.expose_mut())?;
        Ok(out)
    }

    #[cfg(test)]
    pub(crate) fn expose(&self) -> &[u8; 32] {
        self.0.expose()
    }

    /// The auth key: what the client sends to register and log in.
    pub fn auth_key(&self) -> Result<AuthKey> {
        Ok(AuthKey(self.expand(LABEL_AUTH)?))
    }

    /// The stretched key: encryption half from "cofre/v1/enc", MAC half from
    /// "cofre/v1/mac".
    pub fn stretched_key(&self) -> Result<SymmetricKey> {
        let enc = self.expand::<32>(LABEL_ENC)?;
        let mac = self.expand::<32>(LABEL_MAC)?;
        let mut both = SecretBytes::<64>::zero();
        let (e, m) = both.expose_mut().split_at_mut(32);
        e.copy_from_slice(enc.expose());
        m.copy_from_slice(mac.expose());
        SymmetricKey::from_slice(both.expose())
    }
}

/// The 32-byte auth key. The server stores only bcrypt of its text form, which is 43
/// characters of base64url (under bcrypt's 72-byte limit).
pub struct AuthKey(SecretBytes<32>);

impl AuthKey {
    pub(crate) fn from_secret(secret: SecretBytes<32>) -> Self {
        Self(secret)
    }

    /// The text form sent to the server (unpadded base64url).
    pub fn to_text(&self) -> Zeroizing<String> {
        Zeroizing::new(crate::format::text::encode(self.0.expose()))
    }

    /// Parses the text form (server side: validates what a client sent).
    pub fn from_text(text: &str) -> Result<Self> {
        let bytes = Zeroizing::new(crate::format::text::decode("auth key", text)?);
        SecretBytes::from_slice(&bytes)
            .map(Self)
            .map_err(|_| Error::Malformed {
                what: "auth key",
                reason: "must be 32 bytes",
            })
    }
}

impl std::fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthKey(<redacted>)")
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> KdfParams {
        KdfParams::Argon2id {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }

    #[test]
    fn derivation_is_deterministic_and_separates_labels() {
        let salt = KdfSalt([1; 16]);
        let a = MasterKey::derive(&Password::new("correct horse"), &salt, &fast()).unwrap();
        let b = MasterKey::derive(&Password::new("correct horse"), &salt, &fast()).unwrap();
        assert_eq!(
            *a.auth_key().unwrap().to_text(),
            *b.auth_key().unwrap().to_text()
        );
        let s = a.stretched_key().unwrap();
        assert_ne!(s.enc_key(), s.mac_key());
        let auth = AuthKey::from_text(&a.auth_key().unwrap().to_text()).unwrap();
        assert_ne!(auth.0.expose(), s.enc_key());
        assert_eq!(a.auth_key().unwrap().to_text().len(), 43);
        let other_salt =
            MasterKey::derive(&Password::new("correct horse"), &KdfSalt([2; 16]), &fast()).unwrap();
        assert_ne!(
            *a.auth_key().unwrap().to_text(),
            *other_salt.auth_key().unwrap().to_text()
        );
    }

    #[test]
    fn weak_params_refused_before_any_work() {
        let weak = KdfParams::Pbkdf2Sha256 { iterations: 1 };
        assert!(matches!(
            MasterKey::derive(&Password::new("x"), &KdfSalt([0; 16]), &weak),
            Err(Error::KdfParams(_))
        ));
    }
}
