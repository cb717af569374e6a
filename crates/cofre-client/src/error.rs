//! The client library's error type.

use cofre_api::ErrorCode;

/// What can go wrong talking to a server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server answered with an API error. It displays as the server's message only:
    /// the stable [`ErrorCode`] is [`ClientError::code`], for programs.
    #[error("{message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// Stable code.
        code: ErrorCode,
        /// The server's message.
        message: String,
        /// `Retry-After`, in seconds, when throttled.
        retry_after: Option<u64>,
    },
    /// The server could not be reached, or answered something that is not the API.
    #[error("cannot talk to the server: {0}")]
    Http(#[from] reqwest::Error),
    /// A key could not be derived or opened (for example a wrong password or recovery key).
    #[error("{0}")]
    Crypto(#[from] cofre_core::Error),
    /// The password does not meet the server's policy.
    #[error("password refused: {0}")]
    WeakPassword(String),
    /// A bad URL or argument.
    #[error("{0}")]
    Usage(String),
    /// An item's stored data failed authentication (tampered, swapped or damaged).
    #[error(
        "item {item} failed its integrity check ({reason}): it was damaged or tampered with; nothing of it was used"
    )]
    Integrity {
        /// The item id.
        item: String,
        /// What failed.
        reason: String,
    },
    /// A local file could not be read or written.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Writing a download's plaintext to its destination failed (a full disk, a closed
    /// pipe...): the I/O error is kept as is, for the caller to tell these apart.
    #[error("writing the output: {0}")]
    Output(#[source] std::io::Error),
    /// A password or key given by the user was checked on this machine and is wrong.
    #[error("{0}")]
    WrongCredentials(String),
}

impl ClientError {
    /// The API error code, if the server answered with one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Api { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// Result alias.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;
