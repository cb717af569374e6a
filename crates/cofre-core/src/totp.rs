//! Time-based one-time passwords (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps),
//! the second factor. Codes come from the `totp-rs` crate; this module adds what it
//! leaves to the caller: which time step a code matched, so that the server can refuse
//! a code whose step was already used (replay).

use totp_rs::{Algorithm, Builder, Totp};

use crate::primitives::digest::constant_time_eq;
use crate::secret::SecretBytes;
use crate::{Error, Result};

/// Secret length: 160 bits, as RFC 4226 recommends.
pub const SECRET_LEN: usize = 20;
/// Digits per code.
pub const DIGITS: u8 = 6;
/// Seconds per time step.
pub const STEP_SECONDS: u64 = 30;
/// Steps accepted either side of the current one, for clock drift.
pub const SKEW_STEPS: u64 = 1;

/// A TOTP shared secret. Zeroized on drop, never printed.
pub struct TotpSecret(SecretBytes<SECRET_LEN>);

impl TotpSecret {
    /// A fresh secret from the system's secure random generator.
    pub fn generate() -> Result<Self> {
        Ok(Self(SecretBytes::random()?))
    }

    /// A secret from its raw bytes (for example after decrypting it at rest).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Ok(Self(SecretBytes::from_slice(bytes)?))
    }

    /// The raw secret, to encrypt it at rest. Handle with care.
    pub fn expose_bytes(&self) -> &[u8; SECRET_LEN] {
        self.0.expose()
    }

    fn totp(&self, issuer: &str, account: &str) -> Result<Totp> {
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(DIGITS)
            .with_skew(0)
            .with_step_duration(STEP_SECONDS)
            .with_secret(self.0.expose().to_vec())
            .with_issuer(Some(issuer))
            .with_account_name(account)
            .build()
            .map_err(|_| Error::Usage("TOTP issuer or account name contains ':'"))
    }

    /// The `otpauth://totp/...` URI an authenticator app reads (usually from a QR code).
    /// It contains the secret: show it only to the account's owner.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> Result<String> {
        self.totp(issuer, account)?
            .to_url()
            .map_err(|_| Error::Usage("TOTP account name is empty or invalid"))
    }

    /// The code for the step containing `unix_time`.
    pub fn code_at(&self, unix_time: u64) -> Result<String> {
        Ok(self.totp("cofre", "user")?.generate(unix_time).to_string())
    }

    /// If `code` is valid at `unix_time` (± [`SKEW_STEPS`]), the step it matched.
    /// Every candidate step is compared in constant time. The caller must refuse a step
    /// at or below the last step it accepted for this secret.
    pub fn verify(&self, code: &str, unix_time: u64) -> Result<Option<u64>> {
        let code = code.trim();
        if code.len() != usize::from(DIGITS) || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(None);
        }
        let totp = self.totp("cofre", "user")?;
        let now = unix_time / STEP_SECONDS;
        let mut matched = None;
        for step in now.saturating_sub(SKEW_STEPS)..=now.saturating_add(SKEW_STEPS) {
            let expected = totp.generate(step * STEP_SECONDS).to_string();
            if constant_time_eq(expected.as_bytes(), code.as_bytes()) {
                matched = Some(step);
            }
        }
        Ok(matched)
    }
}

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows (the 20-byte ASCII secret "12345678901234567890";
    /// the RFC prints 8 digits, we use the last 6).
    #[test]
    fn rfc6238_known_answers() {
        let s = TotpSecret::from_bytes(b"12345678901234567890").unwrap();
        for (t, code8) in [
            (59u64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(s.code_at(t).unwrap(), code8[2..], "t = {t}");
        }
    }

    #[test]
    fn verify_reports_the_step_and_refuses_other_windows() {
        let s = TotpSecret::generate().unwrap();
        let t = 1_700_000_000;
        let code = s.code_at(t).unwrap();
        assert_eq!(s.verify(&code, t).unwrap(), Some(t / 30));
        // Still accepted one step later (clock drift), with the same step reported.
        assert_eq!(s.verify(&code, t + 30).unwrap(), Some(t / 30));
        // Not two steps later.
        assert_eq!(s.verify(&code, t + 90).unwrap(), None);
        assert_eq!(s.verify("12345", t).unwrap(), None);
        assert_eq!(s.verify("abcdef", t).unwrap(), None);
        let uri = s.otpauth_uri("cofre", "alice").unwrap();
        assert!(uri.starts_with("otpauth://totp/cofre:alice?"), "{uri}");
        assert!(format!("{s:?}").contains("redacted"));
    }
}
