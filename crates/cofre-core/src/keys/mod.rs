//! The key hierarchy of cofre (docs/FORMAT.md, "Key hierarchy"), as types.
//!
//! ```text
//! password ──KDF(salt, params)──▶ MasterKey (32 B, never leaves the client)
//! MasterKey ──HKDF "cofre/v1/auth"──▶ AuthKey ──▶ server stores bcrypt(AuthKey)
//! MasterKey ──HKDF "cofre/v1/enc" + "cofre/v1/mac"──▶ stretched key (64 B)
//! stretched key ──SealedBox──▶ user key (random 64 B)
//! RecoveryKey ──HKDF "cofre/v1/recovery"──▶ 64 B ──SealedBox──▶ the same user key
//! user key ──SealedBox──▶ RSA-3072 private key (PKCS#8)
//! RSA public key ──WrappedKey (OAEP)──▶ item key (random 64 B), one per recipient
//! ```
//!
//! Changing the password re-wraps the user key only; nothing below it changes.

pub mod account;
pub mod item;
pub mod kdf;
pub mod master;
pub mod recovery;
pub mod server;

pub use crate::primitives::rsa::{PrivateKey, PublicKey};
pub use account::{AccountKeys, NewAccount, PasswordChange, UnlockedKeys};
pub use item::ItemKey;
pub use kdf::{KdfParams, KdfSalt};
pub use master::{AuthKey, MasterKey};
pub use recovery::RecoveryKey;
pub use server::ServerSecret;

/// HKDF info of the auth key.
pub const LABEL_AUTH: &[u8] = b"cofre/v1/auth";
/// HKDF info of the stretched key's encryption half.
pub const LABEL_ENC: &[u8] = b"cofre/v1/enc";
/// HKDF info of the stretched key's MAC half.
pub const LABEL_MAC: &[u8] = b"cofre/v1/mac";
/// HKDF info of the key derived from the recovery key.
pub const LABEL_RECOVERY: &[u8] = b"cofre/v1/recovery";
/// HKDF label of the recovery auth key (proves possession of the recovery key).
pub const LABEL_RECOVERY_AUTH: &[u8] = b"cofre/v1/recovery-auth";

/// Sealed-box context of the user key under the stretched key.
pub const CONTEXT_USER_KEY_PASSWORD: &[u8] = b"cofre/v1/user-key/password";
/// Sealed-box context of the user key under the recovery key.
pub const CONTEXT_USER_KEY_RECOVERY: &[u8] = b"cofre/v1/user-key/recovery";
/// Sealed-box context of the PKCS#8 private key under the user key.
pub const CONTEXT_PRIVATE_KEY: &[u8] = b"cofre/v1/private-key";
/// Wrapped-key context prefix of an item key; the item id follows.
pub const CONTEXT_ITEM_KEY_PREFIX: &[u8] = b"cofre/v1/item-key/";
