//! The cofre client library (SDK): every encryption and decryption a user's data goes
//! through happens on this side, using [`cofre_core`]. The HTTP client and the local
//! agent arrive with the accounts and vault features.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use cofre_core as core;
