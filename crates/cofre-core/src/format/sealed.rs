//! The sealed box: AES-256-CBC + PKCS#7 then HMAC-SHA256 over header, context, IV and
//! ciphertext. Used for small secrets and records (user key, private key, item
//! metadata, message bodies).
//!
//! ```text
//! 0x01 | 0x01 | 0x01 | iv (16) | ciphertext (16·n, n ≥ 1) | tag (32)
//! tag = HMAC-SHA256(mac_key, header(3) || u32be(len(context)) || context || iv || ciphertext)
//! ```

use super::{ALG_AES256CBC_HMACSHA256, HEADER_LEN, TYPE_SEALED_BOX, VERSION_1};
use crate::primitives::aes_cbc::{self, Aes256CbcKey, BLOCK_LEN};
use crate::primitives::hmac::{HmacKey, TAG_LEN};
use crate::primitives::rand;
use crate::secret::{SecretVec, SymmetricKey};
use crate::{Error, Result};

const WHAT: &str = "sealed box";
const HEADER: [u8; HEADER_LEN] = [TYPE_SEALED_BOX, VERSION_1, ALG_AES256CBC_HMACSHA256];
/// Smallest valid encoding: header, IV, one block, tag.
pub const MIN_LEN: usize = HEADER_LEN + BLOCK_LEN + BLOCK_LEN + TAG_LEN;

/// An authenticated ciphertext bound to a context string.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedBox(Vec<u8>);

impl SealedBox {
    /// Encrypts `plaintext` under `key`, binding it to `context` (for example
    /// `b"cofre/v1/item-meta/<item id>"`); it opens only with the same key and context.
    pub fn seal(key: &SymmetricKey, context: &[u8], plaintext: &[u8]) -> Result<Self> {
        Self::seal_with_iv(key, context, plaintext, &rand::array()?)
    }

    /// [`SealedBox::seal`] with a caller-chosen IV: for test vectors only.
    pub(crate) fn seal_with_iv(
        key: &SymmetricKey,
        context: &[u8],
        plaintext: &[u8],
        iv: &[u8; BLOCK_LEN],
    ) -> Result<Self> {
        let ctx_len = super::context_len_prefix(context)?;
        let ct_len = aes_cbc::padded_len(plaintext.len());
        let mut out = Vec::with_capacity(HEADER_LEN + BLOCK_LEN + ct_len + TAG_LEN);
        out.extend_from_slice(&HEADER);
        out.extend_from_slice(iv);
        let mut body = plaintext.to_vec();
        Aes256CbcKey::new(key.enc_key())?.encrypt(iv, &mut body)?;
        out.extend_from_slice(&body);
        let tag = HmacKey::new(key.mac_key()).sign(&[&HEADER, &ctx_len, context, iv, &body]);
        out.extend_from_slice(&tag);
        Ok(Self(out))
    }

    /// Verifies the tag in constant time, then decrypts. Any failure (wrong key or
    /// context, a changed byte) is [`Error::Decrypt`] and releases nothing.
    pub fn open(&self, key: &SymmetricKey, context: &[u8]) -> Result<SecretVec> {
        let (iv, ct, tag) = split(&self.0)?;
        let ctx_len = super::context_len_prefix(context)?;
        HmacKey::new(key.mac_key()).verify(&[&HEADER, &ctx_len, context, iv, ct], tag)?;
        let iv: &[u8; BLOCK_LEN] = iv.try_into().map_err(|_| Error::Decrypt)?;
        let mut buf = SecretVec::new(ct.to_vec());
        let n = Aes256CbcKey::new(key.enc_key())?.decrypt(iv, buf.expose_mut())?;
        buf.truncate(n);
        Ok(buf)
    }

    /// Parses a binary encoding, checking its header and structure (not its tag:
    /// that needs the key, see [`SealedBox::open`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        split(bytes)?;
        Ok(Self(bytes.to_vec()))
    }

    /// The binary encoding.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Length of the binary encoding.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a sealed box is never empty (kept for API symmetry with `len`).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Splits an encoding into (iv, ciphertext, tag) after checking the header and lengths.
fn split(bytes: &[u8]) -> Result<(&[u8], &[u8], &[u8])> {
    let rest = super::check_header(WHAT, bytes, TYPE_SEALED_BOX, ALG_AES256CBC_HMACSHA256)?;
    if bytes.len() < MIN_LEN {
        return Err(Error::Malformed {
            what: WHAT,
            reason: "too short",
        });
    }
    let (iv, rest) = rest.split_at_checked(BLOCK_LEN).ok_or(Error::Malformed {
        what: WHAT,
        reason: "too short",
    })?;
    let (ct, tag) = rest
        .split_at_checked(rest.len().saturating_sub(TAG_LEN))
        .ok_or(Error::Malformed {
            what: WHAT,
            reason: "too short",
        })?;
    if ct.is_empty() || !ct.len().is_multiple_of(BLOCK_LEN) {
        return Err(Error::Malformed {
            what: WHAT,
            reason: "ciphertext is not a positive multiple of 16 bytes",
        });
    }
    Ok((iv, ct, tag))
}

impl std::fmt::Debug for SealedBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealedBox({} bytes)", self.0.len())
    }
}

super::text::impl_text_form!(SealedBox);

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SymmetricKey {
        SymmetricKey::generate().unwrap()
    }

    #[test]
    fn round_trip_and_length() {
        let k = key();
        for len in [0usize, 1, 15, 16, 17, 1000] {
            let msg = vec![0x5a; len];
            let b = SealedBox::seal(&k, b"ctx", &msg).unwrap();
            assert_eq!(b.len(), 3 + 16 + aes_cbc::padded_len(len) + 32);
            assert_eq!(&b.open(&k, b"ctx").unwrap()[..], &msg[..]);
        }
    }

    #[test]
    fn every_bit_flip_wrong_key_and_wrong_context_rejected() {
        let k = key();
        let b = SealedBox::seal(&k, b"item/1", b"attack at dawn").unwrap();
        for i in 0..b.len() * 8 {
            let mut bytes = b.as_bytes().to_vec();
            bytes[i / 8] ^= 1 << (i % 8);
            let opened = SealedBox::from_bytes(&bytes).and_then(|b| b.open(&k, b"item/1"));
            assert!(opened.is_err(), "bit {i} flip accepted");
        }
        assert!(matches!(b.open(&key(), b"item/1"), Err(Error::Decrypt)));
        assert!(matches!(b.open(&k, b"item/2"), Err(Error::Decrypt)));
    }

    #[test]
    fn truncations_rejected() {
        let k = key();
        let b = SealedBox::seal(&k, b"c", b"0123456789abcdef0123").unwrap();
        for n in 0..b.len() {
            let r = SealedBox::from_bytes(&b.as_bytes()[..n]).and_then(|b| b.open(&k, b"c"));
            assert!(r.is_err(), "truncation to {n} accepted");
        }
    }

    #[test]
    fn text_form_round_trips() {
        let k = key();
        let b = SealedBox::seal(&k, b"c", b"x").unwrap();
        let t = b.to_text();
        assert!(!t.contains('=') && !t.contains('+') && !t.contains('/'));
        assert_eq!(SealedBox::from_text(&t).unwrap(), b);
        assert!(SealedBox::from_text("!!!").is_err());
    }
}
