//! PBKDF2-HMAC-SHA256 (RFC 8018), the alternative password KDF.

use std::num::NonZeroU32;

use aws_lc_rs::pbkdf2;

use crate::{Error, Result};

/// Fills `out` with PBKDF2-HMAC-SHA256(password, salt, iterations).
pub fn derive(password: &[u8], salt: &[u8], iterations: u32, out: &mut [u8]) -> Result<()> {
    let iterations =
        NonZeroU32::new(iterations).ok_or(Error::KdfParams("PBKDF2 iterations must be > 0"))?;
    if out.is_empty() {
        return Err(Error::Usage("PBKDF2 output must not be empty"));
    }
    pbkdf2::derive(pbkdf2::PBKDF2_HMAC_SHA256, iterations, salt, password, out);
    Ok(())
}
