//! Typed wrappers over the primitives cofre uses, all from aws-lc-rs except Argon2id
//! (and TOTP's HMAC-SHA1, in [`crate::totp`]).
//!
//! These are building blocks for [`crate::format`] and [`crate::keys`]; they do not
//! authenticate anything by themselves (AES-CBC here is unauthenticated: always use it
//! through [`crate::format::SealedBox`] or [`crate::format::stream`]).

pub mod aes_cbc;
pub mod argon2id;
pub mod digest;
pub mod ed25519;
pub mod hkdf;
pub mod hmac;
pub mod pbkdf2;
pub mod rand;
pub mod rsa;
