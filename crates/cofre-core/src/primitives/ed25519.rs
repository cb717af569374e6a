//! Ed25519 (RFC 8032) key pairs: the server signs its access tokens (JWT `EdDSA`) with
//! one. The JWT library does the signing and verifying through aws-lc-rs; this module
//! makes and reads the keys, and exposes verification for the known-answer tests.

use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair as _};

use crate::secret::SecretVec;
use crate::{Error, Result};

/// Ed25519 public key length in bytes.
pub const PUBLIC_KEY_LEN: usize = 32;

/// An Ed25519 signing key pair, kept as its PKCS#8 v2 document (what the JWT library
/// reads); [`SigningKeyPair::to_pkcs8v1`] gives the v1 form (RFC 8410) that OpenSSL and
/// other standard tools read, for storing.
pub struct SigningKeyPair {
    pkcs8: SecretVec,
    public: [u8; PUBLIC_KEY_LEN],
}

impl SigningKeyPair {
    /// A fresh key pair from the system's secure random generator.
    pub fn generate() -> Result<Self> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let doc = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| Error::Crypto)?;
        Self::from_pkcs8(doc.as_ref())
    }

    /// Reads a PKCS#8 (v1 or v2) Ed25519 private key.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self> {
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .map_err(|_| Error::InvalidKey("not an Ed25519 PKCS#8 private key"))?;
        let mut public = [0u8; PUBLIC_KEY_LEN];
        public.copy_from_slice(pair.public_key().as_ref());
        // Kept as v2 whatever was read: the JWT library wants the public key inside.
        let v2 = pair.to_pkcs8().map_err(|_| Error::Crypto)?;
        Ok(Self {
            pkcs8: SecretVec::new(v2.as_ref().to_vec()),
            public,
        })
    }

    /// The key as a PKCS#8 v1 document (RFC 8410 `PrivateKeyInfo`), the form OpenSSL 3
    /// and Python `cryptography` load: the one to store.
    pub fn to_pkcs8v1(&self) -> Result<SecretVec> {
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(self.pkcs8.expose())
            .map_err(|_| Error::Crypto)?;
        let v1 = pair.to_pkcs8v1().map_err(|_| Error::Crypto)?;
        Ok(SecretVec::new(v1.as_ref().to_vec()))
    }

    /// The PKCS#8 document, to store (owner-only) or to hand to the JWT library.
    pub fn expose_pkcs8(&self) -> &[u8] {
        self.pkcs8.expose()
    }

    /// The 32-byte public key.
    pub fn public_key(&self) -> &[u8; PUBLIC_KEY_LEN] {
        &self.public
    }
}

impl std::fmt::Debug for SigningKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKeyPair(<redacted>)")
    }
}

/// Verifies an Ed25519 signature over `msg` with a raw 32-byte public key.
pub fn verify(public_key: &[u8], msg: &[u8], sig: &[u8]) -> Result<()> {
    signature::UnparsedPublicKey::new(&signature::ED25519, public_key)
        .verify(msg, sig)
        .map_err(|_| Error::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_round_trips_and_signs() {
        let k = SigningKeyPair::generate().unwrap();
        let again = SigningKeyPair::from_pkcs8(k.expose_pkcs8()).unwrap();
        assert_eq!(k.public_key(), again.public_key());
        let pair = Ed25519KeyPair::from_pkcs8(k.expose_pkcs8()).unwrap();
        let sig = pair.sign(b"msg");
        assert!(verify(k.public_key(), b"msg", sig.as_ref()).is_ok());
        assert!(verify(k.public_key(), b"msh", sig.as_ref()).is_err());
        assert!(format!("{k:?}").contains("redacted"));
    }

    #[test]
    fn the_v1_form_is_rfc_8410_and_reads_back_as_the_same_key() {
        let k = SigningKeyPair::generate().unwrap();
        let v1 = k.to_pkcs8v1().unwrap();
        // version 0, id-Ed25519, then the 32-byte seed: 48 bytes in all.
        assert_eq!(v1.expose().len(), 48);
        assert_eq!(
            &v1.expose()[..16],
            &[
                0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
                0x04, 0x20
            ]
        );
        let again = SigningKeyPair::from_pkcs8(v1.expose()).unwrap();
        assert_eq!(again.public_key(), k.public_key());
        // Read from v1, it still hands the JWT library a v2 document.
        assert!(Ed25519KeyPair::from_pkcs8(again.expose_pkcs8()).is_ok());
    }

    #[test]
    fn rejects_garbage_keys() {
        assert!(SigningKeyPair::from_pkcs8(b"not a key").is_err());
    }
}
