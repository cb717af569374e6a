//! The system's secure random generator (aws-lc-rs).

use crate::Result;

/// Fills `dest` with cryptographically secure random bytes.
pub fn fill(dest: &mut [u8]) -> Result<()> {
    aws_lc_rs::rand::fill(dest)?;
    Ok(())
}

/// An array of `N` secure random bytes (for public values such as IVs and salts).
pub fn array<const N: usize>() -> Result<[u8; N]> {
    let mut out = [0u8; N];
    fill(&mut out)?;
    Ok(out)
}
