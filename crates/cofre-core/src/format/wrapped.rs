//! The wrapped key: a 64-byte symmetric key encrypted to one recipient's RSA public key
//! with RSA-OAEP-SHA256 (MGF1-SHA256). The OAEP label binds the header, the recipient's
//! key id and a context, so a wrapped key cannot be moved to another item.
//!
//! ```text
//! 0x02 | 0x01 | 0x01 | key_id (16) | oaep_ciphertext (modulus length, 384 for RSA-3072)
//! label = header(3) || key_id || u32be(len(context)) || context
//! ```

use super::{ALG_RSA_OAEP_SHA256, HEADER_LEN, KEY_ID_LEN, TYPE_WRAPPED_KEY, VERSION_1};
use crate::primitives::rsa::{PrivateKey, PublicKey};
use crate::secret::SymmetricKey;
use crate::{Error, Result};

const WHAT: &str = "wrapped key";
const HEADER: [u8; HEADER_LEN] = [TYPE_WRAPPED_KEY, VERSION_1, ALG_RSA_OAEP_SHA256];

/// A symmetric key encrypted to one recipient.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedKey(Vec<u8>);

impl WrappedKey {
    /// Wraps `key` for `recipient`, bound to `context`.
    pub fn wrap(key: &SymmetricKey, recipient: &PublicKey, context: &[u8]) -> Result<Self> {
        let key_id = recipient.key_id();
        let label = super::rsa_binding(&HEADER, &key_id, context)?;
        let ct = recipient.oaep_encrypt(key.expose(), &label)?;
        let mut out = Vec::with_capacity(HEADER_LEN + KEY_ID_LEN + ct.len());
        out.extend_from_slice(&HEADER);
        out.extend_from_slice(&key_id);
        out.extend_from_slice(&ct);
        Ok(Self(out))
    }

    /// Unwraps with the recipient's private key and the same context. A key wrapped
    /// for another public key is [`Error::KeyMismatch`]; every other failure is
    /// [`Error::Decrypt`].
    pub fn unwrap(&self, private: &PrivateKey, context: &[u8]) -> Result<SymmetricKey> {
        let (key_id, ct) = split(&self.0)?;
        if key_id != private.public_key().key_id() {
            return Err(Error::KeyMismatch);
        }
        if ct.len() != private.public_key().modulus_len() {
            return Err(Error::Decrypt);
        }
        let plain = private.oaep_decrypt(ct, &super::rsa_binding(&HEADER, &key_id, context)?)?;
        SymmetricKey::from_slice(&plain).map_err(|_| Error::Decrypt)
    }

    /// The key id of the public key this was wrapped for.
    pub fn recipient_key_id(&self) -> [u8; KEY_ID_LEN] {
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

/// Splits into (key id, OAEP ciphertext).
fn split(bytes: &[u8]) -> Result<([u8; KEY_ID_LEN], &[u8])> {
    super::split_rsa_envelope(WHAT, bytes, TYPE_WRAPPED_KEY, ALG_RSA_OAEP_SHA256)
}

impl std::fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WrappedKey({} bytes)", self.0.len())
    }
}

super::text::impl_text_form!(WrappedKey);

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    fn keys() -> &'static (PrivateKey, PrivateKey) {
        static K: OnceLock<(PrivateKey, PrivateKey)> = OnceLock::new();
        K.get_or_init(|| {
            (
                PrivateKey::generate().unwrap(),
                PrivateKey::generate().unwrap(),
            )
        })
    }

    #[test]
    fn wrap_unwrap_and_binding() {
        let (alice, bob) = keys();
        let k = SymmetricKey::generate().unwrap();
        let w = WrappedKey::wrap(&k, alice.public_key(), b"item/1").unwrap();
        assert_eq!(w.as_bytes().len(), 3 + 16 + 384);
        let back = w.unwrap(alice, b"item/1").unwrap();
        assert_eq!(back.expose(), k.expose());
        assert!(matches!(w.unwrap(alice, b"item/2"), Err(Error::Decrypt)));
        assert!(matches!(w.unwrap(bob, b"item/1"), Err(Error::KeyMismatch)));
        // Forge the key id to point at bob: OAEP still fails.
        let mut forged = w.as_bytes().to_vec();
        forged[3..19].copy_from_slice(&bob.public_key().key_id());
        let forged = WrappedKey::from_bytes(&forged).unwrap();
        assert!(matches!(forged.unwrap(bob, b"item/1"), Err(Error::Decrypt)));
    }

    #[test]
    fn bit_flips_rejected() {
        let (alice, _) = keys();
        let k = SymmetricKey::generate().unwrap();
        let w = WrappedKey::wrap(&k, alice.public_key(), b"c").unwrap();
        // Every byte of the header and key id, and a sample of ciphertext bytes.
        for i in (0..19).chain((19..w.as_bytes().len()).step_by(17)) {
            let mut b = w.as_bytes().to_vec();
            b[i] ^= 0x01;
            let r = WrappedKey::from_bytes(&b).and_then(|w| w.unwrap(alice, b"c"));
            assert!(r.is_err(), "flip at {i} accepted");
        }
    }
}
