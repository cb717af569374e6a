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
//!
//! Shares are signed statements over wrapped keys: the owner's (context
//! `cofre/v1/share`, FORMAT.md 9.9) and, after the recipient rotated its keys, the
//! recipient's own statement of the re-wrap (`cofre/v1/share-rewrap`, 9.10);
//! [`ReceivedShare::verify`] is the one rule a recipient accepts a share by.

use serde::{Deserialize, Serialize};

use crate::format::{SealedBox, Signature, WrappedKey};
use crate::keys::{ItemKey, PrivateKey, PublicKey};
use crate::{Error, Result};

/// Sealed-box context prefix of an item's metadata; the item id follows.
pub const CONTEXT_METADATA_PREFIX: &[u8] = b"cofre/v1/item-meta/";
/// Stream context prefix of an item's body; the item id follows.
pub const CONTEXT_BODY_PREFIX: &[u8] = b"cofre/v1/item-body/";
/// Signature context of a share (the owner's statement "this key is for them").
pub const CONTEXT_SHARE: &[u8] = b"cofre/v1/share";
/// Signature context of a re-wrapped share (the recipient's statement "I re-wrapped the
/// key the owner signed for my new key", made in a key rotation).
pub const CONTEXT_SHARE_REWRAP: &[u8] = b"cofre/v1/share-rewrap";
/// Largest metadata plaintext (JSON) accepted, in bytes.
pub const MAX_METADATA_LEN: usize = 8 * 1024;
/// Longest item name, in characters.
pub const MAX_NAME_CHARS: usize = 1024;

/// What an item is. On the wire exactly the string `"note"` or `"file"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A text message.
    Note,
    /// A file.
    File,
}

impl<'de> Deserialize<'de> for ItemKind {
    // Only the string forms: serde's derived enum would also take `{"note":null}`.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        match s.as_ref() {
            "note" => Ok(Self::Note),
            "file" => Ok(Self::File),
            other => Err(serde::de::Error::unknown_variant(other, &["note", "file"])),
        }
    }
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
        let json = self.to_json()?;
        SealedBox::seal(key.key(), &metadata_context(item_id), &json)
    }

    /// Opens and parses sealed metadata. A wrong key, another item's metadata or any
    /// changed byte is [`Error::Decrypt`]; authentic but unparsable JSON is
    /// [`Error::Malformed`].
    pub fn open(sealed: &SealedBox, key: &ItemKey, item_id: &str) -> Result<Self> {
        let plain = sealed.open(key.key(), &metadata_context(item_id))?;
        Self::parse(plain.expose())
    }

    /// The metadata JSON as cofre writes it (members in order, no white space).
    pub(crate) fn to_json(&self) -> Result<Vec<u8>> {
        self.validate()?;
        let json = serde_json::to_vec(self).map_err(|_| Error::Usage("metadata encoding"))?;
        if json.len() > MAX_METADATA_LEN {
            return Err(Error::Usage("metadata longer than 8 KiB"));
        }
        Ok(json)
    }

    /// Parses an authenticated metadata plaintext by the rules of FORMAT.md 9.8.
    pub(crate) fn parse(plain: &[u8]) -> Result<Self> {
        if plain.len() > MAX_METADATA_LEN {
            return Err(Error::Malformed {
                what: "item metadata",
                reason: "longer than 8 KiB",
            });
        }
        let malformed = || Error::Malformed {
            what: "item metadata",
            reason: "not the JSON object of FORMAT.md",
        };
        // A JSON object, not the array form serde also reads into a struct.
        let first = plain
            .iter()
            .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
        if first != Some(&b'{') {
            return Err(malformed());
        }
        let meta: Self = serde_json::from_slice(plain).map_err(|_| malformed())?;
        meta.validate().map_err(|_| Error::Malformed {
            what: "item metadata",
            reason: "invalid name or content type",
        })?;
        Ok(meta)
    }
}

/// Each field as a 4-byte big-endian length and its bytes, in order.
fn length_prefixed(fields: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for field in fields {
        out.extend_from_slice(&u32::try_from(field.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(field);
    }
    out
}

/// The message an owner signs when sharing an item: each field as a 4-byte big-endian
/// length and its bytes, in this order: item id, owner's username, recipient's
/// username, the recipient's wrapped key (binary encoding).
pub fn share_message(item_id: &str, owner: &str, recipient: &str, wrapped: &WrappedKey) -> Vec<u8> {
    length_prefixed(&[
        item_id.as_bytes(),
        owner.as_bytes(),
        recipient.as_bytes(),
        wrapped.as_bytes(),
    ])
}

/// Signs a share as its owner.
pub fn sign_share(
    owner_key: &PrivateKey,
    item_id: &str,
    owner: &str,
    recipient: &str,
    wrapped: &WrappedKey,
) -> Result<Signature> {
    Signature::sign(
        owner_key,
        CONTEXT_SHARE,
        &share_message(item_id, owner, recipient, wrapped),
    )
}

/// Verifies a share's signature under the owner's (pinned) public key.
pub fn verify_share(
    signature: &Signature,
    owner_key: &PublicKey,
    item_id: &str,
    owner: &str,
    recipient: &str,
    wrapped: &WrappedKey,
) -> Result<()> {
    signature.verify(
        owner_key,
        CONTEXT_SHARE,
        &share_message(item_id, owner, recipient, wrapped),
    )
}

/// The message a recipient signs when it re-wraps a share's item key for its new key
/// (docs/FORMAT.md 9.10): like [`share_message`], with two wrapped keys at the end:
/// the `original` (the one the owner signed) and the `current` one (for the recipient's
/// new key).
pub fn share_rewrap_message(
    item_id: &str,
    owner: &str,
    recipient: &str,
    original: &WrappedKey,
    current: &WrappedKey,
) -> Vec<u8> {
    length_prefixed(&[
        item_id.as_bytes(),
        owner.as_bytes(),
        recipient.as_bytes(),
        original.as_bytes(),
        current.as_bytes(),
    ])
}

/// Signs a re-wrap statement as the recipient, with its new private key.
pub fn sign_share_rewrap(
    recipient_key: &PrivateKey,
    item_id: &str,
    owner: &str,
    recipient: &str,
    original: &WrappedKey,
    current: &WrappedKey,
) -> Result<Signature> {
    Signature::sign(
        recipient_key,
        CONTEXT_SHARE_REWRAP,
        &share_rewrap_message(item_id, owner, recipient, original, current),
    )
}

/// Verifies a re-wrap statement under the recipient's own public key.
pub fn verify_share_rewrap(
    signature: &Signature,
    recipient_key: &PublicKey,
    item_id: &str,
    owner: &str,
    recipient: &str,
    original: &WrappedKey,
    current: &WrappedKey,
) -> Result<()> {
    signature.verify(
        recipient_key,
        CONTEXT_SHARE_REWRAP,
        &share_rewrap_message(item_id, owner, recipient, original, current),
    )
}

/// A share as its recipient holds it: the item key wrapped for the recipient's current
/// key, the owner's signature and, after the recipient rotated its keys, the wrapped key
/// the owner signed with the recipient's statement of the re-wrap (docs/FORMAT.md 9.10).
#[derive(Clone, Copy, Debug)]
pub struct ReceivedShare<'a> {
    /// The item id.
    pub item_id: &'a str,
    /// The owner's username.
    pub owner: &'a str,
    /// The recipient's username.
    pub recipient: &'a str,
    /// The item key wrapped for the recipient's current key.
    pub wrapped: &'a WrappedKey,
    /// The owner's signature.
    pub signature: &'a Signature,
    /// After a rotation of the recipient's keys: the wrapped key the owner signed.
    pub signed_wrapped: Option<&'a WrappedKey>,
    /// After a rotation of the recipient's keys: the recipient's re-wrap signature.
    pub rewrap_signature: Option<&'a Signature>,
}

impl ReceivedShare<'_> {
    /// Accepts the share (docs/FORMAT.md 9.10) if the owner's signature, under
    /// `owner_key` (the owner's key as the recipient pinned it), covers the current
    /// wrapped key; or if it covers the signed wrapped key and the re-wrap signature
    /// verifies under `recipient_key` (the recipient's own current public key, from its
    /// unlocked keys) over the signed and the current wrapped key. Anything else,
    /// including only one of the signed wrapped key and the re-wrap signature, is
    /// [`Error::BadSignature`].
    pub fn verify(&self, owner_key: &PublicKey, recipient_key: &PublicKey) -> Result<()> {
        let rewrap = match (self.signed_wrapped, self.rewrap_signature) {
            (Some(original), Some(statement)) => Some((original, statement)),
            (None, None) => None,
            _ => return Err(Error::BadSignature),
        };
        let direct = verify_share(
            self.signature,
            owner_key,
            self.item_id,
            self.owner,
            self.recipient,
            self.wrapped,
        );
        match (direct, rewrap) {
            (Ok(()), _) => Ok(()),
            (Err(_), Some((original, statement))) => {
                verify_share(
                    self.signature,
                    owner_key,
                    self.item_id,
                    self.owner,
                    self.recipient,
                    original,
                )?;
                verify_share_rewrap(
                    statement,
                    recipient_key,
                    self.item_id,
                    self.owner,
                    self.recipient,
                    original,
                    self.wrapped,
                )
            }
            (Err(e), None) => Err(e),
        }
    }
}

/// A public key's fingerprint as people compare it: the first 20 bytes of SHA-256 of
/// the SPKI, lowercase base32 (RFC 4648 alphabet) in 8 groups of 4 joined by spaces.
pub fn fingerprint_text(key: &PublicKey) -> String {
    let fp = key.fingerprint();
    let b32 = data_encoding::BASE32_NOPAD
        .encode(fp.get(..20).unwrap_or_default())
        .to_ascii_lowercase();
    b32.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
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
    fn shares_verify_only_with_the_owners_key_and_the_same_fields() {
        let owner = crate::primitives::rsa::PrivateKey::generate().unwrap();
        let other = crate::primitives::rsa::PrivateKey::generate().unwrap();
        let k = ItemKey::generate().unwrap();
        let w = k
            .wrap_for(&[other.public_key()], "i1")
            .unwrap()
            .pop()
            .unwrap();
        let sig = sign_share(&owner, "i1", "alice", "bob", &w).unwrap();
        verify_share(&sig, owner.public_key(), "i1", "alice", "bob", &w).unwrap();
        for (id, from, to) in [
            ("i2", "alice", "bob"),
            ("i1", "mallory", "bob"),
            ("i1", "alice", "carol"),
        ] {
            assert!(verify_share(&sig, owner.public_key(), id, from, to, &w).is_err());
        }
        assert!(verify_share(&sig, other.public_key(), "i1", "alice", "bob", &w).is_err());
        let w2 = k
            .wrap_for(&[other.public_key()], "i1")
            .unwrap()
            .pop()
            .unwrap();
        assert!(verify_share(&sig, owner.public_key(), "i1", "alice", "bob", &w2).is_err());
        // Field boundaries are unambiguous.
        assert_ne!(
            share_message("ab", "c", "d", &w),
            share_message("a", "bc", "d", &w)
        );
        let text = fingerprint_text(owner.public_key());
        assert_eq!(text.len(), 39);
        assert_eq!(text.split(' ').count(), 8);
        assert_ne!(text, fingerprint_text(other.public_key()));
    }

    #[test]
    fn a_rewrapped_share_verifies_only_as_a_whole() {
        let owner = crate::primitives::rsa::PrivateKey::generate().unwrap();
        let old = crate::primitives::rsa::PrivateKey::generate().unwrap();
        let new = crate::primitives::rsa::PrivateKey::generate().unwrap();
        let k = ItemKey::generate().unwrap();
        let wrap = |to: &PrivateKey| k.wrap_for(&[to.public_key()], "i1").unwrap().pop().unwrap();
        let (w0, w1) = (wrap(&old), wrap(&new));
        let sig = sign_share(&owner, "i1", "alice", "bob", &w0).unwrap();
        let rw = sign_share_rewrap(&new, "i1", "alice", "bob", &w0, &w1).unwrap();
        fn share<'a>(
            wrapped: &'a WrappedKey,
            signature: &'a Signature,
            rewrap: Option<(&'a WrappedKey, &'a Signature)>,
        ) -> ReceivedShare<'a> {
            ReceivedShare {
                item_id: "i1",
                owner: "alice",
                recipient: "bob",
                wrapped,
                signature,
                signed_wrapped: rewrap.map(|r| r.0),
                rewrap_signature: rewrap.map(|r| r.1),
            }
        }
        let (o, n) = (owner.public_key(), new.public_key());
        // Before the rotation, directly; after it, through the statement.
        share(&w0, &sig, None).verify(o, old.public_key()).unwrap();
        share(&w1, &sig, Some((&w0, &rw))).verify(o, n).unwrap();
        // Without the statement, or checked with another key, it does not.
        assert!(share(&w1, &sig, None).verify(o, n).is_err());
        assert!(
            share(&w1, &sig, Some((&w0, &rw)))
                .verify(o, old.public_key())
                .is_err()
        );
        assert!(share(&w1, &sig, Some((&w0, &rw))).verify(n, n).is_err());
        // A substituted current key, original key or statement is caught.
        let w1b = wrap(&new);
        assert!(share(&w1b, &sig, Some((&w0, &rw))).verify(o, n).is_err());
        let w0b = wrap(&old);
        assert!(share(&w1, &sig, Some((&w0b, &rw))).verify(o, n).is_err());
        let by_old = sign_share_rewrap(&old, "i1", "alice", "bob", &w0, &w1).unwrap();
        assert!(share(&w1, &sig, Some((&w0, &by_old))).verify(o, n).is_err());
        // A share statement is not a re-wrap statement (the contexts differ).
        let as_share = sign_share(&new, "i1", "alice", "bob", &w1).unwrap();
        assert!(
            share(&w1, &sig, Some((&w0, &as_share)))
                .verify(o, n)
                .is_err()
        );
        let half = ReceivedShare {
            rewrap_signature: None,
            ..share(&w1, &sig, Some((&w0, &rw)))
        };
        assert!(half.verify(o, n).is_err());
        let other = sign_share_rewrap(&new, "i1", "alice", "carol", &w0, &w1).unwrap();
        assert!(share(&w1, &sig, Some((&w0, &other))).verify(o, n).is_err());
        assert_ne!(
            share_rewrap_message("i1", "alice", "bob", &w0, &w1),
            share_rewrap_message("i1", "alice", "bob", &w1, &w0)
        );
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
