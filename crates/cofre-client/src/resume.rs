//! Transfers that survive the end of the process: an upload of a file continued by
//! another run from what the server already has, and a download continued from the
//! ciphertext an earlier run kept.
//!
//! An upload is resumable across processes when the caller keeps its
//! [`UploadCheckpoint`] (the item id, the item key and the body stream's header) until
//! it is committed; [`UploadCheckpoint::seal`] seals it under the user key so that no
//! key material is ever stored in the clear (FORMAT.md 9.11). Because chunks are
//! independent given their index (FORMAT.md 8.4), the rest of the stream can be
//! encrypted by a new process with the same header and key and the server's prefix
//! kept.
//!
//! A download is resumable when the caller keeps the ciphertext it received (never
//! the plaintext): [`Client::download_resuming`] first decrypts and verifies, chunk by
//! chunk, what the earlier run kept, then asks the server for the rest.

use std::fs::File;
use std::io::{Read, Seek as _, SeekFrom, Write};

use cofre_api::SecretString;
use cofre_api::vault::CreateItemResponse;
use cofre_core::format::SealedBox;
use cofre_core::format::stream::{self, Encryptor, PartDecryptor};
use cofre_core::keys::{ItemKey, UnlockedKeys};
use cofre_core::secret::SymmetricKey;
use cofre_core::vault::body_context;
use zeroize::Zeroizing;

use crate::Client;
use crate::error::{ClientError, Result};
use crate::vault::{NewItem, Progress, VaultItem};

/// Parts hold at most this many chunks (as for other uploads).
const CHUNKS_PER_PART: u64 = 128;
/// The context prefix of a sealed checkpoint (FORMAT.md 9.11), followed by the id.
pub const CHECKPOINT_CONTEXT_PREFIX: &str = "cofre/v1/client/upload-checkpoint/";
/// What a checkpoint seals: the item key, then the stream header.
const CHECKPOINT_LEN: usize = SymmetricKey::LEN + stream::HEADER_LEN;

/// What another process needs to continue an upload: keep it (sealed) until the
/// upload is committed, and never reuse it for other content.
pub struct UploadCheckpoint {
    /// The item id (and upload id).
    pub id: String,
    /// The item key.
    pub key: ItemKey,
    /// The body stream's header (its nonce: the stream keys derive from it).
    pub header: [u8; stream::HEADER_LEN],
    /// Plaintext length of the file.
    pub plain_len: u64,
    /// Encoded length of the body, as declared to the server.
    pub encoded: u64,
    /// For a new version of an existing item (same id and key): its creation time,
    /// which the new metadata keeps. `None` for a new item.
    pub replaces: Option<i64>,
}

impl UploadCheckpoint {
    /// A new upload of `plain_len` bytes: a fresh id, item key and stream header.
    pub fn new(plain_len: u64) -> Result<Self> {
        let id = data_encoding::HEXLOWER.encode(&cofre_core::primitives::rand::array::<16>()?);
        Self::with(id, ItemKey::generate()?, plain_len, None)
    }

    /// A new version of `item` (one of the caller's, opened) of `plain_len` bytes:
    /// the same id and item key, a new stream (a fresh random header, so other stream
    /// keys: FORMAT.md 8.2).
    pub fn new_version(item: &VaultItem, plain_len: u64) -> Result<Self> {
        let opened = item.content()?;
        let key = ItemKey::from_symmetric(SymmetricKey::from_secret_bytes(
            opened.key.key().expose_secret_bytes(),
        ));
        Self::with(
            item.id.clone(),
            key,
            plain_len,
            Some(opened.metadata.created),
        )
    }

    fn with(id: String, key: ItemKey, plain_len: u64, replaces: Option<i64>) -> Result<Self> {
        let enc = Encryptor::new(key.key(), &body_context(&id))?;
        Ok(Self {
            header: *enc.header(),
            encoded: stream::encrypted_len(plain_len, stream::DEFAULT_CHUNK_LOG2),
            id,
            key,
            plain_len,
            replaces,
        })
    }

    /// The key and header sealed under the user key, bound to the id (context
    /// [`CHECKPOINT_CONTEXT_PREFIX`] || id).
    pub fn seal(&self, user_key: &SymmetricKey) -> Result<SealedBox> {
        let mut plain = Zeroizing::new(Vec::with_capacity(CHECKPOINT_LEN));
        plain.extend_from_slice(self.key.key().expose_secret_bytes());
        plain.extend_from_slice(&self.header);
        Ok(SealedBox::seal(
            user_key,
            &checkpoint_context(&self.id),
            &plain,
        )?)
    }

    /// Opens a checkpoint sealed by [`UploadCheckpoint::seal`] for upload `id`
    /// (`replaces`: as it was made).
    pub fn open(
        id: &str,
        plain_len: u64,
        encoded: u64,
        replaces: Option<i64>,
        sealed: &SealedBox,
        user_key: &SymmetricKey,
    ) -> Result<Self> {
        let plain = sealed.open(user_key, &checkpoint_context(id))?;
        let bytes = plain.expose();
        let bad = || ClientError::Usage("the saved upload state is malformed".into());
        if bytes.len() != CHECKPOINT_LEN {
            return Err(bad());
        }
        let (k, h) = bytes.split_at(SymmetricKey::LEN);
        let k: &[u8; SymmetricKey::LEN] = k.try_into().map_err(|_| bad())?;
        let key = ItemKey::from_symmetric(SymmetricKey::from_secret_bytes(k));
        let header: [u8; stream::HEADER_LEN] = h.try_into().map_err(|_| bad())?;
        // The header must be a valid stream header for this key and id.
        Encryptor::resume(key.key(), &body_context(id), &header)?;
        Ok(Self {
            id: id.to_owned(),
            key,
            header,
            plain_len,
            encoded,
            replaces,
        })
    }
}

/// A seekable plaintext source: a file, or bytes in memory (a note).
pub trait ReadSeek: Read + std::io::Seek + Send {}

impl<T: Read + std::io::Seek + Send> ReadSeek for T {}

fn checkpoint_context(id: &str) -> Vec<u8> {
    format!("{CHECKPOINT_CONTEXT_PREFIX}{id}").into_bytes()
}

/// Where the encoded stream of a file of `plain_len` bytes (chunks of `chunk` bytes)
/// can be continued given `received` bytes at the server: the first chunk to encrypt
/// and its encoded offset. Everything from that chunk on is sent again (a part at an
/// offset below what was received replaces the rest).
fn resume_point(plain_len: u64, chunk: u64, received: u64, encoded: u64) -> (u64, u64) {
    let chunks = plain_len.div_ceil(chunk).max(1);
    let full = chunk + stream::CHUNK_OVERHEAD as u64;
    let header = stream::HEADER_LEN as u64;
    if received >= encoded {
        return (chunks, encoded);
    }
    if received < header + full {
        return (0, 0);
    }
    let k = ((received - header) / full).min(chunks - 1);
    (k, header + k * full)
}

impl Client {
    /// Uploads `file` (`checkpoint.plain_len` bytes) as the checkpoint's item: a new
    /// item, or a new version of the item it names (then committed under the same id,
    /// so shares stay). `received` is what the server already has of this upload
    /// (from [`Client::upload_status`]); `None` starts it (`POST /items` or `POST
    /// /items/{id}/replace`, retried). Only the chunks from the last whole one the
    /// server has are read and encrypted again. On failure nothing is abandoned: the
    /// caller keeps the checkpoint to continue, or cancels the upload
    /// ([`Client::cancel_upload`]).
    #[allow(clippy::too_many_arguments)]
    pub async fn upload_file(
        &self,
        access: &SecretString,
        keys: &UnlockedKeys,
        new: NewItem,
        file: Box<dyn ReadSeek>,
        checkpoint: &UploadCheckpoint,
        received: Option<u64>,
        progress: Progress<'_>,
    ) -> Result<VaultItem> {
        let id = checkpoint.id.clone();
        let enc = Encryptor::resume(checkpoint.key.key(), &body_context(&id), &checkpoint.header)?;
        let created = match (received, checkpoint.replaces) {
            (None, None) => self.create_upload(access, &id, checkpoint.encoded).await?,
            (None, Some(_)) => {
                self.start_replacement(access, &id, checkpoint.encoded)
                    .await?
            }
            (Some(_), _) => CreateItemResponse {
                id: id.clone(),
                max_part_bytes: u64::MAX,
                expires_at: 0,
            },
        };
        let (first, offset) = resume_point(
            checkpoint.plain_len,
            enc.chunk_size() as u64,
            received.unwrap_or(0),
            checkpoint.encoded,
        );
        progress(offset, checkpoint.encoded);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>>>(1);
        let len = checkpoint.plain_len;
        let producer =
            tokio::task::spawn_blocking(move || produce_from(&enc, file, len, first, &tx));
        let sent = self
            .send_parts(
                access,
                &id,
                offset,
                &mut rx,
                &created,
                checkpoint.encoded,
                progress,
            )
            .await;
        drop(rx);
        let produced = producer
            .await
            .map_err(|_| ClientError::Usage("encryption was cancelled".into()))?;
        produced.and(sent)?;
        let key = ItemKey::from_symmetric(SymmetricKey::from_secret_bytes(
            checkpoint.key.key().expose_secret_bytes(),
        ));
        self.commit_upload(access, keys, &id, key, new, len, checkpoint.replaces)
            .await
    }

    /// Downloads and decrypts `item` into `out`, continuing from the ciphertext an
    /// earlier run kept in `kept` (a file of the encoded body's first bytes, which
    /// this appends to as bytes arrive). What `kept` holds is decrypted and verified
    /// chunk by chunk before anything is asked of the server; an incomplete chunk at
    /// its end is cut off. Returns the plaintext length.
    ///
    /// Fails with [`ClientError::Integrity`] if the kept bytes do not verify (they are
    /// not this item's, or were damaged: discard them and start again). As with
    /// [`Client::download`], `out` may hold a verified prefix after a failure.
    pub async fn download_resuming(
        &self,
        access: &SecretString,
        item: &VaultItem,
        kept: &mut File,
        out: &mut (dyn Write + Send),
        progress: Progress<'_>,
    ) -> Result<u64> {
        let opened = item.content()?;
        let id = &item.id;
        let mut dec = PartDecryptor::new(opened.key.key(), &body_context(id), item.encoded_size);
        let mut written = 0u64;
        kept.seek(SeekFrom::Start(0))?;
        let mut buf = Zeroizing::new(vec![0u8; 1 << 20]);
        loop {
            let n = kept.read(&mut buf)?;
            if n == 0 {
                break;
            }
            let plain =
                dec.push(buf.get(..n).unwrap_or_default())
                    .map_err(|e| ClientError::Integrity {
                        item: id.clone(),
                        reason: format!("the kept partial download does not verify: {e}"),
                    })?;
            out.write_all(&plain)
                .map_err(|e| ClientError::Usage(format!("writing the output: {e}")))?;
            written += plain.len() as u64;
        }
        dec.discard_pending();
        kept.set_len(dec.position())?;
        kept.seek(SeekFrom::Start(dec.position()))?;
        progress(dec.position(), item.encoded_size);
        let more = self
            .download_into(access, item, dec, out, Some(kept), progress)
            .await?;
        Ok(written + more)
    }
}

/// Encrypts `file` (`len` bytes) from chunk `first` on with `enc` into parts sent to
/// `tx`; the header goes first when starting at chunk 0. Checks the file still holds
/// exactly `len` bytes.
fn produce_from(
    enc: &Encryptor,
    mut file: Box<dyn ReadSeek>,
    len: u64,
    first: u64,
    tx: &tokio::sync::mpsc::Sender<Result<Vec<u8>>>,
) -> Result<()> {
    use rayon::prelude::*;
    let chunk = enc.chunk_size() as u64;
    let chunks = len.div_ceil(chunk).max(1);
    let changed = || ClientError::Usage("the file changed while it was being read".into());
    file.seek(SeekFrom::Start(first * chunk))?;
    let mut index = first;
    while index < chunks {
        let n = CHUNKS_PER_PART.min(chunks - index);
        let mut plains = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
        for i in index..index + n {
            let want = if i + 1 == chunks {
                len - i * chunk
            } else {
                chunk
            };
            let mut p = Zeroizing::new(vec![0u8; usize::try_from(want).unwrap_or(0)]);
            file.read_exact(&mut p).map_err(|_| changed())?;
            plains.push((i, p));
        }
        let sealed = plains
            .par_iter()
            .map(|(i, p)| enc.seal_at(*i, p, *i + 1 == chunks))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let mut part = Vec::with_capacity(sealed.iter().map(Vec::len).sum::<usize>() + 20);
        if index == 0 {
            part.extend_from_slice(enc.header());
        }
        for s in &sealed {
            part.extend_from_slice(s);
        }
        if tx.blocking_send(Ok(part)).is_err() {
            return Ok(());
        }
        index += n;
    }
    let mut extra = [0u8; 1];
    if file.read(&mut extra)? != 0 {
        return Err(changed());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn resume_points_fall_on_whole_chunks() {
        let c = 1u64 << 16;
        let full = c + 64;
        let enc = |n| stream::encrypted_len(n, 16);
        // Nothing, or less than the header and one chunk: from the start.
        assert_eq!(resume_point(3 * c, c, 0, enc(3 * c)), (0, 0));
        assert_eq!(resume_point(3 * c, c, 20 + full - 1, enc(3 * c)), (0, 0));
        // One chunk and a half: from the second chunk.
        assert_eq!(
            resume_point(3 * c, c, 20 + full + full / 2, enc(3 * c)),
            (1, 20 + full)
        );
        // Everything: nothing left to send.
        assert_eq!(
            resume_point(3 * c, c, enc(3 * c), enc(3 * c)),
            (3, enc(3 * c))
        );
        // All but part of a short last chunk: the last chunk again.
        let len = 2 * c + 5;
        assert_eq!(
            resume_point(len, c, enc(len) - 1, enc(len)),
            (2, 20 + 2 * full)
        );
    }

    #[test]
    fn a_checkpoint_opens_only_under_its_key_and_id() {
        let user = SymmetricKey::generate().unwrap();
        let cp = UploadCheckpoint::new(1000).unwrap();
        let sealed = cp.seal(&user).unwrap();
        let back = UploadCheckpoint::open(&cp.id, 1000, cp.encoded, None, &sealed, &user).unwrap();
        assert_eq!(back.header, cp.header);
        assert_eq!(
            back.key.key().expose_secret_bytes(),
            cp.key.key().expose_secret_bytes()
        );
        let other = SymmetricKey::generate().unwrap();
        assert!(UploadCheckpoint::open(&cp.id, 1000, cp.encoded, None, &sealed, &other).is_err());
        let other_id = "0".repeat(32);
        assert!(UploadCheckpoint::open(&other_id, 1000, cp.encoded, None, &sealed, &user).is_err());
    }

    #[test]
    fn a_stream_continued_from_a_checkpoint_decrypts_whole() {
        let len = 5 * (1usize << 16) + 777;
        let plain: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        let cp = UploadCheckpoint::new(len as u64).unwrap();
        let ctx = body_context(&cp.id);
        let mut path = tempfile::NamedTempFile::new().unwrap();
        path.write_all(&plain).unwrap();
        let enc = Encryptor::resume(cp.key.key(), &ctx, &cp.header).unwrap();
        // A first run sends chunks 0..=2 (with the header), a second the rest.
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        produce_from(&enc, Box::new(path.reopen().unwrap()), len as u64, 0, &tx).unwrap();
        drop(tx);
        let mut first_run = Vec::new();
        while let Ok(p) = rx.try_recv() {
            first_run.extend(p.unwrap());
        }
        let (k, offset) = resume_point(
            len as u64,
            1 << 16,
            20 + 3 * ((1 << 16) + 64) + 10,
            cp.encoded,
        );
        assert_eq!(k, 3);
        let enc2 = Encryptor::resume(cp.key.key(), &ctx, &cp.header).unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        produce_from(&enc2, Box::new(path.reopen().unwrap()), len as u64, k, &tx).unwrap();
        drop(tx);
        let mut body = first_run[..usize::try_from(offset).unwrap()].to_vec();
        while let Ok(p) = rx.try_recv() {
            body.extend(p.unwrap());
        }
        assert_eq!(body.len() as u64, cp.encoded);
        let back = stream::decrypt_to_vec(cp.key.key(), &ctx, &body).unwrap();
        assert_eq!(back, plain);
    }
}
