//! HKDF-SHA256 (RFC 5869), extract then expand.

use aws_lc_rs::hkdf;

use crate::{Error, Result};

struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// Fills `out` with HKDF-SHA256(ikm, salt, info). `out` may be at most 255 × 32 bytes.
pub fn derive(ikm: &[u8], salt: &[u8], info: &[&[u8]], out: &mut [u8]) -> Result<()> {
    if out.is_empty() || out.len() > 255 * 32 {
        return Err(Error::Usage("HKDF-SHA256 output must be 1..=8160 bytes"));
    }
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(ikm);
    let okm = prk.expand(info, Len(out.len()))?;
    okm.fill(out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc5869_case_1() {
        let ikm = [0x0bu8; 22];
        let salt: Vec<u8> = (0x00..=0x0c).collect();
        let info: Vec<u8> = (0xf0..=0xf9).collect();
        let mut okm = [0u8; 42];
        derive(&ikm, &salt, &[&info], &mut okm).unwrap();
        assert_eq!(
            data_encoding::HEXLOWER.encode(&okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        );
    }

    #[test]
    fn too_long_output_rejected() {
        let mut out = vec![0u8; 255 * 32 + 1];
        assert!(derive(b"k", b"", &[], &mut out).is_err());
    }
}
