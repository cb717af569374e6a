//! Item keys: a random 64-byte key per item, wrapped with RSA-OAEP for each recipient
//! (the owner, and whoever the item is shared with), bound to the item id.

use super::CONTEXT_ITEM_KEY_PREFIX;
use crate::Result;
use crate::format::WrappedKey;
use crate::primitives::rsa::{PrivateKey, PublicKey};
use crate::secret::SymmetricKey;

/// The key of one item. Encrypt its metadata with [`crate::format::SealedBox`] and its
/// body with [`crate::format::stream`], using [`ItemKey::key`].
pub struct ItemKey(SymmetricKey);

impl ItemKey {
    /// A fresh random item key.
    pub fn generate() -> Result<Self> {
        Ok(Self(SymmetricKey::generate()?))
    }

    /// An item key from its 64 bytes (for test vectors and fuzzing; real keys come
    /// from [`ItemKey::generate`] or [`ItemKey::unwrap`]).
    pub fn from_symmetric(key: SymmetricKey) -> Self {
        Self(key)
    }

    /// The symmetric key, for sealing the item's metadata and body.
    pub fn key(&self) -> &SymmetricKey {
        &self.0
    }

    /// The wrapped-key context for `item_id`: `"cofre/v1/item-key/" || item_id`.
    pub fn context(item_id: &str) -> Vec<u8> {
        [CONTEXT_ITEM_KEY_PREFIX, item_id.as_bytes()].concat()
    }

    /// Wraps this key for each recipient, bound to `item_id`.
    pub fn wrap_for(&self, recipients: &[&PublicKey], item_id: &str) -> Result<Vec<WrappedKey>> {
        let ctx = Self::context(item_id);
        recipients
            .iter()
            .map(|r| WrappedKey::wrap(&self.0, r, &ctx))
            .collect()
    }

    /// Unwraps an item key with the recipient's private key.
    pub fn unwrap(wrapped: &WrappedKey, private: &PrivateKey, item_id: &str) -> Result<Self> {
        Ok(Self(wrapped.unwrap(private, &Self::context(item_id))?))
    }
}

impl std::fmt::Debug for ItemKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ItemKey(<redacted>)")
    }
}
