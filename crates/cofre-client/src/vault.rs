//! The vault on the client: encrypting and uploading items, listing and opening them,
//! downloading and decrypting bodies, renaming and deleting. Every key operation
//! happens here; the server sees ciphertext, sizes and ids.
//!
//! Uploads go in parts of whole stream chunks and resume after a dropped connection
//! (the server says how much arrived; the part in hand is sent again). Downloads
//! resume with a range request from the last verified chunk. Nothing of an item is
//! trusted until its tag verified: a damaged item is an [`ClientError::Integrity`]
//! naming it, and the others still open.

use std::io::{Read, Write};
use std::time::Duration;

use cofre_api::SecretString;
use cofre_api::vault::{
    CommitItemRequest, CreateItemRequest, CreateItemResponse, Item, ItemPage, PendingUpload,
    PendingUploads, ShareInfo, ShareRequest, UpdateMetadataRequest, UploadStatus, Usage,
    UserPublicKey,
};
use cofre_core::format::stream::{self, Encryptor, PartDecryptor};
use cofre_core::format::{SealedBox, Signature, WrappedKey};
use cofre_core::keys::{ItemKey, PublicKey, UnlockedKeys};
use cofre_core::vault::{ItemKind, ItemMetadata, body_context};
use reqwest::Method;

use crate::Client;
use crate::error::{ClientError, Result};

/// How often a download is retried after a transport failure.
pub(crate) const ATTEMPTS: u32 = 6;
/// The pauses between attempts of an upload request (create, part) that failed for a
/// reason that may pass: the server unreachable or restarting, a 5xx, or the upload
/// held by another writer. About 76 s in all, longer than a crashed server's upload
/// lease (60 s), so an upload outlives a server restart.
const UPLOAD_RETRY_MS: [u64; 10] = [
    250, 500, 1_000, 2_000, 4_000, 8_000, 15_000, 15_000, 15_000, 15_000,
];
/// Parts hold at most this many chunks (8 MiB of plaintext with 64 KiB chunks).
const MAX_CHUNKS_PER_PART: usize = 128;
/// Longest a single body transfer may take.
const BODY_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// What to store: the metadata the user sees.
#[derive(Clone, Debug)]
pub struct NewItem {
    /// Note or file.
    pub kind: ItemKind,
    /// Name.
    pub name: String,
    /// MIME type.
    pub content_type: String,
}

/// Where an upload's plaintext comes from.
pub enum Source {
    /// Bytes in memory (a note).
    Bytes(Vec<u8>),
    /// A reader of known length (a file): streamed, never held whole in memory.
    Sized(Box<dyn Read + Send>, u64),
    /// A reader of unknown length (standard input): encrypted to a temporary file of
    /// ciphertext first, since the server needs the length up front.
    Unsized(Box<dyn Read + Send>),
}

/// An item as the client sees it: the server's clear fields, and either the opened
/// metadata and item key or why they could not be opened.
pub struct VaultItem {
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
    /// The wrapped item key as served (the caller's own, or the one shared with them).
    pub wrapped_key: String,
    /// The metadata sealed under the item key, text form, as served.
    pub sealed_metadata: String,
    /// For an item shared with the caller: the owner's signature over the share.
    /// Check it with [`verify_share`] and the owner's pinned key before trusting it.
    pub signature: Option<String>,
    /// For an item shared with the caller, after the caller rotated its keys: the
    /// wrapped key the owner's signature covers (checked by [`verify_share`]).
    pub signed_wrapped_key: Option<String>,
    /// With `signed_wrapped_key`: the caller's own signature over the re-wrap.
    pub rewrap_signature: Option<String>,
    /// The opened content, or the integrity error.
    pub opened: Result<Opened>,
}

/// An item's authenticated metadata and its key.
pub struct Opened {
    /// Metadata.
    pub metadata: ItemMetadata,
    /// Item key.
    pub key: ItemKey,
}

impl VaultItem {
    /// The opened content, or the item's integrity error.
    pub fn content(&self) -> Result<&Opened> {
        self.opened.as_ref().map_err(|e| ClientError::Integrity {
            item: self.id.clone(),
            reason: e.to_string(),
        })
    }
}

pub(crate) fn integrity(id: &str, reason: impl std::fmt::Display) -> ClientError {
    ClientError::Integrity {
        item: id.to_owned(),
        reason: reason.to_string(),
    }
}

/// Unwraps the item key and opens the metadata (one RSA-OAEP decryption).
pub fn open_item(item: Item, keys: &UnlockedKeys) -> VaultItem {
    let opened = (|| -> Result<Opened> {
        let wrapped =
            WrappedKey::from_text(&item.wrapped_key).map_err(|e| integrity(&item.id, e))?;
        let key = ItemKey::unwrap(&wrapped, keys.private_key(), &item.id)
            .map_err(|e| integrity(&item.id, e))?;
        let sealed = SealedBox::from_text(&item.metadata).map_err(|e| integrity(&item.id, e))?;
        let metadata =
            ItemMetadata::open(&sealed, &key, &item.id).map_err(|e| integrity(&item.id, e))?;
        Ok(Opened { metadata, key })
    })();
    VaultItem {
        id: item.id,
        owner: item.owner,
        encoded_size: item.size,
        created_at: item.created_at,
        updated_at: item.updated_at,
        wrapped_key: item.wrapped_key,
        sealed_metadata: item.metadata,
        signature: item.signature,
        signed_wrapped_key: item.signed_wrapped_key,
        rewrap_signature: item.rewrap_signature,
        opened,
    }
}

/// Checks that the owner of a shared item really shared it with `me` (docs/FORMAT.md
/// 9.9 and 9.10): the owner's signature must verify under `owner_key` (the owner's
/// *pinned* key, not merely what the server says today) over this item id, owner,
/// recipient and wrapped key; or, after `me` rotated its keys, over the wrapped key the
/// owner signed, with `me`'s own statement of the re-wrap verifying under `me`'s
/// current public key (from `keys`, the caller's unlocked keys, never from the server).
/// Anything else is an [`ClientError::Integrity`] naming the item.
pub fn verify_share(
    item: &VaultItem,
    me: &str,
    keys: &UnlockedKeys,
    owner_key: &PublicKey,
) -> Result<()> {
    let bad = |why: &str| integrity(&item.id, format!("share from {}: {why}", item.owner));
    let sig = item
        .signature
        .as_deref()
        .ok_or_else(|| bad("no signature"))?;
    let sig = Signature::from_text(sig).map_err(|_| bad("malformed signature"))?;
    let wrapped = WrappedKey::from_text(&item.wrapped_key).map_err(|_| bad("malformed key"))?;
    let signed_wrapped = item
        .signed_wrapped_key
        .as_deref()
        .map(WrappedKey::from_text)
        .transpose()
        .map_err(|_| bad("malformed signed key"))?;
    let rewrap_signature = item
        .rewrap_signature
        .as_deref()
        .map(Signature::from_text)
        .transpose()
        .map_err(|_| bad("malformed re-wrap signature"))?;
    cofre_core::vault::ReceivedShare {
        item_id: &item.id,
        owner: &item.owner,
        recipient: me,
        wrapped: &wrapped,
        signature: &sig,
        signed_wrapped: signed_wrapped.as_ref(),
        rewrap_signature: rewrap_signature.as_ref(),
    }
    .verify(owner_key, keys.public_key())
    .map_err(|_| {
        bad(if rewrap_signature.is_some() {
            "the owner's signature and your own re-wrap statement do not both verify"
        } else {
            "the signature does not verify with the owner's key"
        })
    })
}

/// Opens a page of items on all cores (one RSA-OAEP unwrap each); blocks the caller
/// for as long.
pub fn open_items(items: Vec<Item>, keys: &UnlockedKeys) -> Vec<VaultItem> {
    use rayon::prelude::*;
    items.into_par_iter().map(|i| open_item(i, keys)).collect()
}

fn new_id() -> Result<String> {
    Ok(data_encoding::HEXLOWER.encode(&cofre_core::primitives::rand::array::<16>()?))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Counts what passes through a reader.
struct Counting<R> {
    inner: R,
    count: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// Progress callback: (bytes done, bytes in all).
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Send + Sync);

impl Client {
    pub(crate) fn body_request(
        &self,
        method: Method,
        path: &str,
        access: &SecretString,
    ) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{}{path}", self.base, cofre_api::PREFIX))
            .bearer_auth(access.expose())
            .timeout(BODY_TIMEOUT)
    }

    /// Encrypts and uploads an item; returns it, opened.
    pub async fn upload(
        &self,
        access: &SecretString,
        keys: &UnlockedKeys,
        new: NewItem,
        source: Source,
        progress: Progress<'_>,
    ) -> Result<VaultItem> {
        let id = new_id()?;
        let item_key = ItemKey::generate()?;
        let enc = Encryptor::new(item_key.key(), &body_context(&id))?;
        let counted = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>>>(1);
        // The plaintext goes through one of three producers into parts of ciphertext.
        let (encoded, producer) = match source {
            Source::Bytes(b) => {
                let encoded = stream::encrypted_len(b.len() as u64, stream::DEFAULT_CHUNK_LOG2);
                let count = counted.clone();
                let p = tokio::task::spawn_blocking(move || {
                    produce(
                        &enc,
                        Counting {
                            inner: &b[..],
                            count,
                        },
                        &tx,
                        None,
                    )
                });
                (encoded, p)
            }
            Source::Sized(r, len) => {
                let encoded = stream::encrypted_len(len, stream::DEFAULT_CHUNK_LOG2);
                let count = counted.clone();
                let p = tokio::task::spawn_blocking(move || {
                    produce(
                        &enc,
                        Counting {
                            inner: r.take(len),
                            count,
                        },
                        &tx,
                        Some(len),
                    )
                });
                (encoded, p)
            }
            Source::Unsized(r) => {
                let count = counted.clone();
                let (spool, encoded) = tokio::task::spawn_blocking(move || -> Result<_> {
                    let mut spool = tempfile::tempfile()?;
                    let n = stream::encrypt_with(&enc, Counting { inner: r, count }, &mut spool)?;
                    Ok((spool, n))
                })
                .await
                .map_err(|_| ClientError::Usage("encryption was cancelled".into()))??;
                let p = tokio::task::spawn_blocking(move || replay(spool, &tx));
                (encoded, p)
            }
        };
        let created = self.create_upload(access, &id, encoded).await?;
        let sent = self
            .send_parts(access, &id, 0, &mut rx, &created, encoded, progress)
            .await;
        drop(rx);
        let produced = producer
            .await
            .map_err(|_| ClientError::Usage("encryption was cancelled".into()))?;
        if let Err(e) = sent.and(produced) {
            // Abandon the upload now rather than leave it to the cleanup.
            let _ = self
                .call_empty::<()>(Method::DELETE, &format!("/items/{id}"), Some(access), None)
                .await;
            return Err(e);
        }
        let size = counted.load(std::sync::atomic::Ordering::Relaxed);
        self.commit_upload(access, keys, &id, item_key, new, size, None)
            .await
    }

    /// Starts an upload of `encoded` bytes under `id` (`POST /items`), retrying what
    /// may pass (see [`UPLOAD_RETRY_MS`]). A retry that finds the id taken checks
    /// whether it is this upload, created by an attempt whose answer was lost.
    pub(crate) async fn create_upload(
        &self,
        access: &SecretString,
        id: &str,
        encoded: u64,
    ) -> Result<CreateItemResponse> {
        let req = CreateItemRequest {
            id: id.to_owned(),
            size: encoded,
        };
        let mut attempt = 0;
        loop {
            let e = match self
                .call(Method::POST, "/items", Some(access), Some(&req))
                .await
            {
                Ok(created) => return Ok(created),
                Err(e) => e,
            };
            if e.code() == Some(cofre_api::ErrorCode::Conflict) {
                // The id is taken: by this very upload if an earlier attempt's answer
                // was lost, else it is not ours to use.
                return match self.upload_status(access, id).await? {
                    Some(st) if attempt > 0 && st.size == encoded => Ok(CreateItemResponse {
                        id: id.to_owned(),
                        // The status does not repeat the server's part limit.
                        max_part_bytes: u64::MAX,
                        expires_at: 0,
                    }),
                    _ => Err(e),
                };
            }
            if !retryable(&e) || attempt >= UPLOAD_RETRY_MS.len() {
                return Err(e);
            }
            pause(attempt).await;
            attempt += 1;
        }
    }

    /// How much of the caller's upload `id` arrived, or `None` when the server has no
    /// such unfinished upload (it expired, was cancelled or committed).
    pub async fn upload_status(
        &self,
        access: &SecretString,
        id: &str,
    ) -> Result<Option<UploadStatus>> {
        match self
            .call::<(), UploadStatus>(
                Method::GET,
                &format!("/items/{id}/upload"),
                Some(access),
                None,
            )
            .await
        {
            Ok(st) => Ok(Some(st)),
            Err(e)
                if matches!(
                    e.code(),
                    Some(cofre_api::ErrorCode::NotFound | cofre_api::ErrorCode::Conflict)
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The caller's unfinished uploads (they count against the quota).
    pub async fn pending_uploads(&self, access: &SecretString) -> Result<Vec<PendingUpload>> {
        let all: PendingUploads = self
            .call::<(), _>(Method::GET, "/items/uploads", Some(access), None)
            .await?;
        Ok(all.uploads)
    }

    /// Cancels an unfinished upload of the caller's (a new item's, or a new version's:
    /// then the item stays as it is): its parts are removed and its quota freed.
    pub async fn cancel_upload(&self, access: &SecretString, id: &str) -> Result<()> {
        self.call_empty::<()>(
            Method::DELETE,
            &format!("/items/{id}/upload"),
            Some(access),
            None,
        )
        .await
    }

    /// Starts a new version of the caller's committed item `id` (`POST
    /// /items/{id}/replace`), retried like [`Client::create_upload`].
    pub(crate) async fn start_replacement(
        &self,
        access: &SecretString,
        id: &str,
        encoded: u64,
    ) -> Result<CreateItemResponse> {
        let req = cofre_api::vault::ReplaceItemRequest { size: encoded };
        let path = format!("/items/{id}/replace");
        let mut attempt = 0;
        loop {
            let e = match self
                .call(Method::POST, &path, Some(access), Some(&req))
                .await
            {
                Ok(created) => return Ok(created),
                Err(e) => e,
            };
            if e.code() == Some(cofre_api::ErrorCode::Conflict) {
                // Started by an earlier attempt whose answer was lost, or by another
                // run: not ours to continue unless it is this very request's.
                return match self.upload_status(access, id).await? {
                    Some(st) if attempt > 0 && st.size == encoded && st.received == 0 => {
                        Ok(CreateItemResponse {
                            id: id.to_owned(),
                            max_part_bytes: u64::MAX,
                            expires_at: 0,
                        })
                    }
                    _ => Err(e),
                };
            }
            if !retryable(&e) || attempt >= UPLOAD_RETRY_MS.len() {
                return Err(e);
            }
            pause(attempt).await;
            attempt += 1;
        }
    }

    /// Sends the parts `rx` yields, the first at `offset`, then checks that the
    /// stream ends at `encoded`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn send_parts(
        &self,
        access: &SecretString,
        id: &str,
        mut offset: u64,
        rx: &mut tokio::sync::mpsc::Receiver<Result<Vec<u8>>>,
        created: &CreateItemResponse,
        encoded: u64,
        progress: Progress<'_>,
    ) -> Result<()> {
        while let Some(part) = rx.recv().await {
            let part = part?;
            if part.len() as u64 > created.max_part_bytes {
                return Err(ClientError::Usage(
                    "the server's part limit is below one part".into(),
                ));
            }
            let len = part.len() as u64;
            // Shared, not copied, by every attempt to send it.
            self.put_part(access, id, offset, bytes::Bytes::from(part))
                .await?;
            offset += len;
            progress(offset, encoded);
        }
        if offset != encoded {
            return Err(ClientError::Usage(
                "the input changed size while it was being read".into(),
            ));
        }
        Ok(())
    }

    /// Commits the upload `id`: seals the metadata (with `created`, or now), wraps the
    /// item key for the caller, and returns the item, opened.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn commit_upload(
        &self,
        access: &SecretString,
        keys: &UnlockedKeys,
        id: &str,
        item_key: ItemKey,
        new: NewItem,
        size: u64,
        created: Option<i64>,
    ) -> Result<VaultItem> {
        let id = id.to_owned();
        let metadata = ItemMetadata {
            kind: new.kind,
            name: new.name,
            content_type: new.content_type,
            size,
            created: created.unwrap_or_else(now),
            modified: now(),
        };
        let wrapped = item_key
            .wrap_for(&[keys.public_key()], &id)?
            .pop()
            .ok_or_else(|| ClientError::Usage("no wrapped key".into()))?;
        let sealed = metadata.seal(&item_key, &id)?;
        let owner_copy = metadata.seal_owner_copy(&keys.vault_meta_key()?, &id, &sealed)?;
        let req = CommitItemRequest {
            metadata: sealed,
            wrapped_key: wrapped,
            owner_metadata: Some(owner_copy),
        };
        let mut attempt = 0;
        let item: Item = loop {
            match self
                .call(
                    Method::POST,
                    &format!("/items/{id}/commit"),
                    Some(access),
                    Some(&req),
                )
                .await
            {
                Ok(item) => break item,
                // A commit whose answer was lost: the item is there.
                Err(e)
                    if attempt > 0
                        && e.code() == Some(cofre_api::ErrorCode::Conflict)
                        && e.to_string().contains("already committed") =>
                {
                    break self
                        .call::<(), _>(Method::GET, &format!("/items/{id}"), Some(access), None)
                        .await?;
                }
                Err(e) if retryable(&e) && attempt < UPLOAD_RETRY_MS.len() => {
                    pause(attempt).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        };
        Ok(VaultItem {
            id: item.id,
            owner: item.owner,
            encoded_size: item.size,
            created_at: item.created_at,
            updated_at: item.updated_at,
            wrapped_key: item.wrapped_key,
            sealed_metadata: item.metadata,
            signature: item.signature,
            signed_wrapped_key: item.signed_wrapped_key,
            rewrap_signature: item.rewrap_signature,
            opened: Ok(Opened {
                metadata,
                key: item_key,
            }),
        })
    }

    /// Sends one part at `offset`, retrying after transport failures from what the
    /// server reports it has.
    async fn put_part(
        &self,
        access: &SecretString,
        id: &str,
        offset: u64,
        part: bytes::Bytes,
    ) -> Result<()> {
        let end = offset + part.len() as u64;
        let mut last_err = None;
        for attempt in 0..=UPLOAD_RETRY_MS.len() {
            if attempt > 0 {
                pause(attempt - 1).await;
                // Where is the server? The part may have arrived before the failure.
                let st: UploadStatus = match self.upload_status(access, id).await {
                    Ok(Some(st)) => st,
                    Ok(None) => {
                        return Err(ClientError::Usage(format!(
                            "the server no longer has upload {id} (it expired or was cancelled)"
                        )));
                    }
                    Err(e) if retryable(&e) => {
                        last_err = Some(e);
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                if st.received == end {
                    return Ok(());
                }
                if st.received < offset {
                    return Err(ClientError::Usage(format!(
                        "the server lost part of the upload ({} of {offset} bytes)",
                        st.received
                    )));
                }
            }
            let resp = self
                .body_request(
                    Method::PUT,
                    &format!("/items/{id}/body?offset={offset}"),
                    access,
                )
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                .body(part.clone())
                .send()
                .await;
            match resp {
                Ok(r) if r.status().is_success() => return Ok(()),
                Ok(r) => {
                    let e = crate::client::api_error(r).await;
                    if !retryable(&e) {
                        return Err(e);
                    }
                    last_err = Some(e);
                }
                Err(e) => last_err = Some(e.into()),
            }
        }
        Err(last_err.unwrap_or_else(|| ClientError::Usage("upload failed".into())))
    }

    /// One item, opened.
    pub async fn item(
        &self,
        access: &SecretString,
        keys: &UnlockedKeys,
        id: &str,
    ) -> Result<VaultItem> {
        let item: Item = self
            .call::<(), _>(Method::GET, &format!("/items/{id}"), Some(access), None)
            .await?;
        Ok(open_item(item, keys))
    }

    /// One page of items, not opened (see [`open_item`]).
    pub async fn items_page(
        &self,
        access: &SecretString,
        after: Option<&str>,
        limit: u32,
    ) -> Result<ItemPage> {
        let mut path = format!("/items?limit={limit}");
        if let Some(a) = after {
            path.push_str("&after=");
            path.push_str(a);
        }
        self.call::<(), _>(Method::GET, &path, Some(access), None)
            .await
    }

    /// Every item of the caller's, opened on all cores. A damaged item comes back with
    /// its integrity error in [`VaultItem::opened`]; the others are unaffected.
    pub async fn items(
        &self,
        access: &SecretString,
        keys: &UnlockedKeys,
    ) -> Result<Vec<VaultItem>> {
        self.all_pages(access, keys, "/items").await
    }

    /// Every item shared with the caller (the inbox), opened. Verify each with
    /// [`verify_share`] before trusting who it is from.
    pub async fn shared_with_me(
        &self,
        access: &SecretString,
        keys: &UnlockedKeys,
    ) -> Result<Vec<VaultItem>> {
        self.all_pages(access, keys, "/shared").await
    }

    /// Every page of an item listing route, not opened.
    pub(crate) async fn raw_pages(&self, access: &SecretString, route: &str) -> Result<Vec<Item>> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut path = format!("{route}?limit=1000");
            if let Some(a) = &after {
                path.push_str("&after=");
                path.push_str(a);
            }
            let page: ItemPage = self
                .call::<(), _>(Method::GET, &path, Some(access), None)
                .await?;
            all.extend(page.items);
            match page.next {
                Some(n) => after = Some(n),
                None => return Ok(all),
            }
        }
    }

    async fn all_pages(
        &self,
        access: &SecretString,
        keys: &UnlockedKeys,
        route: &str,
    ) -> Result<Vec<VaultItem>> {
        let all = self.raw_pages(access, route).await?;
        Ok(open_items(all, keys))
    }

    /// Storage used and the quota.
    pub async fn usage(&self, access: &SecretString) -> Result<Usage> {
        self.call::<(), _>(Method::GET, "/items/usage", Some(access), None)
            .await
    }

    /// Downloads and decrypts an item's body into `out`, resuming after dropped
    /// connections. Returns the plaintext length. Receiving, decrypting (on all cores)
    /// and writing overlap, in bounded memory (see the `download` module). On error,
    /// `out` may hold a verified prefix: write to a temporary file and keep it only on
    /// success. The plaintext passes through buffers that are zeroized when dropped;
    /// what `out` does with it (a page cache, a pipe buffer, standard output's own
    /// buffer) is beyond this function.
    pub async fn download(
        &self,
        access: &SecretString,
        item: &VaultItem,
        out: &mut (dyn Write + Send),
        progress: Progress<'_>,
    ) -> Result<u64> {
        let opened = item.content()?;
        let dec = PartDecryptor::new(opened.key.key(), &body_context(&item.id), item.encoded_size);
        self.download_into(access, item, dec, out, None, progress)
            .await
    }

    /// Fetches the body from `dec`'s position on, decrypting into `out` and, when
    /// given, appending the raw ciphertext to `tee` (for a later run to resume from);
    /// retries dropped connections with a range request. Returns the plaintext length
    /// written.
    pub(crate) async fn download_into(
        &self,
        access: &SecretString,
        item: &VaultItem,
        dec: PartDecryptor,
        out: &mut (dyn Write + Send),
        tee: Option<&mut std::fs::File>,
        progress: Progress<'_>,
    ) -> Result<u64> {
        let tee = match tee {
            Some(t) => Some(t.try_clone()?),
            None => None,
        };
        let source = crate::download::HttpBody::new(self, access, &item.id);
        let sink = crate::download::Sink { out, tee, progress };
        crate::download::run(source, dec, &item.id, item.encoded_size, sink).await
    }

    /// Renames one of the caller's items: new sealed metadata under the item key and
    /// the owner's copy of it beside (FORMAT.md 9.12); the body is untouched.
    pub async fn rename(
        &self,
        access: &SecretString,
        keys: &UnlockedKeys,
        item: &VaultItem,
        name: &str,
    ) -> Result<()> {
        let opened = item.content()?;
        let mut metadata = opened.metadata.clone();
        metadata.name = name.to_owned();
        metadata.modified = now();
        let sealed = metadata.seal(&opened.key, &item.id)?;
        let owner_copy = metadata.seal_owner_copy(&keys.vault_meta_key()?, &item.id, &sealed)?;
        let req = UpdateMetadataRequest {
            metadata: sealed,
            owner_metadata: Some(owner_copy),
        };
        self.call_empty(
            Method::PUT,
            &format!("/items/{}/metadata", item.id),
            Some(access),
            Some(&req),
        )
        .await
    }

    /// An account's public key as the server reports it (pin it: see
    /// [`crate::contacts`]).
    pub async fn public_key(&self, access: &SecretString, username: &str) -> Result<UserPublicKey> {
        let name = cofre_api::Username::parse(username)
            .map_err(|e| ClientError::Usage(format!("{username:?}: {e}")))?;
        self.call::<(), _>(
            Method::GET,
            &format!("/users/{}/public-key", name.as_str()),
            Some(access),
            None,
        )
        .await
    }

    /// Shares one of the caller's items with `recipient`, whose key the caller has
    /// checked (pinned): wraps the item key for it and signs the share as `me`.
    pub async fn share(
        &self,
        access: &SecretString,
        keys: &UnlockedKeys,
        me: &str,
        item: &VaultItem,
        recipient: &UserPublicKey,
    ) -> Result<()> {
        let opened = item.content()?;
        let wrapped = opened
            .key
            .wrap_for(&[&recipient.public_key], &item.id)?
            .pop()
            .ok_or_else(|| ClientError::Usage("no wrapped key".into()))?;
        let signature = cofre_core::vault::sign_share(
            keys.private_key(),
            &item.id,
            me,
            &recipient.username,
            &wrapped,
        )?;
        let req = ShareRequest {
            recipient: recipient.username.clone(),
            wrapped_key: wrapped,
            signature,
        };
        self.call_empty(
            Method::POST,
            &format!("/items/{}/shares", item.id),
            Some(access),
            Some(&req),
        )
        .await
    }

    /// Revokes a share. What the recipient already downloaded stays with them.
    pub async fn unshare(&self, access: &SecretString, id: &str, username: &str) -> Result<()> {
        self.call_empty::<()>(
            Method::DELETE,
            &format!("/items/{id}/shares/{username}"),
            Some(access),
            None,
        )
        .await
    }

    /// Hides an item shared with the caller: removes the caller's share of it, so it
    /// leaves the inbox (the owner's item is untouched; the owner may share it again).
    pub async fn hide_shared(&self, access: &SecretString, id: &str) -> Result<()> {
        self.call_empty::<()>(Method::DELETE, &format!("/shared/{id}"), Some(access), None)
            .await
    }

    /// Who an item of the caller's is shared with.
    pub async fn shares(&self, access: &SecretString, id: &str) -> Result<Vec<ShareInfo>> {
        self.call::<(), _>(
            Method::GET,
            &format!("/items/{id}/shares"),
            Some(access),
            None,
        )
        .await
    }

    /// Deletes an item.
    pub async fn delete_item(&self, access: &SecretString, id: &str) -> Result<()> {
        self.call_empty::<()>(Method::DELETE, &format!("/items/{id}"), Some(access), None)
            .await
    }
}

/// Whether an upload request that failed this way may succeed if sent again: the
/// server was unreachable or restarting (transport errors, 5xx), or the upload is
/// held by another writer (`conflict`: a request still running, or a lease left by a
/// server that crashed, which expires). A full disk on the server (`507
/// insufficient_storage`) is not waited out: the person is told at once.
fn retryable(e: &ClientError) -> bool {
    match e {
        ClientError::Http(_) => true,
        ClientError::Api { code, .. } if *code == cofre_api::ErrorCode::InsufficientStorage => {
            false
        }
        ClientError::Api { status, code, .. } => {
            *status >= 500 || *code == cofre_api::ErrorCode::Conflict
        }
        _ => false,
    }
}

/// The pause before retry number `attempt + 1` of an upload request.
async fn pause(attempt: usize) {
    let ms = UPLOAD_RETRY_MS
        .get(attempt)
        .or(UPLOAD_RETRY_MS.last())
        .copied()
        .unwrap_or(15_000);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

pub(crate) async fn tracing_free_sleep(attempt: u32) {
    tokio::time::sleep(Duration::from_millis(200 << attempt.min(5))).await;
}

/// Encrypts `reader` into parts sent to `tx`; checks a sized reader gave all it promised.
fn produce<R: Read>(
    enc: &Encryptor,
    reader: Counting<R>,
    tx: &tokio::sync::mpsc::Sender<Result<Vec<u8>>>,
    expect: Option<u64>,
) -> Result<()> {
    let count = reader.count.clone();
    let r = stream::encrypt_parts(enc, reader, MAX_CHUNKS_PER_PART, |part| {
        tx.blocking_send(Ok(part))
            .map_err(|_| cofre_core::Error::Usage("upload stopped"))
    });
    match r {
        Ok(_) => {
            let got = count.load(std::sync::atomic::Ordering::Relaxed);
            if expect.is_some_and(|n| n != got) {
                return Err(ClientError::Usage(format!(
                    "the input changed size while it was being read ({got} bytes, expected {})",
                    expect.unwrap_or(0)
                )));
            }
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Sends a spooled ciphertext file in parts.
fn replay(mut spool: std::fs::File, tx: &tokio::sync::mpsc::Sender<Result<Vec<u8>>>) -> Result<()> {
    use std::io::Seek as _;
    spool.seek(std::io::SeekFrom::Start(0))?;
    let part = MAX_CHUNKS_PER_PART * ((1 << stream::DEFAULT_CHUNK_LOG2) + stream::CHUNK_OVERHEAD);
    loop {
        let mut buf = Vec::with_capacity(part);
        let n = (&mut spool).take(part as u64).read_to_end(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        if tx.blocking_send(Ok(buf)).is_err() {
            return Ok(());
        }
    }
}
