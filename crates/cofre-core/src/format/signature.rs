//! The signature: RSA-PSS-SHA256 (MGF1-SHA256, 32-byte salt) over a message bound to a
//! context, naming the signer's key id.
//!
//! ```text
//! 0x03 | 0x01 | 0x01 | key_id (16) | signature (modulus length)
//! signed message = header(3) || key_id || u32be(len(context)) || context || message
//! ```

use super::{ALG_RSA_PSS_SHA256, HEADER_LEN, KEY_ID_LEN, TYPE_SIGNATURE, VERSION_1};
use crate::primitives::rsa::{PrivateKey, PublicKey};
use crate::{Error, Result};

const WHAT: &str = "signature";
const HEADER: [u8; HEADER_LEN] = [TYPE_SIGNATURE, VERSION_1, ALG_RSA_PSS_SHA256];

/// A signature over a message, bound to a context.
#[derive(Clone, PartialEq, Eq)]
pub struct Signature(Vec<u8>);

impl Signature {
    /// Signs `message` in `context` with `signer`.
    pub fn sign(signer: &PrivateKey, context: &[u8], message: &[u8]) -> Result<Self> {
        let key_id = signer.public_key().key_id();
        let sig = signer.pss_sign(&signed_message(&key_id, context, message)?)?;
        let mut out = Vec::with_capacity(HEADER_LEN + KEY_ID_LEN + sig.len());
        out.extend_from_slice(&HEADER);
        out.extend_from_slice(&key_id);
        out.extend_from_slice(&sig);
        Ok(Self(out))
    }

    /// Verifies under `signer`'s public key. Any failure, including a signature made by
    /// another key, is [`Error::BadSignature`].
    pub fn verify(&self, signer: &PublicKey, context: &[u8], message: &[u8]) -> Result<()> {
        let (key_id, sig) = split(&self.0)?;
        if key_id != signer.key_id() {
            return Err(Error::BadSignature);
        }
        signer.pss_verify(&signed_message(&key_id, context, message)?, sig)
    }

    /// The key id of the key that made this signature.
    pub fn signer_key_id(&self) -> [u8; KEY_ID_LEN] {
        split(&self.0).map(|(id, _)| id).unwrap_or_default()
    }

    /// Parses a binary encoding, checking header and lengths.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        split(bytes)?;
        Ok(Self(bytes.to_vec()))
    }

    /// The binary encoding.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

fn signed_message(key_id: &[u8], context: &[u8], message: &[u8]) -> Result<Vec<u8>> {
    let mut m = super::rsa_binding(&HEADER, key_id, context)?;
    m.extend_from_slice(message);
    Ok(m)
}

/// Splits into (key id, PSS signature).
fn split(bytes: &[u8]) -> Result<([u8; KEY_ID_LEN], &[u8])> {
    super::split_rsa_envelope(WHAT, bytes, TYPE_SIGNATURE, ALG_RSA_PSS_SHA256)
}

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signature({} bytes)", self.0.len())
    }
}

super::text::impl_text_form!(Signature);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_binding() {
        let a = PrivateKey::generate().unwrap();
        let b = PrivateKey::generate().unwrap();
        let s = Signature::sign(&a, b"share", b"payload").unwrap();
        s.verify(a.public_key(), b"share", b"payload").unwrap();
        assert!(s.verify(a.public_key(), b"share", b"payloae").is_err());
        assert!(s.verify(a.public_key(), b"other", b"payload").is_err());
        assert!(s.verify(b.public_key(), b"share", b"payload").is_err());
        let mut bytes = s.as_bytes().to_vec();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let t = Signature::from_bytes(&bytes).unwrap();
        assert!(matches!(
            t.verify(a.public_key(), b"share", b"payload"),
            Err(Error::BadSignature)
        ));
        assert_eq!(Signature::from_text(&s.to_text()).unwrap(), s);
    }
}
