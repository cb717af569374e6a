//! AES-256-CBC with PKCS#7 padding. Unauthenticated on its own: callers MAC the
//! IV and ciphertext (encrypt-then-MAC) and verify before calling [`Aes256CbcKey::decrypt`].

use aws_lc_rs::cipher::{
    AES_256, DecryptionContext, EncryptionContext, PaddedBlockDecryptingKey,
    PaddedBlockEncryptingKey, UnboundCipherKey,
};
use aws_lc_rs::iv::FixedLength;

use crate::{Error, Result};

/// AES block and IV length in bytes.
pub const BLOCK_LEN: usize = 16;
/// AES-256 key length in bytes.
pub const KEY_LEN: usize = 32;

/// An expanded AES-256 key usable for CBC encryption and decryption.
///
/// Build it once and reuse it: key expansion is done here, not per message.
pub struct Aes256CbcKey {
    enc: PaddedBlockEncryptingKey,
    dec: PaddedBlockDecryptingKey,
}

impl Aes256CbcKey {
    /// Expands a 32-byte key.
    pub fn new(key: &[u8]) -> Result<Self> {
        if key.len() != KEY_LEN {
            return Err(Error::InvalidKey("AES-256 key must be 32 bytes"));
        }
        let enc = PaddedBlockEncryptingKey::cbc_pkcs7(UnboundCipherKey::new(&AES_256, key)?)?;
        let dec = PaddedBlockDecryptingKey::cbc_pkcs7(UnboundCipherKey::new(&AES_256, key)?)?;
        Ok(Self { enc, dec })
    }

    /// Pads `buf` with PKCS#7 and encrypts it in place under `iv` (`buf` grows by the
    /// padding, 1..=16 bytes).
    ///
    /// The IV must be fresh and random for every call (see [`crate::primitives::rand`]);
    /// taking it as an argument lets test vectors fix it.
    pub fn encrypt<B>(&self, iv: &[u8; BLOCK_LEN], buf: &mut B) -> Result<()>
    where
        B: AsMut<[u8]> + for<'a> Extend<&'a u8>,
    {
        let ctx = EncryptionContext::Iv128(FixedLength::from(*iv));
        self.enc.less_safe_encrypt(buf, ctx)?;
        Ok(())
    }

    /// Decrypts `buf` in place and removes the PKCS#7 padding, returning the plaintext
    /// length. Fails on a length that is not a positive multiple of 16 or bad padding.
    ///
    /// Only call this on a ciphertext whose MAC has already been verified.
    pub fn decrypt(&self, iv: &[u8; BLOCK_LEN], buf: &mut [u8]) -> Result<usize> {
        if buf.is_empty() || !buf.len().is_multiple_of(BLOCK_LEN) {
            return Err(Error::Decrypt);
        }
        let ctx = DecryptionContext::Iv128(FixedLength::from(*iv));
        let plain = self.dec.decrypt(buf, ctx).map_err(|_| Error::Decrypt)?;
        Ok(plain.len())
    }
}

/// Length of the PKCS#7-padded ciphertext for `plain_len` bytes of plaintext.
pub const fn padded_len(plain_len: usize) -> usize {
    (plain_len / BLOCK_LEN + 1) * BLOCK_LEN
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_all_lengths_around_blocks() {
        let key = Aes256CbcKey::new(&[7u8; 32]).unwrap();
        let iv = [9u8; 16];
        for len in 0..70 {
            let plain: Vec<u8> = (0..len as u8).collect();
            let mut buf = plain.clone();
            key.encrypt(&iv, &mut buf).unwrap();
            assert_eq!(buf.len(), padded_len(len));
            let n = key.decrypt(&iv, &mut buf).unwrap();
            assert_eq!(&buf[..n], &plain[..]);
        }
    }

    #[test]
    fn rejects_bad_lengths() {
        let key = Aes256CbcKey::new(&[7u8; 32]).unwrap();
        assert!(key.decrypt(&[0; 16], &mut []).is_err());
        assert!(key.decrypt(&[0; 16], &mut [0u8; 17]).is_err());
        assert!(Aes256CbcKey::new(&[0u8; 16]).is_err());
    }
}
