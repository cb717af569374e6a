//! The one error type of the core crate.

/// A result with the core [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the core crate.
///
/// Every authentication or decryption failure (wrong key, tampered byte, truncated,
/// reordered, duplicated or appended data) collapses into [`Error::Decrypt`], so that
/// callers cannot build an oracle out of finer-grained failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Authentication failed: wrong key, or the data was tampered with, truncated,
    /// reordered or extended. No plaintext was released for the failing part.
    #[error("decryption failed: wrong key, or the data was tampered with or truncated")]
    Decrypt,
    /// A wrapped key was made for a different public key than the one offered (for
    /// example, one retired by key rotation). Key ids are public, so saying so leaks
    /// nothing.
    #[error("this key was wrapped for a different key pair")]
    KeyMismatch,
    /// A signature did not verify under the given public key.
    #[error("signature verification failed")]
    BadSignature,
    /// An encoding is structurally invalid (too short, wrong length, bad base64).
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// Which format was being decoded.
        what: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An encoding names a format type, version or algorithm this build does not know.
    #[error("unsupported {what}: {field} {value:#04x}")]
    Unsupported {
        /// Which format was being decoded.
        what: &'static str,
        /// Which header field was rejected.
        field: &'static str,
        /// The value found.
        value: u8,
    },
    /// KDF parameters outside the accepted bounds (too weak, or absurdly expensive).
    #[error("KDF parameters rejected: {0}")]
    KdfParams(&'static str),
    /// A key could not be parsed or is not acceptable (wrong type, size or encoding).
    #[error("invalid key: {0}")]
    InvalidKey(&'static str),
    /// The caller used an API out of order or with arguments it does not accept.
    #[error("invalid use: {0}")]
    Usage(&'static str),
    /// Reading the input or writing the output of a stream failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The underlying crypto library reported an internal failure (for example the
    /// random generator). This never depends on secret data.
    #[error("cryptographic library failure")]
    Crypto,
}

impl From<aws_lc_rs::error::Unspecified> for Error {
    fn from(_: aws_lc_rs::error::Unspecified) -> Self {
        Error::Crypto
    }
}
