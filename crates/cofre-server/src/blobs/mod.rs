//! Where item bodies live: a [`BlobStore`] holds opaque, immutable ciphertext blobs
//! keyed by item id, plus the uploads that become them. The database says which blobs
//! exist (an item is visible only once committed there); the store only keeps bytes.
//!
//! [`local::LocalBlobs`] (a folder, the default) is the one implementation so far; an
//! object store can follow behind the same trait. [`copy::copy_blobs`] moves blobs
//! from one store to another.

pub mod copy;
pub mod local;

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

use tokio::io::AsyncRead;

/// A blob-store failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError {
    /// No such blob or upload.
    #[error("no such blob")]
    NotFound,
    /// The part would take the upload past its declared size or the part limit.
    #[error("part too large")]
    TooLarge,
    /// The part starts past what was received.
    #[error("offset {offset} is past the {received} bytes received")]
    Offset {
        /// The requested offset.
        offset: u64,
        /// What the store holds.
        received: u64,
    },
    /// The request body failed while it was being read (client went away).
    #[error("reading the request body: {0}")]
    Body(std::io::Error),
    /// The storage failed.
    #[error("blob storage: {0}")]
    Io(#[from] std::io::Error),
}

/// A boxed future of the blob store.
pub type BlobFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, BlobError>> + Send + 'a>>;

/// A blob's bytes from some offset.
pub type BlobReader = Pin<Box<dyn AsyncRead + Send>>;

/// A request body being streamed in.
pub type PartBody<'a> = Pin<&'a mut (dyn AsyncRead + Send)>;

/// What the cleanup pass sees in a store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredKey {
    /// The item id.
    pub key: String,
    /// An upload not yet finished (rather than a blob).
    pub upload: bool,
}

/// Blob storage. Keys are item ids (validated by the caller: lowercase hex).
pub trait BlobStore: Send + Sync + Debug {
    /// Bytes of the upload `key` received so far (0 when none).
    fn upload_len<'a>(&'a self, key: &'a str) -> BlobFuture<'a, u64>;

    /// Writes `body` into the upload `key` at `offset` (at most what was received;
    /// anything after it is replaced), durably, and returns the new length. Refuses
    /// to grow the upload past `max_len` or to take more than `max_part` bytes, and
    /// then leaves the upload as it was before the call.
    fn write_part<'a>(
        &'a self,
        key: &'a str,
        offset: u64,
        body: PartBody<'a>,
        max_len: u64,
        max_part: u64,
    ) -> BlobFuture<'a, u64>;

    /// Turns the finished upload `key` into the immutable blob `key`, durably. Done
    /// again after a crash, it succeeds if the blob is already there.
    fn finish<'a>(&'a self, key: &'a str) -> BlobFuture<'a, ()>;

    /// The blob `key` from `offset` on, with the blob's total length.
    fn open<'a>(&'a self, key: &'a str, offset: u64) -> BlobFuture<'a, (BlobReader, u64)>;

    /// Removes the blob and the upload `key`, whichever exist.
    fn delete<'a>(&'a self, key: &'a str) -> BlobFuture<'a, ()>;

    /// Everything stored, for the cleanup pass.
    fn list(&self) -> BlobFuture<'_, Vec<StoredKey>>;
}

/// Whether `key` is a valid item id: 32 lowercase hex digits.
pub fn valid_key(key: &str) -> bool {
    key.len() == 32 && key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
