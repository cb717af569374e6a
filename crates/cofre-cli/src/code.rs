//! One-time codes as people type them: a TOTP code (6 digits, often read out as
//! `123 456`) or an MFA recovery code (8 base32 characters, shown as `abcd-efgh`).
//! Spaces are removed (and a recovery code's dash and case do not matter); a code of
//! neither shape is refused here, before it is sent, so that a typo never spends one of
//! the server's guesses.

use crate::exit::Problem;

/// Digits in a TOTP code.
const TOTP_DIGITS: usize = 6;
/// Characters in a recovery code (without its dash).
const RECOVERY_LEN: usize = 8;

/// A well-formed one-time code.
#[derive(Debug, PartialEq, Eq)]
pub enum Code {
    /// A TOTP code: six digits.
    Totp(String),
    /// A recovery code, as `abcd-efgh` (lower case).
    Recovery(String),
}

impl From<Code> for cofre_client::client::SecondFactor {
    fn from(c: Code) -> Self {
        match c {
            Code::Totp(t) => Self::Totp(t),
            Code::Recovery(r) => Self::RecoveryCode(r),
        }
    }
}

fn squeeze(raw: &str) -> String {
    raw.chars().filter(|c| !c.is_whitespace()).collect()
}

/// A TOTP code: six digits once spaces are removed.
pub fn totp(raw: &str) -> anyhow::Result<String> {
    let code = squeeze(raw);
    if code.len() == TOTP_DIGITS && code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(code);
    }
    Err(Problem::usage(format!(
        "that is not a one-time code: it has {TOTP_DIGITS} digits (nothing was sent)"
    )))
}

/// A recovery code: eight characters of a-z and 2-7 once spaces and the dash are
/// removed; returned as `abcd-efgh`.
pub fn recovery(raw: &str) -> anyhow::Result<String> {
    let code: String = squeeze(raw)
        .chars()
        .filter(|c| *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let base32 = |b: u8| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b);
    if code.len() == RECOVERY_LEN && code.bytes().all(base32) {
        let (a, b) = code.split_at(RECOVERY_LEN / 2);
        return Ok(format!("{a}-{b}"));
    }
    Err(Problem::usage(
        "that is not a recovery code: they look like `abcd-efgh` (nothing was sent)",
    ))
}

/// Either kind, told apart by shape.
pub fn any(raw: &str) -> anyhow::Result<Code> {
    if let Ok(t) = totp(raw) {
        return Ok(Code::Totp(t));
    }
    if let Ok(r) = recovery(raw) {
        return Ok(Code::Recovery(r));
    }
    Err(Problem::usage(
        "that is neither a one-time code (6 digits) nor a recovery code (`abcd-efgh`): \
         nothing was sent",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_are_removed_and_shapes_checked() {
        assert_eq!(totp("123 456").ok().as_deref(), Some("123456"));
        assert_eq!(totp(" 123456\n").ok().as_deref(), Some("123456"));
        assert!(totp("12345").is_err());
        assert!(totp("1234567").is_err());
        assert!(totp("12345a").is_err());
        assert_eq!(recovery("ABCD EFGH").ok().as_deref(), Some("abcd-efgh"));
        assert_eq!(recovery("abcd-2345").ok().as_deref(), Some("abcd-2345"));
        assert!(recovery("abcd-efg1").is_err(), "1 is not base32");
        assert!(recovery("abcd-efghi").is_err());
        assert_eq!(any("654 321").ok(), Some(Code::Totp("654321".into())));
        assert_eq!(
            any("wxyz-2345").ok(),
            Some(Code::Recovery("wxyz-2345".into()))
        );
        assert!(any("hello").is_err());
    }
}
