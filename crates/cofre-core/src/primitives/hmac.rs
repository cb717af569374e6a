//! HMAC-SHA256 with constant-time verification.

use aws_lc_rs::hmac;

use crate::{Error, Result};

/// HMAC-SHA256 tag length in bytes.
pub const TAG_LEN: usize = 32;

/// An HMAC-SHA256 key.
pub struct HmacKey(hmac::Key);

impl HmacKey {
    /// A key from raw bytes (any length; cofre always uses 32).
    pub fn new(key: &[u8]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, key))
    }

    /// The tag over the concatenation of `parts`.
    pub fn sign(&self, parts: &[&[u8]]) -> [u8; TAG_LEN] {
        let mut ctx = hmac::Context::with_key(&self.0);
        for p in parts {
            ctx.update(p);
        }
        let mut out = [0u8; TAG_LEN];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }

    /// Checks `tag` against the tag over the concatenation of `parts`, in constant time.
    ///
    /// Only full 32-byte tags are accepted; a tag of any other length fails.
    pub fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> Result<()> {
        let expected = self.sign(parts);
        aws_lc_rs::constant_time::verify_slices_are_equal(&expected, tag)
            .map_err(|_| Error::Decrypt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_concatenated_and_verify_rejects_changes() {
        let k = HmacKey::new(b"key");
        let t = k.sign(&[b"ab", b"c"]);
        assert_eq!(t, k.sign(&[b"abc"]));
        assert!(k.verify(&[b"abc"], &t).is_ok());
        assert!(k.verify(&[b"abd"], &t).is_err());
        assert!(k.verify(&[b"abc"], &t[..31]).is_err());
    }
}
