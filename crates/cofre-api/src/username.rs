//! Username rules: what a valid username is, and its one normalized form.
//!
//! A username is normalized with Unicode NFKC and lower-cased, then must be 3 to 32
//! characters of `a-z`, `0-9`, `.`, `_` and `-`, starting and ending with a letter or
//! digit. Uniqueness is on the normalized form, so `Alice` and `alice` are one user.

use serde::{Deserialize, Serialize};

/// Shortest accepted username.
pub const MIN_LEN: usize = 3;
/// Longest accepted username.
pub const MAX_LEN: usize = 32;

/// A valid, normalized username.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Username(String);

/// Why a username was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsernameError {
    /// Too short or too long.
    #[error("a username must be {MIN_LEN} to {MAX_LEN} characters long")]
    Length,
    /// A character outside the allowed set.
    #[error("a username may contain only letters a-z, digits, '.', '_' and '-'")]
    Character,
    /// Starts or ends with punctuation.
    #[error("a username must start and end with a letter or a digit")]
    Edge,
}

impl Username {
    /// Normalizes and checks `raw`.
    pub fn parse(raw: &str) -> Result<Self, UsernameError> {
        use unicode_normalization::UnicodeNormalization as _;
        let norm: String = raw.trim().nfkc().collect::<String>().to_lowercase();
        let len = norm.chars().count();
        if !(MIN_LEN..=MAX_LEN).contains(&len) {
            return Err(UsernameError::Length);
        }
        if !norm
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        {
            return Err(UsernameError::Character);
        }
        let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
        if !edge_ok(norm.chars().next()) || !edge_ok(norm.chars().last()) {
            return Err(UsernameError::Edge);
        }
        Ok(Self(norm))
    }

    /// The normalized form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Username {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Username {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_case_and_width() {
        assert_eq!(Username::parse("Alice").unwrap().as_str(), "alice");
        // Fullwidth letters fold to ASCII under NFKC.
        assert_eq!(Username::parse("ＡＬＩＣＥ").unwrap().as_str(), "alice");
        assert_eq!(
            Username::parse(" bob.smith-2 ").unwrap().as_str(),
            "bob.smith-2"
        );
    }

    #[test]
    fn refuses_bad_names() {
        assert_eq!(Username::parse("ab"), Err(UsernameError::Length));
        assert_eq!(Username::parse(&"a".repeat(33)), Err(UsernameError::Length));
        assert_eq!(Username::parse("al ice"), Err(UsernameError::Character));
        assert_eq!(Username::parse("alicé"), Err(UsernameError::Character));
        assert_eq!(Username::parse("al/ice"), Err(UsernameError::Character));
        assert_eq!(Username::parse(".alice"), Err(UsernameError::Edge));
        assert_eq!(Username::parse("alice-"), Err(UsernameError::Edge));
    }

    /// The examples of docs/FORMAT.md section 1.1, as written there.
    #[test]
    fn the_format_documents_examples() {
        assert_eq!(Username::parse(" Alice ").unwrap().as_str(), "alice");
        assert_eq!(Username::parse("ＡＬＩＣＥ").unwrap().as_str(), "alice");
        assert_eq!(
            Username::parse("bob.smith-2").unwrap().as_str(),
            "bob.smith-2"
        );
        assert_eq!(Username::parse("élodie"), Err(UsernameError::Character));
        assert_eq!(Username::parse("al"), Err(UsernameError::Length));
        assert_eq!(Username::parse("-bob"), Err(UsernameError::Edge));
        // NFKC folds the Kelvin sign to K, then it is lower-cased.
        assert_eq!(Username::parse("\u{212A}ate").unwrap().as_str(), "kate");
    }
}
