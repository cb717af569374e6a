//! Ed25519 (RFC 8032) key pairs: the server signs its access tokens (JWT `EdDSA`) with
//! one. The JWT library does the signing and verifying through aws-lc-rs; this module
//! makes and reads the keys, and exposes verification for the known-answer tests.

use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair as _};

use crate::secret::SecretVec;
use crate::{Error, Result};

/// Ed25519 public key length in bytes.
pub const PUBLIC_KEY_LEN: usize = 32;

/// An Ed25519 signing key pair, kept as its PKCS#8 v2 document.
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
        Ok(Self {
            pkcs8: SecretVec::new(der.to_vec()),
            public,
        })
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
    fn rejects_garbage_keys() {
        assert!(SigningKeyPair::from_pkcs8(b"not a key").is_err());
    }
}
