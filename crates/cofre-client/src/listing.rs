//! Listing the caller's vault without an RSA private-key operation per item
//! (docs/FORMAT.md 9.12).
//!
//! Each of the caller's items carries, beside its metadata sealed under the item key,
//! the owner's copy of the same metadata sealed under the vault metadata key (derived
//! from the user key). [`Client::list`] reads names, sizes and dates from that copy: a
//! SHA-256 and an HMAC per item, no RSA. An item whose copy is missing (written before
//! copies existed, or by a client that does not write them) or does not authenticate
//! (damaged, stale, or another item's: a server's doing) is opened the old way, with
//! one RSA-OAEP unwrap, and a fresh copy is sealed and stored for it; so an existing
//! vault migrates on its first listing, page by page (what was stored stays stored if
//! the listing is interrupted), and a vault of old and new items lists correctly
//! throughout. Items shared with the caller have no owner copy and keep the RSA path
//! ([`Client::shared_with_me`]).
//!
//! Opening an item for its key ([`ListedItem::open`]) costs the one RSA unwrap, and the
//! metadata sealed under the item key is authoritative: the owner copy only ever
//! stands in for it in listings.

use cofre_api::SecretString;
use cofre_api::vault::{
    Item, ItemPage, MAX_OWNER_METADATA_BATCH, OwnerMetadataBatch, OwnerMetadataCopy,
    OwnerMetadataStored,
};
use cofre_core::format::SealedBox;
use cofre_core::keys::UnlockedKeys;
use cofre_core::owner_copy::VaultMetaKey;
use cofre_core::vault::ItemMetadata;
use reqwest::Method;

use crate::Client;
use crate::error::{ClientError, Result};
use crate::vault::{VaultItem, open_item};

/// Items per page asked of the server while listing.
const PAGE: u32 = 1000;

/// An item as a listing sees it: the server's clear fields and the authenticated
/// metadata, without the item key.
#[derive(Clone, Debug)]
pub struct ListedItem {
    /// Id.
    pub id: String,
    /// Owner's username.
    pub owner: String,
    /// Encoded body length.
    pub encoded_size: u64,
    /// Server commit time.
    pub created_at: i64,
    /// Server time of the last change.
    pub updated_at: i64,
    /// The metadata, or why it could not be authenticated (the text of the item's
    /// integrity error).
    pub metadata: std::result::Result<ItemMetadata, String>,
    /// Where the metadata came from.
    pub source: MetadataSource,
    raw: Item,
}

/// Where a listed item's metadata was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetadataSource {
    /// The owner's copy (no RSA operation).
    OwnerCopy,
    /// The box under the item key, after an RSA unwrap: an item of the caller's with no
    /// valid owner copy (one was then sealed for it), or an item shared with the caller.
    ItemKey,
}

impl ListedItem {
    /// The authenticated metadata, or the item's integrity error.
    pub fn content(&self) -> Result<&ItemMetadata> {
        self.metadata.as_ref().map_err(|e| ClientError::Integrity {
            item: self.id.clone(),
            reason: e.clone(),
        })
    }

    /// Opens the item with its key (one RSA-OAEP unwrap), for a download, a rename or
    /// a share. The metadata sealed under the item key is what the opened item holds.
    pub fn open(&self, keys: &UnlockedKeys) -> VaultItem {
        open_item(self.raw.clone(), keys)
    }

    /// A listed item from an item already opened with its key (an item shared with the
    /// caller, whose share the caller verified).
    pub fn from_opened(item: &VaultItem) -> Self {
        Self {
            id: item.id.clone(),
            owner: item.owner.clone(),
            encoded_size: item.encoded_size,
            created_at: item.created_at,
            updated_at: item.updated_at,
            metadata: item
                .opened
                .as_ref()
                .map(|o| o.metadata.clone())
                .map_err(|e| e.to_string()),
            source: MetadataSource::ItemKey,
            raw: Item {
                id: item.id.clone(),
                owner: item.owner.clone(),
                size: item.encoded_size,
                created_at: item.created_at,
                updated_at: item.updated_at,
                metadata: item.sealed_metadata.clone(),
                wrapped_key: item.wrapped_key.clone(),
                owner_metadata: None,
                signature: item.signature.clone(),
                signed_wrapped_key: item.signed_wrapped_key.clone(),
                rewrap_signature: item.rewrap_signature.clone(),
            },
        }
    }
}

/// What a listing did besides reading: the migration of items without an owner copy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListingReport {
    /// Items listed from their owner copy.
    pub from_owner_copy: usize,
    /// Items opened with an RSA unwrap because their owner copy was missing or did not
    /// authenticate.
    pub opened_with_rsa: usize,
    /// Owner copies the server stored for them.
    pub copies_stored: usize,
    /// Owner copies it did not store (the item changed meanwhile, or a request failed):
    /// the next listing tries again.
    pub copies_not_stored: usize,
}

/// Lists a page of the caller's own items: each from its owner copy if that
/// authenticates, else opened with RSA, in which case a fresh owner copy for it is
/// returned too. Runs on all cores.
pub fn list_own_items(
    items: Vec<Item>,
    keys: &UnlockedKeys,
    vault_key: &VaultMetaKey,
) -> Vec<(ListedItem, Option<OwnerMetadataCopy>)> {
    use rayon::prelude::*;
    items
        .into_par_iter()
        .map(|item| list_own_item(item, keys, vault_key))
        .collect()
}

fn from_owner_copy(item: &Item, vault_key: &VaultMetaKey) -> Option<ItemMetadata> {
    let copy = SealedBox::from_text(item.owner_metadata.as_deref()?).ok()?;
    let boxed = SealedBox::from_text(&item.metadata).ok()?;
    ItemMetadata::open_owner_copy(&copy, vault_key, &item.id, &boxed).ok()
}

fn list_own_item(
    item: Item,
    keys: &UnlockedKeys,
    vault_key: &VaultMetaKey,
) -> (ListedItem, Option<OwnerMetadataCopy>) {
    let listed = |item: Item, metadata, source| ListedItem {
        id: item.id.clone(),
        owner: item.owner.clone(),
        encoded_size: item.size,
        created_at: item.created_at,
        updated_at: item.updated_at,
        metadata,
        source,
        raw: item,
    };
    if let Some(m) = from_owner_copy(&item, vault_key) {
        return (listed(item, Ok(m), MetadataSource::OwnerCopy), None);
    }
    // No copy, or one that does not open beside this item's metadata: the RSA path,
    // which authenticates the item-key box itself, then a fresh copy.
    let opened = open_item(item.clone(), keys);
    let (metadata, copy) = match opened.opened {
        Ok(o) => {
            let copy = SealedBox::from_text(&item.metadata).ok().and_then(|boxed| {
                let c = o
                    .metadata
                    .seal_owner_copy(vault_key, &item.id, &boxed)
                    .ok()?;
                Some(OwnerMetadataCopy {
                    id: item.id.clone(),
                    metadata: boxed,
                    owner_metadata: c,
                })
            });
            (Ok(o.metadata), copy)
        }
        Err(e) => (Err(e.to_string()), None),
    };
    (listed(item, metadata, MetadataSource::ItemKey), copy)
}

impl Client {
    /// Every item of the caller's, listed from the owner copies of their metadata (no
    /// RSA operation per item), migrating items that have none; see the module
    /// documentation. A damaged item comes back with its error in
    /// [`ListedItem::metadata`]; the others are unaffected.
    pub async fn list(
        &self,
        access: &SecretString,
        keys: &UnlockedKeys,
    ) -> Result<Vec<ListedItem>> {
        Ok(self.list_with_report(access, keys).await?.0)
    }

    /// [`Client::list`], and what it did.
    pub async fn list_with_report(
        &self,
        access: &SecretString,
        keys: &UnlockedKeys,
    ) -> Result<(Vec<ListedItem>, ListingReport)> {
        let vault_key = keys.vault_meta_key()?;
        let mut report = ListingReport::default();
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut path = format!("/items?limit={PAGE}");
            if let Some(a) = &after {
                path.push_str("&after=");
                path.push_str(a);
            }
            let page: ItemPage = self
                .call::<(), _>(Method::GET, &path, Some(access), None)
                .await?;
            // On all cores, blocking this task as long (as `Client::items` does).
            let listed = list_own_items(page.items, keys, &vault_key);
            let mut copies = Vec::new();
            for (item, copy) in listed {
                match item.source {
                    MetadataSource::OwnerCopy => report.from_owner_copy += 1,
                    MetadataSource::ItemKey => report.opened_with_rsa += 1,
                }
                copies.extend(copy);
                all.push(item);
            }
            // Stored page by page: an interrupted first listing keeps its progress.
            for batch in copies.chunks(MAX_OWNER_METADATA_BATCH) {
                let n = batch.len();
                match self.store_owner_copies(access, batch.to_vec()).await {
                    Ok(stored) => {
                        report.copies_stored += stored;
                        report.copies_not_stored += n - stored.min(n);
                    }
                    Err(_) => report.copies_not_stored += n,
                }
            }
            match page.next {
                Some(n) => after = Some(n),
                None => return Ok((all, report)),
            }
        }
    }

    /// Stores owner copies (`PUT /items/owner-metadata`); returns how many the server
    /// stored.
    pub async fn store_owner_copies(
        &self,
        access: &SecretString,
        items: Vec<OwnerMetadataCopy>,
    ) -> Result<usize> {
        let req = OwnerMetadataBatch { items };
        let stored: OwnerMetadataStored = self
            .call(
                Method::PUT,
                "/items/owner-metadata",
                Some(access),
                Some(&req),
            )
            .await?;
        Ok(stored.stored.len())
    }
}
