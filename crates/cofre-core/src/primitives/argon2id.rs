//! Argon2id (RFC 9106), the default password KDF, from the `argon2` crate.

use argon2::{Algorithm, Argon2, Params, Version};

use crate::{Error, Result};

/// Fills `out` with Argon2id v1.3 (password, salt, m = `memory_kib` KiB,
/// t = `iterations`, p = `parallelism`), no secret key and no associated data.
pub fn derive(
    password: &[u8],
    salt: &[u8],
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
    out: &mut [u8],
) -> Result<()> {
    let params = Params::new(memory_kib, iterations, parallelism, Some(out.len()))
        .map_err(|_| Error::KdfParams("Argon2id parameters not accepted"))?;
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(password, salt, out)
        .map_err(|_| Error::KdfParams("Argon2id rejected its input"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9106 section 5.3 uses a secret and associated data, which cofre does not;
    /// this pins the plain form against the reference implementation's output
    /// (`echo -n password | argon2 somesalt -id -t 2 -m 16 -p 1 -l 32`).
    #[test]
    fn reference_vector() {
        let mut out = [0u8; 32];
        derive(b"password", b"somesalt", 1 << 16, 2, 1, &mut out).unwrap();
        assert_eq!(
            data_encoding::HEXLOWER.encode(&out),
            "09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7"
        );
    }
}
