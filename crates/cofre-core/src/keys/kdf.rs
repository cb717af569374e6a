//! Password KDF parameters and salt, stored on the server beside the account and
//! checked against bounds on every use: a server cannot talk a client into a weak
//! derivation, nor into one that exhausts its memory.

use serde::{Deserialize, Serialize};

use crate::primitives::{argon2id, pbkdf2, rand};
use crate::secret::{Password, SecretBytes};
use crate::{Error, Result};

/// Length of a KDF salt.
pub const SALT_LEN: usize = 16;

/// Argon2id default memory: 256 MiB.
pub const ARGON2_DEFAULT_MEMORY_KIB: u32 = 256 * 1024;
/// Argon2id default passes.
pub const ARGON2_DEFAULT_ITERATIONS: u32 = 3;
/// Argon2id default lanes.
pub const ARGON2_DEFAULT_PARALLELISM: u32 = 4;
/// Argon2id minimum memory accepted: 19 MiB (OWASP's floor).
pub const ARGON2_MIN_MEMORY_KIB: u32 = 19 * 1024;
/// Argon2id maximum memory accepted: 2 GiB.
pub const ARGON2_MAX_MEMORY_KIB: u32 = 2 * 1024 * 1024;
/// PBKDF2-HMAC-SHA256 minimum iterations accepted (OWASP 2023).
pub const PBKDF2_MIN_ITERATIONS: u32 = 600_000;
/// PBKDF2-HMAC-SHA256 maximum iterations accepted.
pub const PBKDF2_MAX_ITERATIONS: u32 = 20_000_000;

/// Which password KDF to run, with its parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "alg", rename_all = "snake_case", deny_unknown_fields)]
pub enum KdfParams {
    /// Argon2id v1.3, 32-byte output.
    Argon2id {
        /// Memory in KiB (m).
        memory_kib: u32,
        /// Passes (t).
        iterations: u32,
        /// Lanes (p).
        parallelism: u32,
    },
    /// PBKDF2-HMAC-SHA256, 32-byte output.
    Pbkdf2Sha256 {
        /// Iteration count.
        iterations: u32,
    },
}

impl Default for KdfParams {
    /// Argon2id, m = 256 MiB, t = 3, p = 4 (see docs/BENCHMARKS.md for its cost).
    fn default() -> Self {
        Self::Argon2id {
            memory_kib: ARGON2_DEFAULT_MEMORY_KIB,
            iterations: ARGON2_DEFAULT_ITERATIONS,
            parallelism: ARGON2_DEFAULT_PARALLELISM,
        }
    }
}

impl KdfParams {
    /// Checks the parameters against the accepted bounds.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Self::Argon2id {
                memory_kib,
                iterations,
                parallelism,
            } => {
                if !(ARGON2_MIN_MEMORY_KIB..=ARGON2_MAX_MEMORY_KIB).contains(&memory_kib) {
                    return Err(Error::KdfParams("Argon2id memory must be 19 MiB..=2 GiB"));
                }
                if !(2..=64).contains(&iterations) {
                    return Err(Error::KdfParams("Argon2id iterations must be 2..=64"));
                }
                if !(1..=16).contains(&parallelism) {
                    return Err(Error::KdfParams("Argon2id parallelism must be 1..=16"));
                }
            }
            Self::Pbkdf2Sha256 { iterations } => {
                if !(PBKDF2_MIN_ITERATIONS..=PBKDF2_MAX_ITERATIONS).contains(&iterations) {
                    return Err(Error::KdfParams(
                        "PBKDF2 iterations must be 600,000..=20,000,000",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Derives 32 bytes from `password` and `salt` after validating the parameters.
    pub(crate) fn derive(&self, password: &Password, salt: &KdfSalt) -> Result<SecretBytes<32>> {
        self.validate()?;
        let mut out = SecretBytes::<32>::zero();
        match *self {
            Self::Argon2id {
                memory_kib,
                iterations,
                parallelism,
            } => argon2id::derive(
                password.as_bytes(),
                &salt.0,
                memory_kib,
                iterations,
                parallelism,
                out.expose_mut(),
            )?,
            Self::Pbkdf2Sha256 { iterations } => {
                pbkdf2::derive(password.as_bytes(), &salt.0, iterations, out.expose_mut())?
            }
        }
        Ok(out)
    }
}

/// A KDF salt: public, random per account (16 bytes), base64url in JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfSalt(pub [u8; SALT_LEN]);

impl KdfSalt {
    /// A fresh random salt.
    pub fn random() -> Result<Self> {
        Ok(Self(rand::array()?))
    }

    /// The salt bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Parses a 16-byte salt.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        bytes.try_into().map(Self).map_err(|_| Error::Malformed {
            what: "KDF salt",
            reason: "must be 16 bytes",
        })
    }
}

crate::format::text::impl_text_form!(KdfSalt);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_enforced() {
        assert!(KdfParams::default().validate().is_ok());
        let weak = KdfParams::Argon2id {
            memory_kib: 1024,
            iterations: 3,
            parallelism: 1,
        };
        assert!(matches!(weak.validate(), Err(Error::KdfParams(_))));
        let huge = KdfParams::Argon2id {
            memory_kib: u32::MAX,
            iterations: 3,
            parallelism: 1,
        };
        assert!(huge.validate().is_err());
        assert!(
            KdfParams::Pbkdf2Sha256 {
                iterations: 100_000
            }
            .validate()
            .is_err()
        );
        assert!(
            KdfParams::Pbkdf2Sha256 {
                iterations: 600_000
            }
            .validate()
            .is_ok()
        );
    }

    #[test]
    fn json_form() {
        let p = KdfParams::Pbkdf2Sha256 {
            iterations: 600_000,
        };
        let j = serde_json::to_string(&p).unwrap();
        assert_eq!(j, r#"{"alg":"pbkdf2_sha256","iterations":600000}"#);
        assert_eq!(serde_json::from_str::<KdfParams>(&j).unwrap(), p);
        assert!(serde_json::from_str::<KdfParams>(r#"{"alg":"md5"}"#).is_err());
    }
}
