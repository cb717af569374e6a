//! The owner's copy of an item's metadata (docs/FORMAT.md 9.12): the same metadata
//! JSON as the item's own metadata box, sealed a second time under a key derived from
//! the owner's user key, so that listing and name lookup need no RSA private-key
//! operation per item.
//!
//! ```text
//! user key ──HKDF "cofre/v1/vault-meta-key"──▶ vault metadata key (64 B)
//! vault metadata key ──sealed box, context
//!     "cofre/v1/item-meta-owner/" || id || "/" || hex(SHA-256(metadata box))──▶ JSON
//! ```
//!
//! The context names the item id (a copy cannot move to another item) and the hash of
//! the exact item-key metadata box it was made beside (a copy left from before a
//! rename or a new version does not open beside the new box). The item-key box stays
//! authoritative: the owner copy is a second sealing of the same JSON, never a
//! replacement of it.

use crate::Result;
use crate::format::SealedBox;
use crate::primitives::{digest, hkdf};
use crate::secret::{SecretBytes, SymmetricKey};
use crate::vault::ItemMetadata;

/// HKDF info of the vault metadata key (IKM: the user key, salt: empty, L = 64).
pub const LABEL_VAULT_META_KEY: &[u8] = b"cofre/v1/vault-meta-key";
/// Sealed-box context prefix of an owner copy; the item id, `/` and the hex SHA-256
/// of the item's metadata box follow.
pub const CONTEXT_OWNER_META_PREFIX: &[u8] = b"cofre/v1/item-meta-owner/";

/// The vault metadata key: seals the owner's copies of its items' metadata. Derived
/// from the user key, so it never changes with a password change, a recovery or a key
/// rotation (none of them changes the user key).
#[derive(Clone)]
pub struct VaultMetaKey(SymmetricKey);

impl VaultMetaKey {
    /// HKDF-SHA256(IKM = the 64-byte user key, salt = empty,
    /// info = `"cofre/v1/vault-meta-key"`, L = 64), as a symmetric key.
    pub fn derive(user_key: &SymmetricKey) -> Result<Self> {
        let mut out = SecretBytes::<64>::zero();
        hkdf::derive(
            user_key.expose(),
            &[],
            &[LABEL_VAULT_META_KEY],
            out.expose_mut(),
        )?;
        Ok(Self(SymmetricKey::from_slice(out.expose())?))
    }

    /// The key itself (for test vectors and tests).
    pub fn key(&self) -> &SymmetricKey {
        &self.0
    }
}

impl std::fmt::Debug for VaultMetaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VaultMetaKey(<redacted>)")
    }
}

/// `"cofre/v1/item-meta-owner/" || item_id || "/" || hex(SHA-256(metadata box))`,
/// where the metadata box is the binary encoding (section 5) of the item's metadata
/// sealed under its item key, and the hex is 64 lowercase digits.
pub fn owner_copy_context(item_id: &str, item_metadata: &SealedBox) -> Vec<u8> {
    let hash = digest::sha256(&[item_metadata.as_bytes()]);
    let mut c = CONTEXT_OWNER_META_PREFIX.to_vec();
    c.extend_from_slice(item_id.as_bytes());
    c.push(b'/');
    c.extend_from_slice(data_encoding::HEXLOWER.encode(&hash).as_bytes());
    c
}

impl ItemMetadata {
    /// Seals the owner's copy of this metadata beside the item-key box
    /// `item_metadata` of the item `item_id` (which must hold the same metadata).
    pub fn seal_owner_copy(
        &self,
        key: &VaultMetaKey,
        item_id: &str,
        item_metadata: &SealedBox,
    ) -> Result<SealedBox> {
        let json = self.to_json()?;
        SealedBox::seal(
            key.key(),
            &owner_copy_context(item_id, item_metadata),
            &json,
        )
    }

    /// Opens the owner's copy served beside the item-key box `item_metadata` of the
    /// item `item_id`. Another item's or another account's copy, a copy made beside
    /// another metadata box (before a rename or a new version) and any changed byte
    /// are [`crate::Error::Decrypt`]; authentic JSON that breaks the rules of FORMAT.md
    /// 9.8 is [`crate::Error::Malformed`].
    pub fn open_owner_copy(
        sealed: &SealedBox,
        key: &VaultMetaKey,
        item_id: &str,
        item_metadata: &SealedBox,
    ) -> Result<Self> {
        let plain = sealed.open(key.key(), &owner_copy_context(item_id, item_metadata))?;
        Self::parse(plain.expose())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::keys::ItemKey;
    use crate::vault::ItemKind;

    fn meta(name: &str) -> ItemMetadata {
        ItemMetadata {
            kind: ItemKind::Note,
            name: name.into(),
            content_type: "text/plain; charset=utf-8".into(),
            size: 3,
            created: 1,
            modified: 2,
        }
    }

    #[test]
    fn owner_copy_opens_only_beside_its_own_box_and_item() {
        let user = SymmetricKey::generate().unwrap();
        let vk = VaultMetaKey::derive(&user).unwrap();
        let item_key = ItemKey::generate().unwrap();
        let id = "00112233445566778899aabbccddeeff";
        let other = "ffeeddccbbaa99887766554433221100";
        let m = meta("a");
        let boxed = m.seal(&item_key, id).unwrap();
        let copy = m.seal_owner_copy(&vk, id, &boxed).unwrap();
        assert_eq!(
            ItemMetadata::open_owner_copy(&copy, &vk, id, &boxed).unwrap(),
            m
        );
        // Another item id, another metadata box (a rename), another user key.
        assert!(ItemMetadata::open_owner_copy(&copy, &vk, other, &boxed).is_err());
        let renamed = meta("b").seal(&item_key, id).unwrap();
        assert!(ItemMetadata::open_owner_copy(&copy, &vk, id, &renamed).is_err());
        let vk2 = VaultMetaKey::derive(&SymmetricKey::generate().unwrap()).unwrap();
        assert!(ItemMetadata::open_owner_copy(&copy, &vk2, id, &boxed).is_err());
        // The owner copy is not an item-key box, and vice versa.
        assert!(ItemMetadata::open(&copy, &item_key, id).is_err());
    }

    #[test]
    fn the_key_is_deterministic_and_separate_from_the_user_key() {
        let user = SymmetricKey::generate().unwrap();
        let a = VaultMetaKey::derive(&user).unwrap();
        let b = VaultMetaKey::derive(&user).unwrap();
        assert_eq!(a.key().expose(), b.key().expose());
        assert_ne!(a.key().expose(), user.expose());
    }
}
