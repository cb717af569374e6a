//! The cofre client library (SDK). Every key derivation, encryption and decryption of a
//! user's data happens on this side, with [`cofre_core`]; the server only ever sees
//! auth keys, public keys and ciphertext.
//!
//! - [`Client`]: the HTTP API, one method per operation ([`client`], [`account`],
//!   [`mfa`], [`admin`], [`vault`]).
//! - [`listing`]: listing the vault from the owner copies of item metadata, without
//!   an RSA operation per item, migrating items that have none.
//! - [`resume`]: uploads and downloads continued by another process.
//! - [`password`]: the strength check the server's policy asks for.
//! - [`contacts`]: contacts' public keys, pinned on first use.
//! - `agent` (Unix): the local agent that keeps a session unlocked between commands.
//! - [`error`]: the error type, [`ClientError`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod account;
pub mod admin;
#[cfg(unix)]
pub mod agent;
pub mod client;
pub mod contacts;
mod download;
pub mod error;
#[cfg(unix)]
mod hardening;
pub mod listing;
pub mod mfa;
pub mod password;
pub mod resume;
pub mod rotation;
pub mod vault;

pub use client::Client;
pub use cofre_api as api;
pub use cofre_core as core;
pub use error::ClientError;
