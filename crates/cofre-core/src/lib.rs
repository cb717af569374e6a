//! cofre's cryptographic core.
//!
//! This crate owns every cryptographic operation and every ciphertext format of cofre.
//! The client and the server use it; nothing else implements crypto. It performs no
//! I/O of its own (the stream API works on caller-supplied [`std::io::Read`] and
//! [`std::io::Write`]), no networking and no async.
//!
//! Layout, from the bottom up:
//! - [`primitives`]: thin, typed wrappers over aws-lc-rs (AES-256-CBC, HMAC-SHA256,
//!   HKDF-SHA256, PBKDF2, RSA-OAEP, RSA-PSS, random) and the `argon2` crate.
//! - [`secret`]: zeroizing key types that never print.
//! - [`mod@format`]: the versioned binary encodings (sealed box, wrapped key, signature,
//!   chunked stream) and their base64url text form. `docs/FORMAT.md` specifies them.
//! - [`keys`]: the key hierarchy (master key, auth key, stretched key, user key,
//!   RSA key pair, recovery key, item keys) and the server's own secret.
//! - [`totp`]: RFC 6238 one-time codes with the matched step, for replay checks.
//! - [`backup`]: the backup archive (header, signed manifest, trailer) and the
//!   passphrase-protected backup key file.
//! - [`vault`]: an item's metadata and the contexts binding it and its body to the
//!   item id.
//! - [`owner_copy`]: the owner's copy of an item's metadata under a key derived from
//!   the user key, for listing without an RSA operation per item.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod backup;
pub mod error;
pub mod format;
pub mod keys;
pub mod owner_copy;
pub mod primitives;
pub mod secret;
pub mod totp;
pub mod vault;

#[cfg(test)]
mod vector_tests;

pub use error::{Error, Result};
