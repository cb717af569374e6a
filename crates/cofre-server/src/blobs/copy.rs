//! Copying blobs from one [`BlobStore`] into another, whatever each one is: every blob
//! is streamed through the destination's upload path (`write_part` and `finish`) with
//! bounded memory, hashed on the way, and read back from the destination to check its
//! SHA-256.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt as _, ReadBuf};

use cofre_core::primitives::digest::Sha256;

use super::{BlobError, BlobReader, BlobStore};

/// Why a blob copy stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlobCopyError {
    /// Reading a blob from the source failed (or the blob is missing there).
    #[error("reading blob {key} from the source: {source}")]
    Source {
        /// The item id.
        key: String,
        /// Why.
        source: BlobError,
    },
    /// Writing or reading back a blob in the destination failed.
    #[error("blob {key} in the destination: {source}")]
    Destination {
        /// The item id.
        key: String,
        /// Why.
        source: BlobError,
    },
    /// The destination's copy is not the source's bytes.
    #[error(
        "verification failed: blob {key} differs in the destination ({found_len} bytes, SHA-256 {found}; source {expected_len} bytes, SHA-256 {expected})"
    )]
    Mismatch {
        /// The item id.
        key: String,
        /// The source's SHA-256, hex.
        expected: String,
        /// The source's length.
        expected_len: u64,
        /// The destination's SHA-256, hex.
        found: String,
        /// The destination's length.
        found_len: u64,
    },
}

/// What a blob copy moved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlobCopyReport {
    /// Blobs copied and verified.
    pub blobs: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// A reader that hashes and counts what passes through it.
struct Hashing<'a> {
    inner: BlobReader,
    hash: Sha256,
    bytes: u64,
    progress: &'a (dyn Fn(u64) + Sync),
}

impl AsyncRead for Hashing<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let polled = this.inner.as_mut().poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &polled {
            let new = buf.filled().get(before..).unwrap_or_default();
            if !new.is_empty() {
                this.hash.update(new);
                this.bytes += new.len() as u64;
                (this.progress)(new.len() as u64);
            }
        }
        polled
    }
}

/// SHA-256 and length of everything `reader` yields.
async fn hash_all(mut reader: BlobReader) -> std::io::Result<([u8; 32], u64)> {
    let mut h = Sha256::new();
    let mut len = 0u64;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        h.update(buf.get(..n).unwrap_or_default());
        len += n as u64;
    }
    Ok((h.finish(), len))
}

/// Copies the blobs `keys` from `src` into `dst` and checks each one by reading it
/// back from `dst`. A blob already in `dst` is replaced. `progress` hears the number
/// of bytes read from the source as they are. Stops at the first failure; blobs copied
/// until then stay in `dst`.
pub async fn copy_blobs(
    src: &dyn BlobStore,
    dst: &dyn BlobStore,
    keys: &[String],
    progress: &(dyn Fn(u64) + Sync),
) -> Result<BlobCopyReport, BlobCopyError> {
    let mut report = BlobCopyReport::default();
    for key in keys {
        let source = |source| BlobCopyError::Source {
            key: key.clone(),
            source,
        };
        let destination = |source| BlobCopyError::Destination {
            key: key.clone(),
            source,
        };
        let (reader, len) = src.open(key, 0).await.map_err(source)?;
        let mut hashing = Hashing {
            inner: reader,
            hash: Sha256::new(),
            bytes: 0,
            progress,
        };
        let body: Pin<&mut Hashing<'_>> = Pin::new(&mut hashing);
        let written = dst
            .write_part(key, 0, body, len, len)
            .await
            .map_err(|e| match e {
                BlobError::Body(io) => source(BlobError::Io(io)),
                other => destination(other),
            })?;
        let expected = hashing.hash.finish();
        let expected_hex = data_encoding::HEXLOWER.encode(&expected);
        if written != len || hashing.bytes != len {
            return Err(BlobCopyError::Mismatch {
                key: key.clone(),
                expected: expected_hex,
                expected_len: len,
                found: "(not read back)".into(),
                found_len: written,
            });
        }
        dst.finish(key).await.map_err(destination)?;
        let (reader, found_len) = dst.open(key, 0).await.map_err(destination)?;
        let (found, read_len) = hash_all(reader)
            .await
            .map_err(|e| destination(BlobError::Io(e)))?;
        if found != expected || found_len != len || read_len != len {
            return Err(BlobCopyError::Mismatch {
                key: key.clone(),
                expected: expected_hex,
                expected_len: len,
                found: data_encoding::HEXLOWER.encode(&found),
                found_len: read_len,
            });
        }
        report.blobs += 1;
        report.bytes += len;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::blobs::local::LocalBlobs;

    async fn put(store: &LocalBlobs, key: &str, bytes: &[u8]) {
        let mut body: &[u8] = bytes;
        let n = bytes.len() as u64;
        let pinned: Pin<&mut &[u8]> = Pin::new(&mut body);
        store.write_part(key, 0, pinned, n, n).await.unwrap();
        store.finish(key).await.unwrap();
    }

    async fn read(store: &LocalBlobs, key: &str) -> Vec<u8> {
        let (mut r, _) = store.open(key, 0).await.unwrap();
        let mut out = Vec::new();
        r.read_to_end(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn copies_every_blob_byte_for_byte_and_reports_progress() {
        let dir = tempfile::tempdir().unwrap();
        let src = LocalBlobs::open(&dir.path().join("a")).unwrap();
        let dst = LocalBlobs::open(&dir.path().join("b")).unwrap();
        let big: Vec<u8> = (0..(1u32 << 20) + 17).map(|i| (i % 251) as u8).collect();
        let keys = ["0".repeat(32), "a".repeat(32), "f".repeat(32)];
        put(&src, &keys[0], b"").await;
        put(&src, &keys[1], b"small").await;
        put(&src, &keys[2], &big).await;
        let seen = std::sync::atomic::AtomicU64::new(0);
        let report = copy_blobs(&src, &dst, &keys, &|n| {
            seen.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        })
        .await
        .unwrap();
        assert_eq!(report.blobs, 3);
        assert_eq!(report.bytes, 5 + big.len() as u64);
        assert_eq!(seen.into_inner(), report.bytes);
        assert_eq!(read(&dst, &keys[1]).await, b"small");
        assert_eq!(read(&dst, &keys[2]).await, big);
        assert!(read(&dst, &keys[0]).await.is_empty());
    }

    #[tokio::test]
    async fn a_missing_source_blob_stops_the_copy() {
        let dir = tempfile::tempdir().unwrap();
        let src = LocalBlobs::open(&dir.path().join("a")).unwrap();
        let dst = LocalBlobs::open(&dir.path().join("b")).unwrap();
        let err = copy_blobs(&src, &dst, &["1".repeat(32)], &|_| {})
            .await
            .unwrap_err();
        assert!(
            matches!(
                &err,
                BlobCopyError::Source {
                    source: BlobError::NotFound,
                    ..
                }
            ),
            "{err}"
        );
    }
}
