//! The vault's item format: what an item's metadata says, and the contexts that bind
//! an item's metadata and body to its id (docs/FORMAT.md, "Vault items").
//!
//! ```text
//! item key  ──wrapped key, context "cofre/v1/item-key/"  || id──▶ per recipient
//! metadata  ──sealed box,  context "cofre/v1/item-meta/" || id──▶ JSON (ItemMetadata)
//! body      ──stream,      context "cofre/v1/item-body/" || id──▶ the bytes
//! ```
//!
//! Because every context names the item id, a server that serves one item's
//! metadata, body or wrapped key under another id is caught: the tag fails.

use serde::{Deserialize, Serialize};

use crate::format::SealedBox;
use crate::keys::ItemKey;
use crate::{Error, Result};

/// Sealed-box context prefix of an item's metadata; the item id follows.
pub const CONTEXT_METADATA_PREFIX: &[u8] = b"cofre/v1/item-meta/";
/// Stream context prefix of an item's body; the item id follows.
pub const CONTEXT_BODY_PREFIX: &[u8] = b"cofre/v1/item-body/";
/// Largest metadata plaintext (JSON) accepted, in bytes.
pub const MAX_METADATA_LEN: usize = 8 * 1024;
/// Longest item name, in characters.
pub const MAX_NAME_CHARS: usize = 1024;

/// What an item is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A text message.
    Note,
    /// A file.
    File,
}

/// An item's metadata, encrypted under its item key. Times are Unix seconds set by the
/// client that wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemMetadata {
    /// Note or file.
    pub kind: ItemKind,
    /// The name (a file name, or a note's title).
    pub name: String,
    /// MIME type, e.g. `text/plain; charset=utf-8`.
    pub content_type: String,
    /// Plaintext size of the body in bytes.
    pub size: u64,
    /// When the item was created.
    pub created: i64,
    /// When its body or name last changed.
    pub modified: i64,
}

/// `"cofre/v1/item-meta/" || item_id`.
pub fn metadata_context(item_id: &str) -> Vec<u8> {
    [CONTEXT_METADATA_PREFIX, item_id.as_bytes()].concat()
}

/// `"cofre/v1/item-body/" || item_id`.
pub fn body_context(item_id: &str) -> Vec<u8> {
    [CONTEXT_BODY_PREFIX, item_id.as_bytes()].concat()
}

impl ItemMetadata {
    /// Checks the name (non-empty, no control characters, at most
    /// [`MAX_NAME_CHARS`]).
    pub fn validate(&self) -> Result<()> {
        let chars = self.name.chars().count();
        if chars == 0 || chars > MAX_NAME_CHARS || self.name.chars().any(char::is_control) {
            return Err(Error::Usage(
                "an item name must be 1 to 1024 characters with no control characters",
            ));
        }
        if self.content_type.len() > 255 {
            return Err(Error::Usage("content type longer than 255 bytes"));
        }
        Ok(())
    }

    /// Seals the metadata under the item key, bound to `item_id`.
    pub fn seal(&self, key: &ItemKey, item_id: &str) -> Result<SealedBox> {
        self.validate()?;
        let json = serde_json::to_vec(self).map_err(|_| Error::Usage("metadata encoding"))?;
        if json.len() > MAX_METADATA_LEN {
            return Err(Error::Usage("metadata longer than 8 KiB"));
        }
        SealedBox::seal(key.key(), &metadata_context(item_id), &json)
    }

    /// Opens and parses sealed metadata. A wrong key, another item's metadata or any
    /// changed byte is [`Error::Decrypt`]; authentic but unparsable JSON is
    /// [`Error::Malformed`].
    pub fn open(sealed: &SealedBox, key: &ItemKey, item_id: &str) -> Result<Self> {
        let plain = sealed.open(key.key(), &metadata_context(item_id))?;
        if plain.expose().len() > MAX_METADATA_LEN {
            return Err(Error::Malformed {
                what: "item metadata",
                reason: "longer than 8 KiB",
            });
        }
        let meta: Self = serde_json::from_slice(plain.expose()).map_err(|_| Error::Malformed {
            what: "item metadata",
            reason: "not the JSON object of FORMAT.md",
        })?;
        meta.validate().map_err(|_| Error::Malformed {
            what: "item metadata",
            reason: "invalid name or content type",
        })?;
        Ok(meta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> ItemMetadata {
        ItemMetadata {
            kind: ItemKind::File,
            name: "report.pdf".into(),
            content_type: "application/pdf".into(),
            size: 12,
            created: 1_700_000_000,
            modified: 1_700_000_001,
        }
    }

    #[test]
    fn metadata_round_trips_and_is_bound_to_the_item_id() {
        let k = ItemKey::generate().unwrap();
        let sealed = meta().seal(&k, "item-a").unwrap();
        assert_eq!(ItemMetadata::open(&sealed, &k, "item-a").unwrap(), meta());
        assert!(matches!(
            ItemMetadata::open(&sealed, &k, "item-b"),
            Err(Error::Decrypt)
        ));
        let other = ItemKey::generate().unwrap();
        assert!(matches!(
            ItemMetadata::open(&sealed, &other, "item-a"),
            Err(Error::Decrypt)
        ));
    }

    #[test]
    fn bad_names_are_refused() {
        let k = ItemKey::generate().unwrap();
        for name in ["", "a\nb", "\u{7f}", &"x".repeat(1025)] {
            let mut m = meta();
            m.name = name.to_owned();
            assert!(m.seal(&k, "i").is_err(), "{name:?}");
        }
    }
}
