//! The cofre HTTP API as types: every request and response body, the stable error
//! codes, and the username rules. The server and the client library both use these,
//! so the wire format is defined once.
//!
//! All routes live under [`PREFIX`]. Binary values (keys, salts, ciphertext) travel in
//! cofre-core's base64url text form; times are Unix seconds.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod account;
pub mod admin;
pub mod auth;
pub mod error;
pub mod json;
pub mod mfa;
pub mod rotation;
pub mod schema;
pub mod secret;
pub mod username;
pub mod vault;
pub mod version;

pub use error::{ErrorBody, ErrorCode};
pub use secret::SecretString;
pub use username::Username;

/// The prefix of every API route of this version.
pub const PREFIX: &str = "/api/v1";

/// A user's role, carried in the access token.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// An ordinary user.
    User,
    /// Manages accounts; never sees any user's data or keys.
    Admin,
}

impl Role {
    /// The role's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(Self::User),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}
