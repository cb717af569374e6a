//! Typed wrappers over the primitives cofre uses, all from aws-lc-rs except Argon2id.
//!
//! These are building blocks for [`crate::format`] and [`crate::keys`]; they do not
//! authenticate anything by themselves (AES-CBC here is unauthenticated: always use it
//! through [`crate::format::SealedBox`] or [`crate::format::stream`]).

pub mod aes_cbc;
pub mod argon2id;
pub mod hkdf;
pub mod hmac;
pub mod pbkdf2;
pub mod rand;
pub mod rsa;
